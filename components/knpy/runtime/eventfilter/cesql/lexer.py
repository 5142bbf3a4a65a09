"""CESQL tokens. Keywords and function names are case-insensitive; identifiers are folded
to lower case (CloudEvents attribute names are lower case)."""

from __future__ import annotations

from dataclasses import dataclass

from knpy.runtime.eventfilter.cesql.errors import ParseError

KEYWORDS = frozenset({"AND", "OR", "XOR", "NOT", "LIKE", "EXISTS", "IN", "TRUE", "FALSE"})

# Token kinds
INT = "INT"  # digits only; the sign is handled by the parser
STR = "STR"  # a decoded string literal
WORD = "WORD"  # identifier or function name: [A-Za-z0-9_]+ that is not all digits
KW = "KW"  # a keyword, value upper-cased
OP = "OP"  # punctuation and operators: ( ) , * / % + - = != <> < <= > >=
EOF = "EOF"

_SPACE = " \t\r\n"
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_TWO_CHAR_OPS = ("!=", "<>", "<=", ">=")
_ONE_CHAR_OPS = frozenset("(),*/%+-=<>")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    value: str
    pos: int


def _string(src: str, start: int) -> tuple[str, int]:
    """Decode the string literal opening at ``start``; return it and the index past it.

    Inside ``'...'``: ``\\'`` and ``''`` are a quote, ``\\\\`` is one backslash; any other
    backslash pair is kept as written, so LIKE patterns keep their ``\\%`` and ``\\_``
    escapes. Same for ``"..."`` with ``"``.
    """
    quote = src[start]
    out: list[str] = []
    i = start + 1
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            if i + 1 >= n:
                break
            nxt = src[i + 1]
            if nxt == quote or nxt == "\\":
                out.append(nxt)
            else:
                out.append(c)
                out.append(nxt)
            i += 2
        elif c == quote:
            if i + 1 < n and src[i + 1] == quote:
                out.append(quote)
                i += 2
            else:
                return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    raise ParseError("unterminated string literal", start)


def tokenize(src: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    n = len(src)
    while i < n:
        c = src[i]
        if c in _SPACE:
            i += 1
        elif c in _WORD_CHARS:
            j = i + 1
            while j < n and src[j] in _WORD_CHARS:
                j += 1
            word = src[i:j]
            if word.isdigit():
                tokens.append(Token(INT, word, i))
            elif word.upper() in KEYWORDS:
                tokens.append(Token(KW, word.upper(), i))
            else:
                tokens.append(Token(WORD, word, i))
            i = j
        elif c == "'" or c == '"':
            value, j = _string(src, i)
            tokens.append(Token(STR, value, i))
            i = j
        elif src.startswith(_TWO_CHAR_OPS, i):
            tokens.append(Token(OP, src[i : i + 2], i))
            i += 2
        elif c in _ONE_CHAR_OPS:
            tokens.append(Token(OP, c, i))
            i += 1
        else:
            raise ParseError(f"unexpected character {c!r}", i)
    tokens.append(Token(EOF, "", n))
    return tokens
