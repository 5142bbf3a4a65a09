"""The part every typed view shares: the raw dict and its metadata."""

from __future__ import annotations

from typing import Any


class ObjectView:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @property
    def metadata(self) -> dict[str, Any]:
        return self.raw.setdefault("metadata", {})

    @property
    def name(self) -> str:
        return self.metadata.get("name", "")

    @property
    def namespace(self) -> str:
        return self.metadata.get("namespace", "")

    @property
    def annotations(self) -> dict[str, str]:
        return self.metadata.get("annotations") or {}

    @property
    def labels(self) -> dict[str, str]:
        return self.metadata.get("labels") or {}

    @property
    def spec_raw(self) -> dict[str, Any]:
        spec = self.raw.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def status_raw(self) -> dict[str, Any]:
        return self.raw.setdefault("status", {})

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"
