"""The trigger filter dialects as small matcher objects.

Each filter answers ``result(attrs)`` with one of three outcomes, like Knative's
``eventfilter.FilterResult``: PASS, FAIL or NONE ("no filter": an empty ``all``/``any``).
NONE counts as a match at the top (``matches``), is ignored by ``all``/``any`` when other
results exist, and is left as it is by ``not``. Filters are immutable after construction,
so one instance can serve every event of a trigger.

``attrs`` maps lower-case context attribute and extension names to str/int/bool values;
values are compared through their CloudEvents canonical string form (``true``, ``10``), so a
binary-mode event (all strings) and a structured one (JSON scalars) filter the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from knpy.runtime.eventfilter.cesql import Expression

FAIL = 0
PASS = 1
NONE = 2


class EventFilter(Protocol):
    def matches(self, attrs: Mapping[str, object]) -> bool: ...


def canonical(value: object) -> str | None:
    """The CloudEvents canonical string of an attribute value; None for an absent one."""
    if value is None or type(value) is str:
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


class _Base:
    __slots__ = ()

    def result(self, attrs: Mapping[str, object]) -> int:
        raise NotImplementedError

    def matches(self, attrs: Mapping[str, object]) -> bool:
        return self.result(attrs) != FAIL


class MatchAll(_Base):
    """No filter at all: every event matches."""

    __slots__ = ()

    def result(self, attrs: Mapping[str, object]) -> int:
        return NONE

    def __repr__(self) -> str:
        return "MatchAll()"


class _AttributeTest(_Base):
    """One attribute, one string test; a missing attribute fails."""

    __slots__ = ("name", "value")
    _test: Callable[[str, str], bool]

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.value!r})"


class Exact(_AttributeTest):
    __slots__ = ()

    def result(self, attrs: Mapping[str, object]) -> int:
        v = attrs.get(self.name)
        if v is None:
            return FAIL
        if type(v) is not str:
            v = canonical(v)
        return PASS if v == self.value else FAIL


class Prefix(_AttributeTest):
    __slots__ = ()

    def result(self, attrs: Mapping[str, object]) -> int:
        v = canonical(attrs.get(self.name))
        return PASS if v is not None and v.startswith(self.value) else FAIL


class Suffix(_AttributeTest):
    __slots__ = ()

    def result(self, attrs: Mapping[str, object]) -> int:
        v = canonical(attrs.get(self.name))
        return PASS if v is not None and v.endswith(self.value) else FAIL


class Attributes(_Base):
    """The legacy ``filter.attributes``: exact, case-sensitive, ANDed; a value of ``""``
    means "present with any non-empty value"."""

    __slots__ = ("exact", "present")

    def __init__(self, attributes: Mapping[str, str]) -> None:
        self.exact = tuple((k, v) for k, v in attributes.items() if v != "")
        self.present = tuple(k for k, v in attributes.items() if v == "")

    def result(self, attrs: Mapping[str, object]) -> int:
        for k, want in self.exact:
            v = attrs.get(k)
            if v is None or (v if type(v) is str else canonical(v)) != want:
                return FAIL
        for k in self.present:
            if not canonical(attrs.get(k)):
                return FAIL
        return PASS

    def __repr__(self) -> str:
        return f"Attributes(exact={self.exact!r}, present={self.present!r})"


class All(_Base):
    """Every nested filter passes (AND); empty: NONE, as in Knative."""

    __slots__ = ("filters",)

    def __init__(self, filters: Sequence[_Base]) -> None:
        self.filters = tuple(filters)

    def result(self, attrs: Mapping[str, object]) -> int:
        out = NONE
        for f in self.filters:
            r = f.result(attrs)
            if r == FAIL:
                return FAIL
            if r == PASS:
                out = PASS
        return out

    def __repr__(self) -> str:
        return f"All({list(self.filters)!r})"


class Any(_Base):
    """At least one nested filter passes (OR); empty or all-NONE: NONE, as in Knative."""

    __slots__ = ("filters",)

    def __init__(self, filters: Sequence[_Base]) -> None:
        self.filters = tuple(filters)

    def result(self, attrs: Mapping[str, object]) -> int:
        out = NONE
        for f in self.filters:
            r = f.result(attrs)
            if r == PASS:
                return PASS
            if r == FAIL:
                out = FAIL
        return out

    def __repr__(self) -> str:
        return f"Any({list(self.filters)!r})"


class Not(_Base):
    __slots__ = ("filter",)

    def __init__(self, inner: _Base) -> None:
        self.filter = inner

    def result(self, attrs: Mapping[str, object]) -> int:
        r = self.filter.result(attrs)
        return NONE if r == NONE else (PASS if r == FAIL else FAIL)

    def __repr__(self) -> str:
        return f"Not({self.filter!r})"


class Cesql(_Base):
    """A compiled CESQL expression: passes only on a Boolean true with no error."""

    __slots__ = ("expression",)

    def __init__(self, expression: Expression) -> None:
        self.expression = expression

    def result(self, attrs: Mapping[str, object]) -> int:
        return PASS if self.expression.matches(attrs) else FAIL

    def __repr__(self) -> str:
        return f"Cesql({self.expression.source!r})"
