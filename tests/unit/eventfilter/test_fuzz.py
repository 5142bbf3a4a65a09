"""Property tests: printing a tree and parsing it back is the identity, and no input, text or
event, makes the engine raise anything but a CESQL ParseError."""

from __future__ import annotations

import re
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knpy.runtime.eventfilter import FilterError, build, validate
from knpy.runtime.eventfilter.cesql import ParseError, compile_expression
from knpy.runtime.eventfilter.cesql.ast import (
    Binary,
    Call,
    Exists,
    Identifier,
    In,
    Like,
    Literal,
    Unary,
    to_source,
)
from knpy.runtime.eventfilter.cesql.casting import INT_MAX, INT_MIN
from knpy.runtime.eventfilter.cesql.lexer import KEYWORDS
from knpy.runtime.eventfilter.cesql.like import LikePattern
from knpy.runtime.eventfilter.cesql.parser import parse

names = st.sampled_from(["id", "type", "source", "subject", "myint", "mybool", "myext", "nope"])
functions = st.sampled_from(
    ["ABS", "LENGTH", "CONCAT", "CONCAT_WS", "LOWER", "UPPER", "TRIM", "LEFT", "RIGHT",
     "SUBSTRING", "INT", "BOOL", "STRING", "IS_INT", "IS_BOOL", "NOPE"]
)
texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=8)
literals = st.one_of(
    st.booleans(), st.integers(INT_MIN, INT_MAX), texts
).map(Literal)
binary_ops = st.sampled_from(["AND", "OR", "XOR", "=", "!=", "<", "<=", ">", ">=", "+", "-",
                              "*", "/", "%"])


def _extend(children):
    return st.one_of(
        st.builds(Unary, st.sampled_from(["NOT", "-"]), children),
        st.builds(Binary, binary_ops, children, children),
        st.builds(Like, children, st.text(alphabet="ab%_\\'\"", max_size=6), st.booleans()),
        st.builds(In, children, st.lists(children, min_size=1, max_size=3).map(tuple),
                  st.booleans()),
        st.builds(Call, functions, st.lists(children, max_size=3).map(tuple)),
    )


trees = st.recursive(
    st.one_of(literals, names.map(Identifier), names.map(Exists)), _extend, max_leaves=12
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), texts, st.floats())
events = st.dictionaries(names, scalars, max_size=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_print_parse_round_trip(tree):
    assert parse(to_source(tree)) == tree


@settings(max_examples=300, deadline=None)
@given(trees, events)
def test_evaluation_never_raises(tree, event):
    expr = compile_expression(to_source(tree))
    value, errors = expr.evaluate(event)
    assert type(value) in (bool, int, str)
    if type(value) is int:
        assert INT_MIN <= value <= INT_MAX
    assert all(hasattr(e, "kind") for e in errors)
    assert expr.matches(event) == (value is True and not errors)


_SOUP = [
    *KEYWORDS,
    *["(", ")", ",", "'", '"', "\\", "-", "+", "*", "/", "%", "=", "!=", "<>", "<", ">", "<=",
       ">=", "%", "_", " ", "id", "x1", "ABS", "CONCAT_WS", "0", "2147483648", "-2147483648"],
]


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(st.sampled_from(_SOUP), max_size=15).map(" ".join),
                 st.lists(st.sampled_from(_SOUP), max_size=15).map("".join)),
       events)
def test_random_text_parses_or_raises_parse_error(src, event):
    try:
        expr = compile_expression(src)
    except ParseError:
        return
    value, _ = expr.evaluate(event)
    assert type(value) in (bool, int, str)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.printable, max_size=30), events)
def test_filter_build_raises_only_filter_error(src, event):
    spec = [{"cesql": src}]
    try:
        f = build(None, spec)
    except FilterError as e:
        assert e.field == "filters[0].cesql"
        assert validate(None, spec)
        return
    assert validate(None, spec) == []
    assert f.matches(event) in (True, False)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    lambda c: st.one_of(st.lists(c, max_size=3),
                        st.dictionaries(st.sampled_from(["exact", "prefix", "suffix", "all",
                                                         "any", "not", "cesql", "type", "X"]),
                                        c, max_size=3)),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(json_values, json_values, events)
def test_arbitrary_specs_never_crash(attributes, filters, event):
    errors = validate(attributes, filters)
    assert all(isinstance(e, FilterError) and e.field for e in errors)
    try:
        f = build(attributes, filters)
    except FilterError:
        assert errors
        return
    assert errors == []
    assert f.matches(event) in (True, False)


def _reference_like(pattern: str, text: str) -> bool:
    """LIKE through a backtracking regex: slow, obviously right, fine for tiny inputs."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_\\":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.fullmatch("".join(out), text, re.DOTALL) is not None


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="ab%_\\\n", max_size=8), st.text(alphabet="ab%_\\\n", max_size=10))
def test_like_agrees_with_a_regex(pattern, text):
    assert LikePattern(pattern).matches(text) == _reference_like(pattern, text)
