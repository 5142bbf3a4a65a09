"""CESQL syntax tree: immutable nodes, and ``to_source`` which prints a node back as a fully
parenthesised expression that parses to an equal tree."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Literal:
    value: bool | int | str


@dataclass(frozen=True, slots=True)
class Identifier:
    name: str  # lower case


@dataclass(frozen=True, slots=True)
class Exists:
    name: str  # lower case


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "NOT" or "-"
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # AND OR XOR = != < <= > >= + - * / %   ("<>" is parsed as "!=")
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Like:
    operand: Node
    pattern: str
    negated: bool


@dataclass(frozen=True, slots=True)
class In:
    operand: Node
    items: tuple[Node, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class Call:
    name: str  # upper case
    args: tuple[Node, ...]


Node = Literal | Identifier | Exists | Unary | Binary | Like | In | Call


def _quote(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def to_source(node: Node) -> str:
    match node:
        case Literal(value=bool() as b):
            return "TRUE" if b else "FALSE"
        case Literal(value=int() as i):
            return str(i)
        case Literal(value=str() as s):
            return _quote(s)
        case Identifier(name=name):
            return name
        case Exists(name=name):
            return f"(EXISTS {name})"
        case Unary(op="NOT", operand=operand):
            return f"(NOT {to_source(operand)})"
        case Unary(op=op, operand=operand):
            # "-(5)", not "-5": a sign right before digits belongs to the literal
            return f"({op}({to_source(operand)}))"
        case Binary(op=op, left=left, right=right):
            return f"({to_source(left)} {op} {to_source(right)})"
        case Like(operand=operand, pattern=pattern, negated=neg):
            kw = "NOT LIKE" if neg else "LIKE"
            return f"({to_source(operand)} {kw} {_quote(pattern)})"
        case In(operand=operand, items=items, negated=neg):
            kw = "NOT IN" if neg else "IN"
            inner = ", ".join(to_source(i) for i in items)
            return f"({to_source(operand)} {kw} ({inner}))"
        case Call(name=name, args=args):
            return f"{name}({', '.join(to_source(a) for a in args)})"
    raise TypeError(f"not a CESQL node: {node!r}")
