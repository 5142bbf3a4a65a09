"""CESQL error kinds (spec section 3.3). Runtime errors are values collected next to the
result, never raised out of ``Expression.evaluate``; only ``ParseError`` is raised, by the
compiler."""

from __future__ import annotations


class CesqlError(Exception):
    """Base of every CESQL error. ``kind`` is the TCK name of the error type."""

    kind = "generic"


class ParseError(CesqlError):
    """The expression is not valid CESQL. ``position`` is the 0-based character offset."""

    kind = "parse"

    def __init__(self, message: str, position: int | None = None) -> None:
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"{message}{where}")
        self.position = position


class MathError(CesqlError):
    kind = "math"


class CastError(CesqlError):
    kind = "cast"


class MissingAttributeError(CesqlError):
    kind = "missingAttribute"


class MissingFunctionError(CesqlError):
    kind = "missingFunction"


class FunctionEvaluationError(CesqlError):
    kind = "functionEvaluation"


class GenericError(CesqlError):
    kind = "generic"
