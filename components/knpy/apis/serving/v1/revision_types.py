"""Revision: an immutable snapshot of a pod spec plus Knative's knobs (containerConcurrency,
timeoutSeconds, responseStartTimeoutSeconds, idleTimeoutSeconds). `RevisionSpec` and
`RevisionTemplate` are the same views over a Configuration's or Service's `spec.template`."""

from __future__ import annotations

from typing import Any

from knpy.apis.eventing.v1.meta import ObjectView
from knpy.apis.serving.v1.register import CONFIGURATION_LABEL, DEFAULT_USER_PORT, SERVICE_LABEL
from knpy.apis.serving.v1.revision_lifecycle import RevisionStatus

__all__ = ["Revision", "RevisionSpec", "RevisionTemplate", "serving_container_index"]


def serving_container_index(containers: list[Any]) -> int | None:
    """The container that receives requests: the only one, else the one with ports."""
    if len(containers) == 1:
        return 0
    for i, c in enumerate(containers):
        if isinstance(c, dict) and c.get("ports"):
            return i
    return None


class RevisionSpec:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @property
    def containers(self) -> list[dict[str, Any]]:
        cs = self.raw.get("containers")
        return [c for c in cs if isinstance(c, dict)] if isinstance(cs, list) else []

    @property
    def container_concurrency(self) -> int:
        return int(self.raw.get("containerConcurrency") or 0)

    @property
    def timeout_seconds(self) -> int | None:
        return self.raw.get("timeoutSeconds")

    @property
    def response_start_timeout_seconds(self) -> int | None:
        return self.raw.get("responseStartTimeoutSeconds")

    @property
    def idle_timeout_seconds(self) -> int | None:
        return self.raw.get("idleTimeoutSeconds")

    @property
    def serving_container(self) -> dict[str, Any] | None:
        i = serving_container_index(self.containers)
        return None if i is None else self.containers[i]

    @property
    def user_port(self) -> int:
        """The serving container's port (8080 when it names none)."""
        c = self.serving_container or {}
        ports = c.get("ports") or [{}]
        return int(ports[0].get("containerPort") or DEFAULT_USER_PORT)

    @property
    def port_name(self) -> str:
        """`h2c` or `http1`: the protocol the queue-proxy speaks to the user container."""
        c = self.serving_container or {}
        ports = c.get("ports") or [{}]
        return "h2c" if ports[0].get("name") == "h2c" else "http1"


class RevisionTemplate:
    """A Configuration's / Service's `spec.template`: metadata and a revision spec."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @property
    def metadata(self) -> dict[str, Any]:
        md = self.raw.get("metadata")
        return md if isinstance(md, dict) else {}

    @property
    def name(self) -> str:
        return self.metadata.get("name") or ""

    @property
    def annotations(self) -> dict[str, str]:
        return self.metadata.get("annotations") or {}

    @property
    def spec(self) -> RevisionSpec:
        s = self.raw.get("spec")
        return RevisionSpec(s if isinstance(s, dict) else {})


class Revision(ObjectView):
    @property
    def spec(self) -> RevisionSpec:
        return RevisionSpec(self.spec_raw)

    @property
    def configuration_name(self) -> str:
        return self.labels.get(CONFIGURATION_LABEL, "")

    @property
    def service_name(self) -> str:
        return self.labels.get(SERVICE_LABEL, "")

    @property
    def status(self) -> RevisionStatus:
        return RevisionStatus(self.status_raw)

    def init_conditions(self) -> None:
        self.status.conditions.initialize()
