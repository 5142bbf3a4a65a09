"""Cluster mode: revisions and their pods from the Kubernetes API.

- Revisions (serving.knative.dev/v1): containerConcurrency and timeoutSeconds;
- the pods of each revision's private Service (label
  `networking.internal.knative.dev/serviceType=Private`; the revision from
  `serving.knative.dev/revision`), at the port named `http` (the queue-proxy's 8012):
  from its EndpointSlices where the server serves `discovery.k8s.io/v1` (Kubernetes 1.21+;
  the EndpointSlice controller copies the Service's labels onto them), else from its
  Endpoints (1.20). A revision may have several slices: its backends are their union;
- Endpoints of `activator-service` in the system namespace: every activator's IP, for
  subsetting (this one's is POD_IP).

The pure functions turn objects into what the throttlers need; `ClusterSource` wires them
to runtime.k8s informers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from knpy.activator.config import ENDPOINTS_APIS
from knpy.activator.revisions import RevisionConfig, Revisions
from knpy.activator.throttler import DEFAULT_TIMEOUT
from knpy.runtime.k8s import Client, Informer, Resource, connect
from knpy.runtime.k8s.discovery import Discovery
from knpy.runtime.process import cancel_and_wait
from knpy.runtime.proxy.address import join_address

log = logging.getLogger("knpy.activator.cluster")

REVISIONS = Resource("serving.knative.dev", "v1", "revisions", "Revision")
ENDPOINTS = Resource("", "v1", "endpoints", "Endpoints")
SLICE_GROUP = "discovery.k8s.io"
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
                out.append(join_address(ip, port["port"]))
    return sorted(out)


def slice_addresses(es: Obj, port_name: str = "http") -> tuple[list[str], list[str]]:
    """(ready, not ready yet) host:port of one EndpointSlice, at the port named `port_name`
    (else the first). Terminating endpoints are neither: Endpoints leave them out too.
    A missing `ready` condition means ready (the API's rule)."""
    ports = es.get("ports") or []
    port = next((p for p in ports if p.get("name") == port_name), ports[0] if ports else None)
    if port is None or port.get("port") is None:
        return [], []
    ready: list[str] = []
    unready: list[str] = []
    for ep in es.get("endpoints") or []:
        addrs = ep.get("addresses") or []
        if not addrs:
            continue
        cond = ep.get("conditions") or {}
        if cond.get("terminating"):
            continue
        # the addresses of one endpoint are fungible: use the first
        (unready if cond.get("ready") is False else ready).append(
            join_address(addrs[0], port["port"]))
    return sorted(ready), sorted(unready)


def ready_ips(ep: Obj) -> list[str]:
    return sorted({a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []
                   if a.get("ip")})


class ClusterSource:
    def __init__(self, revisions: Revisions, system_namespace: str,
                 kubeconfig: str | None = None, endpoints_api: str = "auto") -> None:
        if endpoints_api not in ENDPOINTS_APIS:
            raise ValueError(f"endpoints_api: want one of {', '.join(ENDPOINTS_APIS)}, "
                             f"got {endpoints_api!r}")
        self.revisions = revisions
        self.system_namespace = system_namespace
        self.kubeconfig = kubeconfig
        self.endpoints_api = endpoints_api
        self.client: Client | None = None
        self.synced = asyncio.Event()  # every informer has listed once
        self.source = ""  # what run() watches: "endpoints" or the EndpointSlice API version
        # Endpoints may arrive before their Revision: remember them until it does.
        self._backends: dict[str, tuple[list[str], list[str]]] = {}
        # revision key -> slice name -> (ready, not ready)
        self._slices: dict[str, dict[str, tuple[list[str], list[str]]]] = {}

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

    def on_slice(self, es: Obj) -> None:
        key = self._slice_key(es)
        if key is None:
            return
        self._slices.setdefault(key, {})[es["metadata"]["name"]] = slice_addresses(es)
        self._publish_slices(key)

    def on_slice_deleted(self, es: Obj) -> None:
        key = self._slice_key(es)
        if key is None or key not in self._slices:
            return
        self._slices[key].pop(es["metadata"]["name"], None)
        self._publish_slices(key)

    @staticmethod
    def _slice_key(es: Obj) -> str | None:
        md = es.get("metadata") or {}
        name = (md.get("labels") or {}).get(REVISION_LABEL)
        return f"{md.get('namespace', '')}/{name}" if name and md.get("name") else None

    def _publish_slices(self, key: str) -> None:
        parts = self._slices.get(key) or {}
        if not parts:
            self._slices.pop(key, None)
            self._backends.pop(key, None)
            self.revisions.set_backends(key, [])
            return
        ready = sorted({a for r, _ in parts.values() for a in r})
        # a pod ready in one slice and listed not-ready in a stale one counts as ready
        unready = sorted({a for _, u in parts.values() for a in u} - set(ready))
        self._backends[key] = (ready, unready)
        self.revisions.set_backends(key, ready, unready)

    async def _pod_source(self, client: Client) -> Informer:
        """The private Services' pods: EndpointSlices or Endpoints, by `endpoints_api`."""
        api = self.endpoints_api
        if api == "auto":
            v1 = f"{SLICE_GROUP}/v1"
            api = v1 if await Discovery(client).serves(v1, "endpointslices") else "endpoints"
        self.source = api
        if api == "endpoints":
            inf = Informer(client, ENDPOINTS, label_selector=PRIVATE_SELECTOR)
            inf.add_handler(self.on_endpoints, lambda _o, n: self.on_endpoints(n),
                            self.on_endpoints_deleted)
        else:
            res = Resource(SLICE_GROUP, api.rpartition("/")[2], "endpointslices",
                           "EndpointSlice")
            inf = Informer(client, res, label_selector=PRIVATE_SELECTOR)
            inf.add_handler(self.on_slice, lambda _o, n: self.on_slice(n), self.on_slice_deleted)
        log.info("pods of revisions from %s", api)
        return inf

    def on_activators(self, ep: Obj) -> None:
        self.revisions.set_activator_ips(ready_ips(ep))

    async def run(self) -> None:
        self.client = await connect(self.kubeconfig, user_agent="knpy-activator")
        revs = Informer(self.client, REVISIONS)
        revs.add_handler(self.on_revision, lambda _o, n: self.on_revision(n),
                         self.on_revision_deleted)
        eps = await self._pod_source(self.client)
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
