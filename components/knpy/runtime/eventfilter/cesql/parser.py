"""CESQL recursive-descent parser (spec section 2, precedence from section 3.6).

Precedence, loosest first; binary levels associate left to right:

    AND OR XOR                    (one level, as the spec lists them)
    = != <> < <= > >=
    + -
    * / %
    x [NOT] LIKE 'p', x [NOT] IN (...)     (postfix, on a unary operand)
    NOT x, -x                      (bind tighter than LIKE/IN, as the spec's grammar does)
    literal, identifier, f(...), EXISTS id, ( expr )

A sign directly before an integer literal belongs to the literal, so ``-2147483648`` is a
valid literal while ``2147483648`` is a parse error (integers are 32-bit).
"""

from __future__ import annotations

import re

from knpy.runtime.eventfilter.cesql.ast import (
    Binary,
    Call,
    Exists,
    Identifier,
    In,
    Like,
    Literal,
    Node,
    Unary,
)
from knpy.runtime.eventfilter.cesql.errors import ParseError
from knpy.runtime.eventfilter.cesql.lexer import EOF, INT, KW, OP, STR, WORD, Token, tokenize

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
# Limits that keep parsing, compiling and evaluating well inside Python's recursion limit.
MAX_DEPTH = 50  # nested parentheses / unary operators while parsing
MAX_TREE_DEPTH = 100  # depth of the resulting tree (long operator chains nest too)
MAX_LENGTH = 64 * 1024

_IDENTIFIER = re.compile(r"[A-Za-z0-9]+")
_FUNCTION = re.compile(r"[A-Za-z][A-Za-z_]*")
_LOGIC = frozenset({"AND", "OR", "XOR"})
_COMPARISON = frozenset({"=", "!=", "<>", "<", "<=", ">", ">="})
_ADDITIVE = frozenset({"+", "-"})
_MULTIPLICATIVE = frozenset({"*", "/", "%"})


