"""Field-pathed validation errors, in the manner of knative.dev/pkg/apis.FieldError.

Every validator reports errors relative to itself; its caller prefixes the path with
`via_field`, `via_index` or `via_key`, so the user sees the full location:

    >>> FieldError.invalid("x", "cesql", "syntax error").via_index(1).via_field("spec", "filters")
    FieldError('invalid value: x: spec.filters[1].cesql\nsyntax error')

Rendering is Knative's, so users and tooling coming from Knative read the same text: each
error is `<message>: <path>[, <path>...]`, its details (if any) on the next line; errors
with the same message and details are merged into one with the union of their paths
(sorted), and the errors are sorted by message, then details, and joined by newlines.
An error with no path (the object itself) is just `<message>`.

Errors are immutable values; `also` combines them. An empty FieldError is falsy, so
validators can write `errs = FieldError.none()` then `errs = errs.also(...)`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["FieldError", "join_path", "split_path"]


@dataclass(frozen=True, slots=True)
class _Entry:
    message: str
    paths: tuple[tuple[str, ...], ...]  # each path is a tuple of segments, "[0]" for indexes
    details: str = ""


def join_path(segments: Sequence[str]) -> str:
    """("spec", "filters", "[1]", "cesql") -> "spec.filters[1].cesql"."""
    out = ""
    for seg in segments:
        if not seg:
            continue
        if seg.startswith("[") or not out:
            out += seg
        else:
            out += "." + seg
    return out


def split_path(path: str) -> tuple[str, ...]:
    """The inverse of join_path: "filters[1].cesql" -> ("filters", "[1]", "cesql").

    Brackets are opaque, so keys may hold dots: "annotations[a.b/c]" is two segments."""
    segs: list[str] = []
    i, cur = 0, ""
    while i < len(path):
        ch = path[i]
        if ch == "[":
            end = path.find("]", i)
            if end < 0:
                cur += path[i:]
                break
            if cur:
                segs.append(cur)
                cur = ""
            segs.append(path[i:end + 1])
            i = end + 1
            continue
        if ch == ".":
            if cur:
                segs.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    if cur:
        segs.append(cur)
    return tuple(segs)


class FieldError(ValueError):
    """One or more validation errors, each with the field path(s) it concerns."""

    __slots__ = ("_entries",)

    def __init__(self, message: str = "", *paths: str, details: str = "") -> None:
        entries: tuple[_Entry, ...] = ()
        if message:
            ps = tuple(split_path(p) for p in paths) or ((),)
            entries = (_Entry(message, ps, details),)
        self._entries = entries
        super().__init__(self.error())

    # -------------------------------------------------------------- constructors
    @classmethod
    def none(cls) -> FieldError:
        return cls()

    @classmethod
    def _of(cls, entries: Iterable[_Entry]) -> FieldError:
        err = cls()
        err._entries = tuple(entries)
        ValueError.__init__(err, err.error())
        return err

    @classmethod
    def missing(cls, *fields: str) -> FieldError:
        return cls("missing field(s)", *fields)

    @classmethod
    def invalid(cls, value: object, field: str, details: str = "") -> FieldError:
        return cls(f"invalid value: {value}", field, details=details)

    @classmethod
    def disallowed(cls, *fields: str) -> FieldError:
        return cls("must not set the field(s)", *fields)

    @classmethod
    def one_of(cls, *fields: str) -> FieldError:
        """More than one of mutually exclusive fields were set."""
        return cls("expected exactly one, got both", *fields)

    @classmethod
    def missing_one_of(cls, *fields: str) -> FieldError:
        """None of mutually exclusive fields, one of which is required, was set."""
        return cls("expected exactly one, got neither", *fields)

    @classmethod
    def immutable(cls, field: str, old: object, new: object) -> FieldError:
        """`field` changed from `old` to `new`; the details show what differs."""
        return cls("Immutable fields changed (-old +new)", field,
                   details=_short_diff(old, new))

    @classmethod
    def out_of_bounds(cls, value: object, lo: object, hi: object, field: str) -> FieldError:
        return cls(f"expected {lo} <= {value} <= {hi}", field)

    @classmethod
    def from_exception(cls, exc: Exception, field: str) -> FieldError:
        """Wrap another library's error (e.g. a filter or parser error) at `field`."""
        return cls(str(exc), field)

    # -------------------------------------------------------------- combinators
    def _prefixed(self, seg: str) -> FieldError:
        return FieldError._of(
            _Entry(e.message, tuple((seg, *p) for p in e.paths), e.details)
            for e in self._entries
        )

    def via_field(self, *fields: str) -> FieldError:
        """Prefix every path with `fields` (outermost first): via_field("spec", "filter")."""
        err = self
        for f in reversed(fields):
            for seg in reversed(split_path(f)):
                err = err._prefixed(seg)
        return err

    def via_index(self, index: int) -> FieldError:
        return self._prefixed(f"[{index}]")

    def via_key(self, key: str) -> FieldError:
        return self._prefixed(f"[{key}]")

    def via_field_index(self, field: str, index: int) -> FieldError:
        return self.via_index(index).via_field(field)

    def via_field_key(self, field: str, key: str) -> FieldError:
        return self.via_key(key).via_field(field)

    def also(self, *others: FieldError | None) -> FieldError:
        entries = list(self._entries)
        for o in others:
            if o:
                entries.extend(o._entries)
        return FieldError._of(entries)

    # -------------------------------------------------------------- reading
    def __bool__(self) -> bool:
        return bool(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def paths(self) -> list[str]:
        """Every path mentioned, flattened ("spec.filters[1].cesql")."""
        return sorted({join_path(p) for e in self._entries for p in e.paths})

    def messages(self) -> list[str]:
        """One text per error, in Knative's layout and order (see the module docstring);
        a text holds a newline when its error has details."""
        merged: dict[tuple[str, str], set[str]] = {}
        for e in self._entries:
            merged.setdefault((e.message, e.details), set()).update(
                join_path(p) for p in e.paths)
        out = []
        for (message, details), paths in sorted(merged.items()):
            where = ", ".join(sorted(p for p in paths if p))
            text = f"{message}: {where}" if where else message
            out.append(f"{text}\n{details}" if details else text)
        return out

    def error(self) -> str:
        return "\n".join(self.messages())

    def __str__(self) -> str:
        return self.error()

    def __repr__(self) -> str:
        return f"FieldError({self.error()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldError) and self.messages() == other.messages()

    def __hash__(self) -> int:
        return hash(tuple(self.messages()))


def _short_diff(old: object, new: object) -> str:
    """The changed keys of two mappings, or the two values, one `-`/`+` pair each."""
    def show(v: object) -> str:
        return json.dumps(v, sort_keys=True, default=str)

    if isinstance(old, dict) and isinstance(new, dict):
        lines = []
        for k in sorted(set(old) | set(new), key=str):
            if old.get(k) != new.get(k):
                lines.append(f"{k}:\n\t-: {show(old.get(k))}\n\t+: {show(new.get(k))}")
        return "\n".join(lines)
    return f"-: {show(old)}\n+: {show(new)}"
