"""List fields of standalone files: each item parsed on its own, keys unique.

The activator's and the autoscaler's `revisions:` lists are both this shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from knpy.runtime.config.field_error import FieldError

__all__ = ["parse_unique_list"]

T = TypeVar("T")


def parse_unique_list(raw: Any, field: str, parse: Callable[[Any], T],
                      key: Callable[[T], str], what: str) -> list[T]:
    """Parse the list `raw` (None: empty) found at `field`. An item's FieldError gets the
    item's path (`revisions[1].pods[0]`); a second item with an earlier item's key is an
    error `duplicate <what> <key>` at its own index."""
    items = [] if raw is None else raw
    if not isinstance(items, list):
        raise FieldError.invalid(items, field, details="want a list")
    out: list[T] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        try:
            value = parse(item)
        except FieldError as e:
            raise e.via_field_index(field, i) from None
        k = key(value)
        if k in seen:
            raise FieldError(f"duplicate {what} {k}", f"{field}[{i}]")
        seen.add(k)
        out.append(value)
    return out
