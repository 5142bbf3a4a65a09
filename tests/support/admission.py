"""The knpy webhook process registered with a real API server for one test: its Validating
and Mutating configurations point at it on 127.0.0.1 and select only that test's namespace
(a stopped webhook must not block other tests); both are removed afterwards."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knpy.runtime.k8s import MUTATING_WEBHOOKS, VALIDATING_WEBHOOKS, Client
from tests.support.apiserver import make_namespace
from tests.support.cluster import KubeAPI
from tests.support.poll import eventually
from tests.support.procs import free_port, python_module, running

SELECTOR_LABEL = "knpy-admission-test"


def hook_config(kind: str, name: str, path: str, port: int, label: str, group: str,
                resources: Sequence[str], versions: Sequence[str] = ("v1",)
                ) -> dict[str, Any]:
    """A webhook configuration for `resources` of `group`, in namespaces labelled `label`."""
    hook: dict[str, Any] = {
        "name": f"{path.strip('/')}.{name}",
        "clientConfig": {"url": f"https://127.0.0.1:{port}{path}"},
        "rules": [{"apiGroups": [group], "apiVersions": list(versions),
                   "operations": ["CREATE", "UPDATE"], "resources": list(resources),
                   "scope": "Namespaced"}],
        "namespaceSelector": {"matchLabels": {SELECTOR_LABEL: label}},
        "sideEffects": "None", "admissionReviewVersions": ["v1"], "failurePolicy": "Fail",
        "timeoutSeconds": 10}
    if kind == "MutatingWebhookConfiguration":
        hook["reinvocationPolicy"] = "Never"
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
            "metadata": {"name": name}, "webhooks": [hook]}


@dataclass
class Admission:
    namespace: str  # the namespace the hooks apply to
    system: str  # the webhook's own namespace (its certificate Secret)
    validating: str
    mutating: str
    configs: list[dict[str, Any]]  # as registered, caBundle set by the webhook


@contextlib.asynccontextmanager
async def running_webhook(api: KubeAPI, client: Client, logdir: Path, *, group: str,
                          resources: Sequence[str], prefix: str,
                          versions: Sequence[str] = ("v1",)) -> AsyncIterator[Admission]:
    """Register the hooks, run `python -m knpy.webhook` until it has set their caBundle."""
    label = uuid.uuid4().hex[:8]
    ns = make_namespace(api, prefix, {SELECTOR_LABEL: label})
    system = make_namespace(api, "knpy-system")
    port = free_port()
    vname, mname = f"validation.{label}.knpy.dev", f"defaulting.{label}.knpy.dev"
    hooks = ((VALIDATING_WEBHOOKS, vname), (MUTATING_WEBHOOKS, mname))
    await client.create(VALIDATING_WEBHOOKS, hook_config(
        "ValidatingWebhookConfiguration", vname, "/validation", port, label, group, resources,
        versions))
    await client.create(MUTATING_WEBHOOKS, hook_config(
        "MutatingWebhookConfiguration", mname, "/defaulting", port, label, group, resources,
        versions))
    args = python_module("knpy.webhook", "--kubeconfig", api.kubeconfig, "--namespace", system,
                         "--host", "127.0.0.1", "--port", str(port), "--san", "127.0.0.1",
                         "--validating-config", vname, "--mutating-config", mname,
                         "--resync", "1", "--metrics-port", str(free_port()))
    try:
        with running(args, port=port, log_path=logdir / "webhook.log"):
            async def registered() -> list[dict[str, Any]] | None:
                cfgs = [await client.get(r, None, n) for r, n in hooks]
                return cfgs if all(c["webhooks"][0]["clientConfig"].get("caBundle")
                                   for c in cfgs) else None
            configs = await eventually(registered, 20, "caBundle registered", every=0.05)
            yield Admission(ns, system, vname, mname, configs)
    finally:
        for res, name in hooks:
            await client.delete(res, None, name)
