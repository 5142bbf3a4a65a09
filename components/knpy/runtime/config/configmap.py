"""Typed, per-key ConfigMap parsing (knative.dev/pkg/configmap.Parse in spirit).

    p = ConfigMapReader("config-eventing", cm_data)
    cfg = EventingConfig(ingress_host=p.string("ingress-host", "broker-ingress.knpy-system"),
                         resync=p.duration("resync-period", 60.0))
    p.raise_if_errors()

Every bad key is collected (not just the first) as a FieldError at `<configmap>[<key>]`,
so one message tells the operator everything that is wrong. Keys starting with `_` (such
as Knative's `_example` block) are documentation and ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import TypeVar

from knpy.runtime.config.duration import parse_go_duration, parse_iso8601_duration
from knpy.runtime.config.field_error import FieldError

__all__ = ["ConfigMapReader"]

T = TypeVar("T")

_TRUE = {"true", "yes", "on", "1", "enabled"}
_FALSE = {"false", "no", "off", "0", "disabled"}


class ConfigMapReader:
    def __init__(self, name: str, data: Mapping[str, str] | None) -> None:
        self.name = name
        self.data = {k: v for k, v in (data or {}).items() if not k.startswith("_")}
        self.errors = FieldError.none()

    def _get(self, key: str, default: T, conv: Callable[[str], T], what: str) -> T:
        raw = self.data.get(key)
        if raw is None or raw.strip() == "":
            return default
        try:
            return conv(raw.strip())
        except (ValueError, TypeError) as exc:
            self.errors = self.errors.also(
                FieldError.invalid(raw, "", details=f"want {what}: {exc}")
                .via_key(key).via_field(self.name))
            return default

    def string(self, key: str, default: str) -> str:
        return self._get(key, default, str, "a string")

    def integer(self, key: str, default: int, *, minimum: int | None = None,
                maximum: int | None = None) -> int:
        def conv(s: str) -> int:
            v = int(s)
            if minimum is not None and v < minimum:
                raise ValueError(f"{v} < {minimum}")
            if maximum is not None and v > maximum:
                raise ValueError(f"{v} > {maximum}")
            return v
        return self._get(key, default, conv, "an integer")

    def number(self, key: str, default: float, *, minimum: float | None = None) -> float:
        def conv(s: str) -> float:
            v = float(s)
            if minimum is not None and v < minimum:
                raise ValueError(f"{v} < {minimum}")
            return v
        return self._get(key, default, conv, "a number")

    def boolean(self, key: str, default: bool) -> bool:
        def conv(s: str) -> bool:
            low = s.lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError("not a boolean")
        return self._get(key, default, conv, "true or false")

    def duration(self, key: str, default: float, *, positive: bool = False) -> float:
        """Go-style duration ("30s", "1m") in seconds."""
        def conv(s: str) -> float:
            v = parse_go_duration(s)
            if positive and v <= 0:
                raise ValueError("must be > 0")
            return v
        return self._get(key, default, conv, "a duration like 30s")

    def iso_duration(self, key: str, default: str) -> str:
        """An ISO-8601 duration ("PT0.2S"), kept as text (as Knative's APIs carry it)."""
        def conv(s: str) -> str:
            parse_iso8601_duration(s)
            return s
        return self._get(key, default, conv, "an ISO-8601 duration such as PT0.2S")

    def choice(self, key: str, default: str, choices: Collection[str]) -> str:
        def conv(s: str) -> str:
            if s not in choices:
                raise ValueError(f"not one of {sorted(choices)}")
            return s
        return self._get(key, default, conv, "one of " + ", ".join(sorted(choices)))

    def raise_if_errors(self) -> None:
        if self.errors:
            raise self.errors
