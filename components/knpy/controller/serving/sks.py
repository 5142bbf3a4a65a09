"""ServerlessService reconciler: one SKS `<rev>` keeps the revision reachable at the public
Service `<rev>`, whether its pods serve or the activator holds requests for it.

Per SKS (children in sks_resources.py, owned by the SKS):
- the private Service `<rev>-private` selects the pods; the endpoints controller fills its
  Endpoints, which the autoscaler scrapes and which back Serve mode;
- the public Service `<rev>` has no selector: this reconciler writes its Endpoints, the
  private Service's ready addresses in Serve mode, the activator's (Endpoints of
  `activator-service` in the system namespace) in Proxy mode, and in Serve mode with no
  ready pod (never leave the revision without a backend);
- status: serviceName, privateServiceName; EndpointsPopulated (hence Ready) is True once the
  public Endpoints have a ready address, whichever backs them; ActivatorEndpointsPopulated
  is True while the activator backs the revision (the autoscaler waits for it before it
  removes the last pod).

Kubernetes 1.20 routes by Endpoints; on servers with discovery.k8s.io/v1 the
EndpointSlice mirroring controller mirrors these selector-less Endpoints into slices, so the
same writes hold there.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any

from knpy.apis.networking.v1alpha1 import MODE_PROXY, ServerlessService
from knpy.apis.networking.v1alpha1.register import GROUP, SERVERLESSSERVICES, VERSION
from knpy.apis.networking.v1alpha1.serverlessservice_lifecycle import REASON_NO_HEALTHY_BACKENDS
from knpy.apis.serving.v1.register import REVISION_LABEL
from knpy.controller.serving.sks_resources import (
    ACTIVATOR_SERVICE,
    ENDPOINTS,
    PRIVATE,
    SERVICE_TYPE_LABEL,
    private_name,
    private_service,
    public_endpoints,
    public_service,
    public_subsets,
    ready_count,
)
from knpy.runtime.k8s import (
    SERVICES,
    ApiError,
    Client,
    Controller,
    Discovery,
    Informer,
    Lister,
    PermanentError,
    Reconciler,
    Recorder,
    Resource,
    is_controlled_by,
)
from knpy.runtime.k8s.children import delete_unwanted
from knpy.runtime.k8s.ownerrefs import controller_of
from knpy.runtime.k8s.resources import Obj
from knpy.runtime.process import cancel_and_wait

__all__ = ["SKS", "ServerlessServiceControllers", "ServerlessServiceReconciler"]

log = logging.getLogger("knpy.controller.serving.sks")

SKS = Resource(GROUP, VERSION, SERVERLESSSERVICES, "ServerlessService")


class _NotOwned(Exception):
    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"{kind} {name} exists and is not owned by the SKS")
        self.kind, self.name = kind, name


class ServerlessServiceReconciler(Reconciler[ServerlessService]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 services: Lister, endpoints: Lister, activator_endpoints: Lister,
                 system_namespace: str) -> None:
        super().__init__(client, lister, SKS, ServerlessService, recorder,
                         name="serverlessservice")
        self.services = services
        self.endpoints = endpoints
        self.activator_endpoints = activator_endpoints
        self.system_namespace = system_namespace

    async def reconcile_kind(self, sks: ServerlessService) -> None:
        st = sks.status
        try:
            await self._sync_service(sks, private_service(sks))
            # one left under an older name form (knpy before kmeta.ChildName names)
            await delete_unwanted(self.client, SERVICES, self.services, sks.raw,
                                  {private_name(sks.name)}, slot=_is_private)
            await self._sync_service(sks, public_service(sks))
            st.set_service_names(sks.name, private_name(sks.name))
            pods = self.endpoints.get(sks.namespace, private_name(sks.name))
            activator = self.activator_endpoints.get(self.system_namespace, ACTIVATOR_SERVICE)
            serving = sks.mode != MODE_PROXY and ready_count(pods) > 0
            subsets = public_subsets(pods if serving else activator, sks.protocol_type)
            await self._sync_endpoints(sks, public_endpoints(sks, subsets))
        except _NotOwned as exc:
            st.mark_endpoints_not_owned(exc.kind, exc.name)
            raise PermanentError(str(exc)) from None
        if subsets:
            st.mark_endpoints_ready()
        else:
            st.mark_endpoints_not_ready(REASON_NO_HEALTHY_BACKENDS)
        if serving:
            st.mark_activator_endpoints_removed()
        else:
            st.mark_activator_endpoints_populated()

    async def _existing(self, res: Resource, lister: Lister, sks: ServerlessService,
                        want: Obj) -> Obj | None:
        """The child as it is (created when missing: None); _NotOwned if someone else's."""
        name = want["metadata"]["name"]
        have = lister.get(sks.namespace, name)
        if have is None:
            try:
                await self.client.create(res, want)
                return None
            except ApiError as exc:
                if not exc.already_exists:
                    raise
                have = await self.client.get(res, sks.namespace, name)
        if not is_controlled_by(have, sks.raw):
            raise _NotOwned(res.kind, name)
        return have

    async def _sync_service(self, sks: ServerlessService, want: Obj) -> None:
        have = await self._existing(SERVICES, self.services, sks, want)
        if have is None:
            return
        spec = have.get("spec") or {}
        labels = (have["metadata"].get("labels") or {})
        if (spec.get("ports") == want["spec"]["ports"]
                and spec.get("selector") == want["spec"].get("selector")
                and labels == want["metadata"]["labels"]):
            return
        fresh = copy.deepcopy(have)
        fresh["metadata"]["labels"] = want["metadata"]["labels"]
        fresh["spec"]["ports"] = want["spec"]["ports"]
        if "selector" in want["spec"]:
            fresh["spec"]["selector"] = want["spec"]["selector"]
        else:
            fresh["spec"].pop("selector", None)
        self.services.observe(await self.client.update(SERVICES, fresh))

    async def _sync_endpoints(self, sks: ServerlessService, want: Obj) -> None:
        have = await self._existing(ENDPOINTS, self.endpoints, sks, want)
        if have is None:
            return
        if ((have.get("subsets") or []) == want["subsets"]
                and (have["metadata"].get("labels") or {}) == want["metadata"]["labels"]):
            return
        fresh = copy.deepcopy(have)
        fresh["metadata"]["labels"] = want["metadata"]["labels"]
        fresh["subsets"] = want["subsets"]
        self.endpoints.observe(await self.client.update(ENDPOINTS, fresh))


