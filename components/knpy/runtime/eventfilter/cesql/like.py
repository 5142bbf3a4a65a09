"""LIKE patterns (spec 3.4.3): ``%`` any run of characters, ``_`` one character, ``\\%``
``\\_`` and ``\\\\`` the character itself; any other backslash is a literal backslash.

Matching splits the pattern at ``%`` and places the pieces greedily left to right, which is
exact for this pattern language and takes O(len(text) * len(pattern)) at worst: no
backtracking regex, so a hostile pattern cannot stall the dispatcher.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import cast

_ANY_RUN = object()  # a '%'


def _tokens(pattern: str) -> list[object]:
    """The pattern as a list of: _ANY_RUN, None (for '_'), or a literal character."""
    out: list[object] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n and pattern[i + 1] in "%_\\":
            out.append(pattern[i + 1])
            i += 2
            continue
        out.append(_ANY_RUN if c == "%" else None if c == "_" else c)
        i += 1
    return out


class _Piece:
    """A run of literal characters and '_' wildcards, of fixed length."""

    __slots__ = ("length", "literal", "regex")

    def __init__(self, tokens: list[object]) -> None:
        self.length = len(tokens)
        if all(t is not None for t in tokens):
            self.literal: str | None = "".join(cast("list[str]", tokens))
            self.regex: re.Pattern[str] | None = None
        else:
            self.literal = None
            body = "".join("." if t is None else re.escape(cast(str, t)) for t in tokens)
            self.regex = re.compile(body, re.DOTALL)

    def at(self, text: str, pos: int) -> bool:
        if self.literal is not None:
            return text.startswith(self.literal, pos)
        assert self.regex is not None  # no literal: a regex
        return self.regex.match(text, pos) is not None

    def find(self, text: str, start: int, end: int) -> int:
        if self.literal is not None:
            return text.find(self.literal, start, end)
        assert self.regex is not None
        m = self.regex.search(text, start, end)
        return -1 if m is None else m.start()


class LikePattern:
    __slots__ = ("exact", "first", "last", "matches", "middle", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        pieces: list[list[object]] = [[]]
        for t in _tokens(pattern):
            if t is _ANY_RUN:
                pieces.append([])
            else:
                pieces[-1].append(t)
        self.exact = len(pieces) == 1  # no '%': the whole text must match one piece
        self.first = _Piece(pieces[0])
        self.last = _Piece(pieces[-1])
        self.middle = tuple(_Piece(p) for p in pieces[1:-1] if p)
        self.matches = self._fast_path() or self._general

    def _fast_path(self) -> Callable[[str], bool] | None:
        """str methods for the common shapes: 'abc', 'abc%', '%abc', '%abc%'."""
        first, last = self.first.literal, self.last.literal
        if first is None or last is None or len(self.middle) > 1:
            return None
        if self.exact:
            return first.__eq__
        if self.middle:
            mid = self.middle[0].literal
            if first or last or mid is None:
                return None
            return lambda text: mid in text
        if not last:
            return lambda text: text.startswith(first)
        if not first:
            return lambda text: text.endswith(last)
        return None

    def _general(self, text: str) -> bool:
        first, last = self.first, self.last
        if self.exact:
            return len(text) == first.length and first.at(text, 0)
        if len(text) < first.length + last.length or not first.at(text, 0):
            return False
        end = len(text) - last.length
        if not last.at(text, end):
            return False
        pos = first.length
        for piece in self.middle:
            found = piece.find(text, pos, end)
            if found < 0:
                return False
            pos = found + piece.length
        return True

    def __repr__(self) -> str:
        return f"LikePattern({self.pattern!r})"
