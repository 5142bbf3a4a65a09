"""CESQL built-in functions (spec 3.5) and their dispatch by name and arity.

Arguments are cast to the parameter types before the call (a failed cast gives the zero
value plus a CastError); a function's own errors are appended to ``errs`` next to the value
the spec defines for that case.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from knpy.runtime.eventfilter.cesql.casting import (
    INT_MAX,
    INT_MIN,
    ZERO,
    Value,
    to_bool_explicit,
    to_int,
    to_str,
)
from knpy.runtime.eventfilter.cesql.errors import (
    CastError,
    CesqlError,
    FunctionEvaluationError,
    MathError,
)

_FUNCTION_NAME = re.compile(r"[A-Za-z][A-Za-z_]*")
Impl = Callable[[list[Value], list[CesqlError]], Value]
Any_ = object  # parameter type "Any": no cast

# Unicode White_Space (not str.isspace, which also strips control characters U+001C..1F).
UNICODE_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    params: tuple[type, ...]  # fixed parameters: bool, int, str or object (Any)
    variadic: type | None  # type of the extra arguments, if the function is variadic
    returns: type
    impl: Impl

    def accepts(self, arity: int) -> bool:
        fixed = len(self.params)
        return arity == fixed or (self.variadic is not None and arity > fixed)

    def param_type(self, index: int) -> type:
        return self.params[index] if index < len(self.params) else cast(type, self.variadic)


def _abs(a: list[Value], errs: list[CesqlError]) -> Value:
    x = cast(int, a[0])
    if x == INT_MIN:
        errs.append(MathError("ABS(-2147483648) overflows a 32-bit integer"))
        return INT_MAX
    return abs(x)


def _left(a: list[Value], errs: list[CesqlError]) -> Value:
    s, n = cast(str, a[0]), cast(int, a[1])
    if n < 0:
        errs.append(FunctionEvaluationError(f"LEFT: negative length {n}"))
        return s
    return s[:n]


def _right(a: list[Value], errs: list[CesqlError]) -> Value:
    s, n = cast(str, a[0]), cast(int, a[1])
    if n < 0:
        errs.append(FunctionEvaluationError(f"RIGHT: negative length {n}"))
        return s
    return s[len(s) - n :] if n < len(s) else s


def _substring_start(s: str, pos: int, errs: list[CesqlError]) -> int | None:
    """0-based start index, or None for "empty result" (an error is recorded if invalid)."""
    n = len(s)
    if pos > n or pos < -n:
        errs.append(FunctionEvaluationError(f"SUBSTRING: position {pos} out of bounds"))
        return None
    if pos == 0:
        return None
    return pos - 1 if pos > 0 else n + pos


def _substring2(a: list[Value], errs: list[CesqlError]) -> Value:
    s = cast(str, a[0])
    start = _substring_start(s, cast(int, a[1]), errs)
    return "" if start is None else s[start:]


def _substring3(a: list[Value], errs: list[CesqlError]) -> Value:
    s = cast(str, a[0])
    length = cast(int, a[2])
    if length < 0:
        errs.append(FunctionEvaluationError(f"SUBSTRING: negative length {length}"))
        return ""
    start = _substring_start(s, cast(int, a[1]), errs)
    return "" if start is None else s[start : start + length]


def _can(cast: Callable[[Value, list[CesqlError]], Value]) -> Impl:
    def check(a: list[Value], errs: list[CesqlError]) -> Value:
        probe: list[CesqlError] = []
        cast(a[0], probe)
        return not any(isinstance(e, CastError) for e in probe)

    return check


_BUILTINS = [
    Function("ABS", (int,), None, int, _abs),
    Function("LENGTH", (str,), None, int, lambda a, e: len(cast(str, a[0]))),
    Function("CONCAT", (), str, str, lambda a, e: "".join(cast("list[str]", a))),
    Function(
        "CONCAT_WS", (str,), str, str, lambda a, e: cast(str, a[0]).join(cast("list[str]", a[1:]))
    ),
    Function("LOWER", (str,), None, str, lambda a, e: cast(str, a[0]).lower()),
    Function("UPPER", (str,), None, str, lambda a, e: cast(str, a[0]).upper()),
    Function("TRIM", (str,), None, str, lambda a, e: cast(str, a[0]).strip(UNICODE_WHITESPACE)),
    Function("LEFT", (str, int), None, str, _left),
    Function("RIGHT", (str, int), None, str, _right),
    Function("SUBSTRING", (str, int), None, str, _substring2),
    Function("SUBSTRING", (str, int, int), None, str, _substring3),
    Function("INT", (Any_,), None, int, lambda a, e: to_int(a[0], e)),
    Function("BOOL", (Any_,), None, bool, lambda a, e: to_bool_explicit(a[0], e)),
    Function("STRING", (Any_,), None, str, lambda a, e: to_str(a[0])),
    Function("IS_INT", (Any_,), None, bool, _can(to_int)),
    Function("IS_BOOL", (Any_,), None, bool, _can(to_bool_explicit)),
]


def _guarded(f: Function) -> Function:
    """A user-defined function that cannot break the engine's totality (spec 3.5.3): an
    exception or a value of the wrong type becomes the zero value of its return type plus a
    FunctionEvaluationError."""
    zero = ZERO[f.returns]
    impl = f.impl

    def call(args: list[Value], errs: list[CesqlError]) -> Value:
        try:
            v = impl(args, errs)
        except Exception as e:  # a user function must not escape the engine
            errs.append(FunctionEvaluationError(f"{f.name}: {type(e).__name__}: {e}"))
            return zero
        if type(v) is not f.returns or (type(v) is int and not INT_MIN <= v <= INT_MAX):
            errs.append(FunctionEvaluationError(f"{f.name} returned an invalid {f.returns}"))
            return zero
        return v

    return Function(f.name, f.params, f.variadic, f.returns, call)


class FunctionTable:
    """Functions by upper-case name; overloads differ by arity (spec 3.5)."""

    def __init__(self, functions: list[Function], *, trusted: bool = False) -> None:
        self._by_name: dict[str, list[Function]] = {}
        for f in functions:
            self.add(f, trusted=trusted)

    def add(self, f: Function, *, trusted: bool = False) -> None:
        """Register ``f``; raises ValueError if its name and arity clash with an overload.
        Untrusted (user) functions are wrapped so that they cannot raise or mistype."""
        if not _FUNCTION_NAME.fullmatch(f.name):
            raise ValueError(f"invalid function name {f.name!r}")
        if f.returns not in (bool, int, str):
            raise ValueError(f"function {f.name} must return bool, int or str")
        overloads = self._by_name.setdefault(f.name.upper(), [])
        for other in overloads:
            if _clash(f, other):
                raise ValueError(f"function {f.name} clashes with an existing overload")
        overloads.append(f if trusted else _guarded(f))

    def extended(self, functions: list[Function]) -> FunctionTable:
        """A copy of this table with user-defined ``functions`` added."""
        table = FunctionTable([])
        table._by_name = {name: list(fs) for name, fs in self._by_name.items()}
        for f in functions:
            table.add(f)
        return table

    def resolve(self, name: str, arity: int) -> Function | None:
        candidates = self._by_name.get(name.upper(), ())
        for f in candidates:  # fixed arity wins over a variadic overload
            if f.variadic is None and len(f.params) == arity:
                return f
        for f in candidates:
            if f.accepts(arity):
                return f
        return None


def _clash(a: Function, b: Function) -> bool:
    if a.variadic is None and b.variadic is None:
        return len(a.params) == len(b.params)
    if a.variadic is not None and b.variadic is not None:
        return True  # at most one variadic overload per name
    var, fixed = (a, b) if a.variadic is not None else (b, a)
    # the variadic one must have more fixed parameters than any fixed-arity overload
    return len(var.params) <= len(fixed.params)


BUILTINS = FunctionTable(_BUILTINS, trusted=True)