class ServerlessServiceControllers:
    """Informers and the controller for SKSs (wired from the Serving wiring):
    SKSs; Services and Endpoints labelled with a serviceType (the SKS's children, and the
    private Endpoints the endpoints controller writes); the activator's Endpoints."""

    def __init__(self, client: Client, discovery: Discovery, recorder: Recorder, *,
                 system_namespace: str, workers: int = 2, watch_timeout: int = 300) -> None:
        wt = watch_timeout
        self.discovery = discovery
        self.skss = Informer(client, SKS, watch_timeout=wt)
        self.services = Informer(client, SERVICES, label_selector=SERVICE_TYPE_LABEL,
                                 watch_timeout=wt)
        self.endpoints = Informer(client, ENDPOINTS, label_selector=SERVICE_TYPE_LABEL,
                                  watch_timeout=wt)
        self.activator = Informer(client, ENDPOINTS, namespace=system_namespace,
                                  field_selector=f"metadata.name={ACTIVATOR_SERVICE}",
                                  watch_timeout=wt)
        self.informers = [self.skss, self.services, self.endpoints, self.activator]
        self.controller = Controller(ServerlessServiceReconciler(
            client, self.skss.lister, recorder, services=self.services.lister,
            endpoints=self.endpoints.lister, activator_endpoints=self.activator.lister,
            system_namespace=system_namespace), workers=workers)
        self.controller.watch(self.skss)
        self.controller.watch(self.services, _owner_keys)
        self.controller.watch(self.endpoints, _endpoints_keys)
        self.activator.on_change(lambda _o: self.controller.enqueue_all(self.skss.lister,
                                                                        slow=False))

    async def run(self, recheck: float = 10.0) -> None:
        """Wait until the SKS CRD is served (CRDs installed later turn this on), then run
        the informers and the controller."""
        warned = False
        while not await self.discovery.serves(SKS.api_version, SKS.plural):
            if not warned:
                log.warning("SKS reconciler off until the API server serves %s", SKS)
                warned = True
            await asyncio.sleep(recheck)
            self.discovery.invalidate()
        if await self.discovery.serves("discovery.k8s.io/v1", "endpointslices"):
            log.info("server has EndpointSlices: public Endpoints are mirrored into them")
        tasks = [asyncio.create_task(i.run(), name=f"informer-sks-{i.resource.plural}")
                 for i in self.informers]
        try:
            await asyncio.gather(*(i.wait_synced() for i in self.informers))
            tasks.append(asyncio.create_task(self.controller.run(), name="controller-sks"))
            await asyncio.gather(*tasks)
        finally:
            await cancel_and_wait(tasks)

    def not_synced(self) -> str | None:
        missing = [str(i.resource) for i in self.informers if not i.synced.is_set()]
        return f"not synced: {', '.join(missing)}" if missing else None

    def promote(self) -> None:
        self.controller.promote(self.skss.lister)

    def demote(self) -> None:
        self.controller.demote()

    def resync(self, slow: bool = True) -> None:
        self.controller.enqueue_all(self.skss.lister, slow=slow)


def _owner_keys(o: Obj) -> list[str]:
    ref = controller_of(o)
    if ref and ref.get("kind") == "ServerlessService":
        return [f"{o['metadata'].get('namespace')}/{ref['name']}"]
    return []


def _endpoints_keys(o: Obj) -> list[str]:
    """Public Endpoints are owned by their SKS; private ones carry their Service's labels,
    the revision's (the SKS's name) among them, since `<sks>-private` may be shortened."""
    md: dict[str, Any] = o.get("metadata") or {}
    labels = md.get("labels") or {}
    if labels.get(SERVICE_TYPE_LABEL) == PRIVATE:
        name = md.get("name", "")
        sks = labels.get(REVISION_LABEL) or (
            name[:-len("-private")] if name.endswith("-private") else "")
        return [f"{md.get('namespace')}/{sks}"] if sks else []
    return _owner_keys(o)


def _is_private(svc: Obj) -> bool:
    return (svc["metadata"].get("labels") or {}).get(SERVICE_TYPE_LABEL) == PRIVATE
