"""KReference and Destination (duckv1): types, validation, and relative-URI resolution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from knpy.runtime.config import FieldError

__all__ = ["Destination", "KReference", "default_ref_namespace", "resolve_uri"]


@dataclass(frozen=True, slots=True)
class KReference:
    kind: str
    name: str
    api_version: str
    namespace: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> KReference | None:
        if not isinstance(d, dict):
            return None
        return cls(str(d.get("kind") or ""), str(d.get("name") or ""),
                   str(d.get("apiVersion") or ""), str(d.get("namespace") or ""))

    def validate(self, parent_namespace: str | None = None) -> FieldError:
        errs = FieldError.none()
        for f, v in (("kind", self.kind), ("name", self.name), ("apiVersion", self.api_version)):
            if not v:
                errs = errs.also(FieldError.missing(f))
        if parent_namespace and self.namespace and self.namespace != parent_namespace:
            errs = errs.also(FieldError.invalid(
                self.namespace, "namespace",
                f"cross-namespace references are not allowed (want {parent_namespace})"))
        return errs


@dataclass(frozen=True, slots=True)
class Destination:
    ref: KReference | None = None
    uri: str | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Destination | None:
        if not isinstance(d, dict):
            return None
        uri = d.get("uri")
        return cls(KReference.from_dict(d.get("ref")), str(uri) if uri else None)

    def validate(self, parent_namespace: str | None = None) -> FieldError:
        if self.ref is None and not self.uri:
            return FieldError("expected at least one, got none", "ref", "uri")
        errs = FieldError.none()
        if self.ref is not None:
            errs = errs.also(self.ref.validate(parent_namespace).via_field("ref"))
        if self.uri:
            parts = urlsplit(self.uri)
            if self.ref is None and not (parts.scheme and parts.netloc):
                errs = errs.also(FieldError.invalid(self.uri, "uri",
                                                    "Relative URI is not allowed when Ref "
                                                    "is absent"))
            elif self.ref is not None and parts.scheme and parts.netloc:
                errs = errs.also(FieldError.invalid(self.uri, "uri",
                                                    "Absolute URI is not allowed when Ref "
                                                    "is present"))
        return errs


def resolve_uri(base: str | None, uri: str | None) -> str | None:
    """A Destination's URI: the ref's address, with `uri` resolved relative to it."""
    if base and uri:
        return urljoin(base, uri)
    return base or uri


def default_ref_namespace(dest: Any, namespace: str) -> None:
    """Knative's defaulting: a Destination's ref namespace is its object's (in place)."""
    if isinstance(dest, dict) and isinstance(dest.get("ref"), dict) and namespace:
        dest["ref"].setdefault("namespace", namespace)
