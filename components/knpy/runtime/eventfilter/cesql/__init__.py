"""CloudEvents SQL Expression Language (CESQL) v1: compile once, evaluate per event.

    expr = compile_expression("type LIKE 'com.example.%' AND int(hop) < 10")
    value, errors = expr.evaluate(attrs)   # complete evaluation: value plus error list
    expr.matches(attrs)                    # filter use: Boolean true and no error

Pure computation: no I/O, stdlib only.
"""

from knpy.runtime.eventfilter.cesql.errors import (
    CastError,
    CesqlError,
    FunctionEvaluationError,
    GenericError,
    MathError,
    MissingAttributeError,
    MissingFunctionError,
    ParseError,
)
from knpy.runtime.eventfilter.cesql.evaluator import Expression, compile_expression

__all__ = [
    "CastError",
    "CesqlError",
    "Expression",
    "FunctionEvaluationError",
    "GenericError",
    "MathError",
    "MissingAttributeError",
    "MissingFunctionError",
    "ParseError",
    "compile_expression",
]
