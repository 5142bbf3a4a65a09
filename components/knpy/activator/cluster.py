"""Cluster mode: revisions and their pods from the Kubernetes API.

- Revisions (serving.knative.dev/v1): containerConcurrency and timeoutSeconds;
- Endpoints of each revision's private Service (label
  `networking.internal.knative.dev/serviceType=Private`; the revision from
  `serving.knative.dev/revision`): the ready addresses at the port named `http`
  (the queue-proxy's 8012);
- Endpoints of `activator-service` in the system namespace: every activator's IP, for
  subsetting (this one's is POD_IP).

The pure functions turn objects into what the throttlers need; `ClusterSource` wires them
to runtime.k8s informers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from knpy.activator.revisions import RevisionConfig, Revisions
from knpy.activator.throttler import DEFAULT_TIMEOUT
from knpy.runtime.k8s import Client, Informer, Resource, connect
from knpy.runtime.process import cancel_and_wait

log = logging.getLogger("knpy.activator.cluster")

REVISIONS = Resource("serving.knative.dev", "v1", "revisions", "Revision")
ENDPOINTS = Resource("", "v1", "endpoints", "Endpoints")
PRIVATE_SELECTOR = "networking.internal.knative.dev/serviceType=Private"
REVISION_LABEL = "serving.knative.dev/revision"
ACTIVATOR_SERVICE = "activator-service"

Obj = dict[str, Any]


def revision_config(rev: Obj) -> RevisionConfig:
    md, spec = rev.get("metadata") or {}, rev.get("spec") or {}
    cc = spec.get("containerConcurrency") or 0
    timeout = spec.get("timeoutSeconds") or DEFAULT_TIMEOUT
    return RevisionConfig(md.get("namespace", ""), md["name"], int(cc), float(timeout))


def ready_addresses(ep: Obj, port_name: str | None = "http",
                    field: str = "addresses") -> list[str]:
    """host:port of every ready address (`field="notReadyAddresses"`: of every address not
    ready yet); the port named `port_name` (else the first)."""
    out = []
    for subset in ep.get("subsets") or []:
        ports = subset.get("ports") or []
        port = next((p for p in ports if p.get("name") == port_name), ports[0] if ports else None)
        if port is None:
            continue
        for addr in subset.get(field) or []:
            ip = addr.get("ip")
            if ip:
                host = f"[{ip}]" if ":" in ip else ip
                out.append(f"{host}:{port['port']}")
    return sorted(out)


def ready_ips(ep: Obj) -> list[str]:
    return sorted({a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []
                   if a.get("ip")})


class ClusterSource:
    def __init__(self, revisions: Revisions, system_namespace: str,
                 kubeconfig: str | None = None) -> None:
        self.revisions = revisions
        self.system_namespace = system_namespace
        self.kubeconfig = kubeconfig
        self.client: Client | None = None
        self.synced = asyncio.Event()  # every informer has listed once
        # Endpoints may arrive before their Revision: remember them until it does.
        self._backends: dict[str, tuple[list[str], list[str]]] = {}

    def on_revision(self, rev: Obj) -> None:
        cfg = revision_config(rev)
        if (rev.get("metadata") or {}).get("deletionTimestamp"):
            self.revisions.remove(cfg.key)
            return
        ready, unready = self._backends.get(cfg.key, ([], []))
        self.revisions.upsert(cfg)
        self.revisions.set_backends(cfg.key, ready, unready)

    def on_revision_deleted(self, rev: Obj) -> None:
        self.revisions.remove(revision_config(rev).key)

    def on_endpoints(self, ep: Obj) -> None:
        md = ep.get("metadata") or {}
        name = (md.get("labels") or {}).get(REVISION_LABEL)
        if not name:
            return
        key = f"{md.get('namespace', '')}/{name}"
        # Pods not ready yet are backends too, used once they pass the activator's own
        # probe (as Knative's activator does): a new pod takes requests as soon as its
        # queue-proxy says ready, not a kubelet probe period plus an Endpoints update later.
        ready, unready = ready_addresses(ep), ready_addresses(ep, field="notReadyAddresses")
        self._backends[key] = (ready, unready)
        self.revisions.set_backends(key, ready, unready)

    def on_endpoints_deleted(self, ep: Obj) -> None:
        md = ep.get("metadata") or {}
        name = (md.get("labels") or {}).get(REVISION_LABEL)
        if name:
            key = f"{md.get('namespace', '')}/{name}"
            self._backends.pop(key, None)
            self.revisions.set_backends(key, [])

    def on_activators(self, ep: Obj) -> None:
        self.revisions.set_activator_ips(ready_ips(ep))

    async def run(self) -> None:
        self.client = await connect(self.kubeconfig, user_agent="knpy-activator")
        revs = Informer(self.client, REVISIONS)
        revs.add_handler(self.on_revision, lambda _o, n: self.on_revision(n),
                         self.on_revision_deleted)
        eps = Informer(self.client, ENDPOINTS, label_selector=PRIVATE_SELECTOR)
        eps.add_handler(self.on_endpoints, lambda _o, n: self.on_endpoints(n),
                        self.on_endpoints_deleted)
        acts = Informer(self.client, ENDPOINTS, namespace=self.system_namespace,
                        field_selector=f"metadata.name={ACTIVATOR_SERVICE}")
        acts.add_handler(self.on_activators, lambda _o, n: self.on_activators(n),
                         lambda _o: self.revisions.set_activator_ips([]))
        infs = (revs, eps, acts)
        tasks = [asyncio.create_task(i.run(), name=f"informer-{i.resource}") for i in infs]
        try:
            await asyncio.gather(*(i.synced.wait() for i in infs))
            self.synced.set()
            log.info("informers synced: %d revision(s)", len(self.revisions.by_key))
            await asyncio.gather(*tasks)
        finally:
            await cancel_and_wait(tasks)
            await self.client.close()
