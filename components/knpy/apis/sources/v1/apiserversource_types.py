"""ApiServerSource: spec.resources [{apiVersion, kind, selector}], mode (Reference |
Resource), serviceAccountName, owner, sink, ceOverrides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from knpy.apis.duck.conditions import ConditionManager
from knpy.apis.sources.v1.apiserversource_lifecycle import ApiServerSourceStatus
from knpy.apis.sources.v1.register import (
    APISERVER_ADD,
    APISERVER_DELETE,
    APISERVER_REF_ADD,
    APISERVER_REF_DELETE,
    APISERVER_REF_UPDATE,
    APISERVER_UPDATE,
    MODE_REFERENCE,
    MODE_RESOURCE,
)
from knpy.apis.sources.v1.source_duck import SourceView

__all__ = ["ApiServerResource", "ApiServerSource"]


@dataclass(frozen=True, slots=True)
class ApiServerResource:
    api_version: str
    kind: str
    selector: dict[str, Any] | None = None


class ApiServerSource(SourceView):
    @property
    def mode(self) -> str:
        return str(self.spec_raw.get("mode") or MODE_REFERENCE)

    @property
    def service_account_name(self) -> str:
        return str(self.spec_raw.get("serviceAccountName") or "default")

    @property
    def resources(self) -> list[ApiServerResource]:
        out = []
        for r in self.spec_raw.get("resources") or []:
            if isinstance(r, dict):
                sel = r.get("selector")
                out.append(ApiServerResource(str(r.get("apiVersion") or ""),
                                             str(r.get("kind") or ""),
                                             sel if isinstance(sel, dict) else None))
        return out

    @property
    def namespace_selector(self) -> dict[str, Any] | None:
        """spec.namespaceSelector: None = the source's namespace; {} = every namespace."""
        sel = self.spec_raw.get("namespaceSelector")
        return sel if isinstance(sel, dict) else None

    @property
    def owner(self) -> dict[str, str] | None:
        o = self.spec_raw.get("owner")
        return o if isinstance(o, dict) else None

    def event_types(self) -> list[str]:
        if self.mode == MODE_RESOURCE:
            return [APISERVER_ADD, APISERVER_UPDATE, APISERVER_DELETE]
        return [APISERVER_REF_ADD, APISERVER_REF_UPDATE, APISERVER_REF_DELETE]

    @property
    def status(self) -> ApiServerSourceStatus:
        return ApiServerSourceStatus(self.status_raw)

    @property
    def conditions(self) -> ConditionManager:
        return self.status.conditions