class _Parser:
    def __init__(self, src: str) -> None:
        self.tokens = tokenize(src)
        self.i = 0
        self.depth = 0

    # -- token helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _next(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def _is(self, kind: str, value: str | None = None) -> bool:
        t = self.tokens[self.i]
        return t.kind == kind and (value is None or t.value == value)

    def _expect(self, kind: str, value: str, what: str) -> Token:
        if not self._is(kind, value):
            raise self._error(f"expected {what}")
        return self._next()

    def _error(self, message: str) -> ParseError:
        t = self.tok
        found = "end of expression" if t.kind == EOF else repr(t.value)
        return ParseError(f"{message}, found {found}", t.pos)

    # -- grammar
    def parse(self) -> Node:
        node = self.expression()
        if not self._is(EOF):
            raise self._error("unexpected token")
        return node

    def expression(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError(f"expression nested deeper than {MAX_DEPTH} levels", self.tok.pos)
        try:
            return self._logic()
        finally:
            self.depth -= 1

    def _logic(self) -> Node:
        left = self._comparison()
        while self.tok.kind == KW and self.tok.value in _LOGIC:
            op = self._next().value
            left = Binary(op, left, self._comparison())
        return left

    def _comparison(self) -> Node:
        left = self._additive()
        while self.tok.kind == OP and self.tok.value in _COMPARISON:
            op = self._next().value
            left = Binary("!=" if op == "<>" else op, left, self._additive())
        return left

    def _additive(self) -> Node:
        left = self._multiplicative()
        while self.tok.kind == OP and self.tok.value in _ADDITIVE:
            op = self._next().value
            left = Binary(op, left, self._multiplicative())
        return left

    def _multiplicative(self) -> Node:
        left = self._postfix()
        while self.tok.kind == OP and self.tok.value in _MULTIPLICATIVE:
            op = self._next().value
            left = Binary(op, left, self._postfix())
        return left

    def _postfix(self) -> Node:
        node = self._unary()
        while True:
            negated = False
            if self._is(KW, "NOT") and self.tokens[self.i + 1].kind == KW and self.tokens[
                self.i + 1
            ].value in ("LIKE", "IN"):
                self._next()
                negated = True
            if self._is(KW, "LIKE"):
                self._next()
                if not self._is(STR):
                    raise self._error("LIKE needs a string literal pattern")
                node = Like(node, self._next().value, negated)
            elif self._is(KW, "IN"):
                self._next()
                node = In(node, self._set(), negated)
            else:
                return node

    def _set(self) -> tuple[Node, ...]:
        self._expect(OP, "(", "'(' opening the IN set")
        items = [self.expression()]
        while self._is(OP, ","):
            self._next()
            items.append(self.expression())
        self._expect(OP, ")", "',' or ')' in the IN set")
        return tuple(items)

    def _unary(self) -> Node:
        t = self.tok
        if t.kind == KW and t.value == "NOT":
            self._next()
            return Unary("NOT", self._nested_unary())
        if t.kind == OP and t.value in ("-", "+"):
            nxt = self.tokens[self.i + 1]
            if nxt.kind == INT:
                self.i += 2
                return self._integer(t.value + nxt.value, t.pos)
            if t.value == "+":
                raise self._error("'+' is only allowed as the sign of an integer literal")
            self._next()
            return Unary("-", self._nested_unary())
        return self._primary()

    def _nested_unary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError(f"expression nested deeper than {MAX_DEPTH} levels", self.tok.pos)
        try:
            return self._unary()
        finally:
            self.depth -= 1

    @staticmethod
    def _integer(text: str, pos: int) -> Literal:
        value = int(text)
        if not INT_MIN <= value <= INT_MAX:
            raise ParseError(f"integer literal {text} is outside the 32-bit range", pos)
        return Literal(value)

    def _primary(self) -> Node:
        t = self.tok
        if t.kind == INT:
            self._next()
            return self._integer(t.value, t.pos)
        if t.kind == STR:
            self._next()
            return Literal(t.value)
        if t.kind == KW:
            if t.value in ("TRUE", "FALSE"):
                self._next()
                return Literal(t.value == "TRUE")
            if t.value == "EXISTS":
                self._next()
                name = self.tok
                if name.kind != WORD or not _IDENTIFIER.fullmatch(name.value):
                    raise self._error("EXISTS needs an attribute name")
                self._next()
                return Exists(name.value.lower())
            raise self._error("expected an operand")
        if t.kind == WORD:
            self._next()
            if self._is(OP, "("):
                if not _FUNCTION.fullmatch(t.value):
                    raise ParseError(f"invalid function name {t.value!r}", t.pos)
                return Call(t.value.upper(), self._arguments())
            if not _IDENTIFIER.fullmatch(t.value):
                raise ParseError(f"invalid attribute name {t.value!r}", t.pos)
            return Identifier(t.value.lower())
        if t.kind == OP and t.value == "(":
            self._next()
            node = self.expression()
            self._expect(OP, ")", "')'")
            return node
        raise self._error("expected an operand")

    def _arguments(self) -> tuple[Node, ...]:
        self._expect(OP, "(", "'('")
        if self._is(OP, ")"):
            self._next()
            return ()
        args = [self.expression()]
        while self._is(OP, ","):
            self._next()
            args.append(self.expression())
        self._expect(OP, ")", "',' or ')' closing the argument list")
        return tuple(args)


def parse(src: str) -> Node:
    """Parse a CESQL expression into a tree; raises ParseError (with a position)."""
    if not isinstance(src, str):
        raise ParseError(f"expression must be a string, not {type(src).__name__}")
    if len(src) > MAX_LENGTH:
        raise ParseError(f"expression longer than {MAX_LENGTH} characters")
    tree = _Parser(src).parse()
    if _depth(tree) > MAX_TREE_DEPTH:
        raise ParseError(f"expression tree deeper than {MAX_TREE_DEPTH} levels")
    return tree


def _children(node: Node) -> tuple[Node, ...]:
    match node:
        case Unary(operand=o) | Like(operand=o):
            return (o,)
        case Binary(left=left, right=right):
            return (left, right)
        case In(operand=o, items=items):
            return (o, *items)
        case Call(args=args):
            return args
    return ()


def _depth(tree: Node) -> int:
    """Tree depth without recursion (the tree may be too deep to recurse over)."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in _children(node))
    return deepest
