"""CESQL type system (spec 3.1, 3.7): Boolean, Integer (32-bit) and String as Python
bool/int/str, and the casts between them. A failed cast appends a CastError to ``errs`` and
yields the target type's zero value."""

from __future__ import annotations

import re

from knpy.runtime.eventfilter.cesql.errors import CastError, CesqlError

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1

_INT_TEXT = re.compile(r"[+-]?[0-9]+")  # str pattern: [0-9] is ASCII only

Value = bool | int | str
# The casts read `t = type(value)` once (bool is an int subclass, so isinstance will not do);
# mypy cannot narrow through `t`, hence the ignore comments after such checks.
ZERO: dict[type, Value] = {bool: False, int: 0, str: ""}


def type_name(value: object) -> str:
    t = type(value)
    return "Boolean" if t is bool else "Integer" if t is int else "String"


def to_int(value: Value, errs: list[CesqlError]) -> int:
    t = type(value)
    if t is int:
        return value  # type: ignore[return-value]
    if t is bool:
        return 1 if value else 0
    text: str = value  # type: ignore[assignment]  # a str: mypy cannot narrow through `t`
    if _INT_TEXT.fullmatch(text):
        try:
            n = int(text)
        except ValueError:  # more digits than int() accepts: certainly out of range
            n = INT_MAX + 1
        if INT_MIN <= n <= INT_MAX:
            return n
        errs.append(CastError(f"cannot cast String {_clip(text)!r} to Integer: out of range"))
        return 0
    errs.append(CastError(f"cannot cast String {_clip(text)!r} to Integer"))
    return 0


def to_bool(value: Value, errs: list[CesqlError]) -> bool:
    """The implicit cast to Boolean (operators, function parameters).

    Integer -> Boolean is refused here: the conformance suite requires ``NOT 10`` to be a
    CastError. The explicit ``BOOL(x)`` uses ``to_bool_explicit``, which accepts integers.
    """
    t = type(value)
    if t is bool:
        return value  # type: ignore[return-value]
    if t is str:
        low = value.lower()  # type: ignore[union-attr]
        if low == "true":
            return True
        if low == "false":
            return False
        errs.append(CastError(f"cannot cast String {_clip(value)!r} to Boolean"))  # type: ignore[arg-type]
        return False
    errs.append(CastError(f"cannot implicitly cast Integer {value} to Boolean"))
    return False


def to_bool_explicit(value: Value, errs: list[CesqlError]) -> bool:
    if type(value) is int:
        return value != 0
    return to_bool(value, errs)


def to_str(value: Value) -> str:
    t = type(value)
    if t is str:
        return value  # type: ignore[return-value]
    if t is bool:
        return "true" if value else "false"
    return str(value)


def cast(value: Value, target: type, errs: list[CesqlError]) -> Value:
    """Implicit cast to ``target`` (bool, int, str, or object for Any)."""
    if target is int:
        return to_int(value, errs)
    if target is str:
        return to_str(value)
    if target is bool:
        return to_bool(value, errs)
    return value


def from_attribute(value: object) -> Value:
    """An event attribute as a CESQL value: str/bool as they are, 32-bit ints as Integer,
    anything else (out-of-range numbers, floats...) as its String form (spec 3.2)."""
    t = type(value)
    if t is str or t is bool:
        return value  # type: ignore[return-value]
    if t is int and INT_MIN <= value <= INT_MAX:  # type: ignore[operator]
        return value  # type: ignore[return-value]
    return str(value)


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
