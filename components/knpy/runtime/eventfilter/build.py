"""Trigger filter specs -> matchers, with Knative's validation rules and field paths.

A Trigger has the legacy ``filter.attributes`` map and the newer ``filters`` list
(Subscriptions API dialects). A non-empty ``filters`` overrides ``attributes``; an empty list
does not. Everything is validated up front: the dispatcher never meets a bad spec at
delivery time, and the webhook reports every problem with its field path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

from knpy.runtime.eventfilter import dialects
from knpy.runtime.eventfilter.cesql import CesqlError, compile_expression
from knpy.runtime.eventfilter.errors import FilterError

ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9]*")
DIALECTS = ("exact", "prefix", "suffix", "all", "any", "not", "cesql")
_NAME_RULE = "attribute name must start with a letter and contain only lowercase alphanumerics"


class _Collector:
    """Gathers every FilterError; ``fail_fast`` raises the first one instead."""

    def __init__(self, fail_fast: bool) -> None:
        self.fail_fast = fail_fast
        self.errors: list[FilterError] = []

    def add(self, field: str, message: str) -> None:
        err = FilterError(field, message)
        if self.fail_fast:
            raise err
        self.errors.append(err)


def _attributes(attributes: object, path: str, out: _Collector) -> dialects._Base | None:
    if attributes is None:
        return None
    if not isinstance(attributes, Mapping):
        out.add(path, "must be a map of attribute name to value")
        return None
    ok = True
    for key, value in attributes.items():
        field = f"{path}[{key}]"
        if not isinstance(key, str) or not ATTRIBUTE_NAME.fullmatch(key):
            out.add(field, _NAME_RULE)
            ok = False
        elif not isinstance(value, str):
            out.add(field, "value must be a string")
            ok = False
    if not ok or not attributes:
        return None
    return dialects.Attributes(attributes)


def _attribute_tests(
    kind: str, spec: object, path: str, out: _Collector
) -> dialects._Base | None:
    """exact/prefix/suffix: one or more attributes, all of which must match (Knative allows
    several since eventing #6477)."""
    cls = {"exact": dialects.Exact, "prefix": dialects.Prefix, "suffix": dialects.Suffix}[kind]
    if not isinstance(spec, Mapping) or not spec:
        out.add(path, "must be a map of one or more attribute names to values")
        return None
    tests: list[dialects._Base] = []
    for key, value in spec.items():
        field = f"{path}[{key}]"
        if not isinstance(key, str) or not ATTRIBUTE_NAME.fullmatch(key):
            out.add(field, _NAME_RULE)
        elif not isinstance(value, str) or value == "":
            out.add(field, "value must be a non-empty string")
        else:
            tests.append(cls(key, value))
    if len(tests) != len(spec):
        return None
    return tests[0] if len(tests) == 1 else dialects.All(tests)


def _filter_list(spec: object, path: str, out: _Collector) -> list[dialects._Base] | None:
    if not isinstance(spec, Sequence) or isinstance(spec, str | bytes):
        out.add(path, "must be a list of filters")
        return None
    built = [_entry(item, f"{path}[{i}]", out) for i, item in enumerate(spec)]
    if any(f is None for f in built):
        return None
    return cast("list[dialects._Base]", built)


def _entry(spec: object, path: str, out: _Collector) -> dialects._Base | None:
    if not isinstance(spec, Mapping):
        out.add(path, "must be a map with exactly one of " + ", ".join(DIALECTS))
        return None
    unknown = [k for k in spec if k not in DIALECTS]
    for k in unknown:
        out.add(f"{path}.{k}", "unknown filter dialect; expected one of " + ", ".join(DIALECTS))
    found = [k for k in DIALECTS if k in spec]
    if len(found) != 1:
        if not unknown:
            what = ", ".join(found) if found else "none"
            out.add(path, f"must have exactly one dialect set (found: {what})")
        return None
    if unknown:
        return None
    kind = found[0]
    value = spec[kind]
    field = f"{path}.{kind}"
    if kind in ("exact", "prefix", "suffix"):
        return _attribute_tests(kind, value, field, out)
    if kind in ("all", "any"):
        nested = _filter_list(value, field, out)
        if nested is None:
            return None
        return dialects.All(nested) if kind == "all" else dialects.Any(nested)
    if kind == "not":
        inner = _entry(value, field, out)
        return None if inner is None else dialects.Not(inner)
    # cesql
    if not isinstance(value, str) or not value.strip():
        out.add(field, "must be a non-empty CESQL expression")
        return None
    try:
        expression = compile_expression(value)
    except CesqlError as e:
        out.add(field, f"invalid CESQL expression: {e}")
        return None
    if expression.static_errors:
        # e.g. an unknown function: every evaluation would fail, so the trigger never matches
        out.add(field, f"invalid CESQL expression: {expression.static_errors[0]}")
        return None
    return dialects.Cesql(expression)


def _build(
    attributes: Mapping[str, str] | None,
    filters: Sequence[Mapping[str, Any]] | None,
    out: _Collector,
) -> dialects._Base:
    legacy = _attributes(attributes, "filter.attributes", out)
    new: list[dialects._Base] | None = None
    if filters is not None:
        new = _filter_list(filters, "filters", out)
    if filters:  # a non-empty list overrides filter.attributes
        if new is None:
            return dialects.MatchAll()  # only reached when collecting errors
        return new[0] if len(new) == 1 else dialects.All(new)
    return legacy or dialects.MatchAll()


def build(
    attributes: Mapping[str, str] | None, filters: Sequence[Mapping[str, Any]] | None
) -> dialects.EventFilter:
    """The matcher for a trigger's ``filter.attributes`` and ``filters``.

    Raises FilterError (naming the field) for the first invalid part of either spec.
    """
    return _build(attributes, filters, _Collector(fail_fast=True))


def validate(
    attributes: Mapping[str, str] | None, filters: Sequence[Mapping[str, Any]] | None
) -> list[FilterError]:
    """Every problem in a trigger's filter specs, each with its field path (for admission)."""
    out = _Collector(fail_fast=False)
    _build(attributes, filters, out)
    return out.errors
