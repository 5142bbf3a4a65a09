"""CESQL compiler: a syntax tree becomes a tree of Python closures, built once per
expression; evaluating an event is then plain function calls, with no re-parsing and no
tree walking.

Every closure has the signature ``(attrs, errs) -> value`` and appends runtime errors to
``errs`` (complete evaluation mode, spec 4.1). The error rules, which the conformance suite
pins down:

* An operator or function whose own cast or computation fails returns the value the spec
  defines for that case (usually the zero value of a failed cast, then carries on):
  ``NOT 10`` is ``true`` plus a CastError, ``ABS(-2147483648)`` is ``2147483647`` plus a
  MathError.
* An operator or function one of whose operands produced an error returns the zero value of
  its own return type without computing: ``missing + 1`` is ``0``, ``1 != 1 / 0`` is
  ``false``, ``NOT missing`` is ``false`` (spec 3.2, generalised to every error kind).
* AND and OR short-circuit on the left operand's value; a left operand with an error makes
  them return ``false`` at once.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping

from knpy.runtime.eventfilter.cesql import ast
from knpy.runtime.eventfilter.cesql.casting import (
    INT_MAX,
    INT_MIN,
    ZERO,
    Value,
    cast,
    from_attribute,
    to_bool,
    to_int,
    to_str,
)
from knpy.runtime.eventfilter.cesql.errors import (
    CesqlError,
    MathError,
    MissingAttributeError,
    MissingFunctionError,
)
from knpy.runtime.eventfilter.cesql.functions import BUILTINS, FunctionTable
from knpy.runtime.eventfilter.cesql.like import LikePattern
from knpy.runtime.eventfilter.cesql.parser import parse

Attrs = Mapping[str, object]
Errs = list[CesqlError]
Fn = Callable[[Attrs, Errs], Value]


class Expression:
    """A compiled CESQL expression. Immutable and safe to share across events."""

    __slots__ = ("_fn", "source", "static_errors", "tree")

    def __init__(self, source: str, tree: ast.Node, fn: Fn, static_errors: list[CesqlError]):
        self.source = source
        self.tree = tree
        self._fn = fn
        # Errors known at compile time (calls to missing functions); any evaluation that
        # reaches such a call reports it again as a runtime error.
        self.static_errors = static_errors

    def evaluate(self, attrs: Attrs) -> tuple[Value, list[CesqlError]]:
        """The value and the (possibly empty) list of runtime errors, never raising."""
        errs: Errs = []
        return self._fn(attrs, errs), errs

    def matches(self, attrs: Attrs) -> bool:
        """Filter semantics (spec 1.2): passes only on Boolean true with no error."""
        errs: Errs = []
        return self._fn(attrs, errs) is True and not errs

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


def compile_expression(source: str, functions: FunctionTable = BUILTINS) -> Expression:
    """Parse and compile; raises ParseError for invalid syntax."""
    tree = parse(source)
    static: list[CesqlError] = []
    return Expression(source, tree, _Compiler(functions, static).compile(tree), static)


def _int_result(n: int, what: str, errs: Errs) -> int:
    if INT_MIN <= n <= INT_MAX:
        return n
    errs.append(MathError(f"{what} overflows a 32-bit integer"))
    return 0


def _add(x: int, y: int, errs: Errs) -> int:
    return _int_result(x + y, "addition", errs)


def _sub(x: int, y: int, errs: Errs) -> int:
    return _int_result(x - y, "subtraction", errs)


def _mul(x: int, y: int, errs: Errs) -> int:
    return _int_result(x * y, "multiplication", errs)


def _div(x: int, y: int, errs: Errs) -> int:
    if y == 0:
        errs.append(MathError("division by zero"))
        return 0
    q = abs(x) // abs(y)  # truncate towards zero
    return _int_result(-q if (x < 0) != (y < 0) else q, "division", errs)


def _mod(x: int, y: int, errs: Errs) -> int:
    if y == 0:
        errs.append(MathError("modulo by zero"))
        return 0
    r = abs(x) % abs(y)  # the sign follows the dividend
    return -r if x < 0 else r


_ARITHMETIC = {"+": _add, "-": _sub, "*": _mul, "/": _div, "%": _mod}
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _equal(left: Value, right: Value, errs: Errs) -> bool:
    """``=`` is overloaded for all three types: the right operand's type picks the
    overload and the left operand is cast to it (spec 3.7)."""
    t = type(right)
    if type(left) is not t:
        left = cast(left, t, errs)
    return left == right


class _Compiler:
    def __init__(self, functions: FunctionTable, static: list[CesqlError]) -> None:
        self.functions = functions
        self.static = static

    def compile(self, node: ast.Node) -> Fn:
        fn = self._compile(node)
        if not isinstance(node, ast.Literal) and _is_constant(node):
            # No attribute anywhere below: fold to its value, unless it errs (runtime errors
            # must still be reported per evaluation).
            errs: Errs = []
            v = fn({}, errs)
            if not errs:
                return lambda attrs, errs: v
        return fn

    def _compile(self, node: ast.Node) -> Fn:
        match node:
            case ast.Literal(value=v):
                return lambda attrs, errs: v
            case ast.Identifier(name=name):
                return _identifier(name)
            case ast.Exists(name=name):
                return lambda attrs, errs: attrs.get(name) is not None
            case ast.Unary(op="NOT", operand=operand):
                return self._not(self.compile(operand))
            case ast.Unary(op="-", operand=operand):
                return self._negate(self.compile(operand))
            case ast.Binary(op=op, left=left, right=right):
                return self._binary(op, self.compile(left), self.compile(right))
            case ast.Like(operand=operand, pattern=pattern, negated=negated):
                return self._like(self.compile(operand), LikePattern(pattern), negated)
            case ast.In(operand=operand, items=items, negated=negated):
                return self._in(self.compile(operand), [self.compile(i) for i in items], negated)
            case ast.Call(name=name, args=args):
                return self._call(name, [self.compile(a) for a in args])
        raise TypeError(f"not a CESQL node: {node!r}")

    @staticmethod
    def _not(operand: Fn) -> Fn:
        def f(attrs: Attrs, errs: Errs) -> Value:
            n = len(errs)
            v = operand(attrs, errs)
            if len(errs) != n:
                return False
            return not (v if type(v) is bool else to_bool(v, errs))

        return f

    @staticmethod
    def _negate(operand: Fn) -> Fn:
        def f(attrs: Attrs, errs: Errs) -> Value:
            n = len(errs)
            v = operand(attrs, errs)
            if len(errs) != n:
                return 0
            return _int_result(-to_int(v, errs), "negation", errs)

        return f

    def _binary(self, op: str, left: Fn, right: Fn) -> Fn:
        if op == "AND" or op == "OR":
            stop = op == "OR"  # the left value that decides the result alone

            def logic(attrs: Attrs, errs: Errs) -> Value:
                n = len(errs)
                lv = left(attrs, errs)
                if len(errs) != n:
                    return False
                lb = lv if type(lv) is bool else to_bool(lv, errs)
                if lb is stop:
                    return lb
                rv = right(attrs, errs)
                if len(errs) != n:
                    return False
                return rv if type(rv) is bool else to_bool(rv, errs)

            return logic

        if op == "XOR":

            def xor(attrs: Attrs, errs: Errs) -> Value:
                n = len(errs)
                lv = left(attrs, errs)
                rv = right(attrs, errs)
                if len(errs) != n:
                    return False
                return to_bool(lv, errs) is not to_bool(rv, errs)

            return xor
        if op == "=" or op == "!=":
            want = op == "="

            def equality(attrs: Attrs, errs: Errs) -> Value:
                n = len(errs)
                lv = left(attrs, errs)
                rv = right(attrs, errs)
                if len(errs) != n:
                    return False
                if type(lv) is type(rv):
                    return (lv == rv) is want
                return _equal(lv, rv, errs) is want

            return equality
        if op in _ORDER:
            compare = _ORDER[op]

            def order(attrs: Attrs, errs: Errs) -> Value:
                n = len(errs)
                lv = left(attrs, errs)
                rv = right(attrs, errs)
                if len(errs) != n:
                    return False
                return compare(to_int(lv, errs), to_int(rv, errs))

            return order
        compute = _ARITHMETIC[op]

        def arithmetic(attrs: Attrs, errs: Errs) -> Value:
            n = len(errs)
            lv = left(attrs, errs)
            rv = right(attrs, errs)
            if len(errs) != n:
                return 0
            return compute(to_int(lv, errs), to_int(rv, errs), errs)

        return arithmetic

    @staticmethod
    def _like(operand: Fn, pattern: LikePattern, negated: bool) -> Fn:
        match = pattern.matches

        def f(attrs: Attrs, errs: Errs) -> Value:
            n = len(errs)
            v = operand(attrs, errs)
            if len(errs) != n:
                return False
            return match(to_str(v)) is not negated

        return f

    @staticmethod
    def _in(operand: Fn, items: list[Fn], negated: bool) -> Fn:
        def f(attrs: Attrs, errs: Errs) -> Value:
            n = len(errs)
            v = operand(attrs, errs)
            values = [item(attrs, errs) for item in items]
            if len(errs) != n:
                return False
            t = type(v)
            found = False
            for x in values:  # every element is cast, so cast errors are all reported
                if (x if type(x) is t else cast(x, t, errs)) == v:
                    found = True
            return found is not negated

        return f

    def _call(self, name: str, args: list[Fn]) -> Fn:
        func = self.functions.resolve(name, len(args))
        if func is None:
            message = f"no function {name} taking {len(args)} argument(s)"
            self.static.append(MissingFunctionError(message))

            def missing(attrs: Attrs, errs: Errs) -> Value:
                errs.append(MissingFunctionError(message))
                return False

            return missing
        types = [func.param_type(i) for i in range(len(args))]
        impl, zero = func.impl, ZERO[func.returns]
        if len(args) == 1:  # the common case (LOWER, INT, LENGTH...), without the loops
            (arg,), (t0,) = args, types

            def call1(attrs: Attrs, errs: Errs) -> Value:
                n = len(errs)
                v = arg(attrs, errs)
                if len(errs) != n:
                    return zero
                if t0 is not object and type(v) is not t0:
                    v = cast(v, t0, errs)
                return impl([v], errs)

            return call1

        def call(attrs: Attrs, errs: Errs) -> Value:
            n = len(errs)
            values = [a(attrs, errs) for a in args]
            if len(errs) != n:
                return zero
            for i, t in enumerate(types):
                if t is not object and type(values[i]) is not t:
                    values[i] = cast(values[i], t, errs)
            return impl(values, errs)

        return call


def _is_constant(node: ast.Node) -> bool:
    match node:
        case ast.Identifier() | ast.Exists():
            return False
        case ast.Literal():
            return True
        case ast.Unary(operand=o) | ast.Like(operand=o):
            return _is_constant(o)
        case ast.Binary(left=left, right=right):
            return _is_constant(left) and _is_constant(right)
        case ast.In(operand=o, items=items):
            return _is_constant(o) and all(_is_constant(i) for i in items)
        case ast.Call(args=args):
            return all(_is_constant(a) for a in args)
    return False


def _identifier(name: str) -> Fn:
    def f(attrs: Attrs, errs: Errs) -> Value:
        v = attrs.get(name)
        if v is None:
            errs.append(MissingAttributeError(f"missing attribute {name!r}"))
            return False  # the type of a bare attribute is unknown: Boolean's zero
        t = type(v)
        return v if t is str or t is bool else from_attribute(v)  # type: ignore[return-value]

    return f


__all__ = ["Expression", "compile_expression"]
