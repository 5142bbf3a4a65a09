"""CESQL compiler: placeholder until the parser lands (every expression is rejected)."""

from __future__ import annotations

from collections.abc import Mapping

from knpy.runtime.eventfilter.cesql.errors import CesqlError, ParseError


class Expression:
    __slots__ = ("source",)

    def __init__(self, source: str) -> None:
        self.source = source

    def evaluate(self, attrs: Mapping[str, object]) -> tuple[object, list[CesqlError]]:
        raise NotImplementedError

    def matches(self, attrs: Mapping[str, object]) -> bool:
        return False


def compile_expression(source: str) -> Expression:
    raise ParseError("CESQL is not implemented yet", 0)
