"""parse_unique_list: the one parser of `revisions:`-style lists (activator, autoscaler)."""

from __future__ import annotations

import pytest

from knpy.runtime.config import FieldError, parse_unique_list


def _item(raw: object) -> str:
    if not isinstance(raw, str):
        raise FieldError.invalid(raw, "name", details="want a string")
    return raw


def parse(raw: object) -> list[str]:
    return parse_unique_list(raw, "revisions", _item, lambda s: s, "revision")


def test_items_in_order_and_none_is_empty() -> None:
    assert parse(["a", "b"]) == ["a", "b"]
    assert parse(None) == []


@pytest.mark.parametrize(("raw", "path", "message"), [
    ({"a": 1}, "revisions", "want a list"),
    (["a", 3], "revisions[1].name", "want a string"),
    (["a", "b", "a"], "revisions[2]", "duplicate revision a"),
])
def test_errors_name_the_field(raw: object, path: str, message: str) -> None:
    with pytest.raises(FieldError) as e:
        parse(raw)
    assert path in str(e.value) and message in str(e.value)
