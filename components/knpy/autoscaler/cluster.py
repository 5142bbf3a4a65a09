"""Cluster mode: PodAutoscalers (class kpa.autoscaling.knative.dev) drive the Multiscaler.

Per PodAutoscaler `<rev>` in a namespace:
- it is registered as a revision with its annotations and containerConcurrency (settings
  from config-autoscaler, watched live) and a `DeploymentScaleTarget` for
  spec.scaleTargetRef, whose pods are the ready addresses of the SKS's private Service's
  Endpoints (`<rev>-private`, or the SKS's status.privateServiceName);
- after every decision its status is written: desiredScale, actualScale (ready pods),
  Active / ScaleTargetInitialized / SKSReady, serviceName, metricsServiceName;
- its SKS `<rev>` gets spec.mode Proxy while the activator must be in the path (want 0,
  excess burst capacity < 0, or inactive without a decision) and Serve otherwise;
- the last pod is removed only once the SKS is in Proxy mode and reports the activator's
  endpoints populated (Knative checks the same before scaling to zero).

Only the Lease holder registers revisions, scales and writes; a standby keeps its caches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from knpy.apis.autoscaling.annotations import KPA_CLASS
from knpy.apis.autoscaling.config import CONFIGMAP_NAME, AutoscalerConfig, parse_autoscaler_config
from knpy.apis.autoscaling.v1alpha1 import PodAutoscaler
from knpy.apis.autoscaling.v1alpha1.register import GROUP as AS_GROUP
from knpy.apis.autoscaling.v1alpha1.register import PODAUTOSCALERS as PA_PLURAL
from knpy.apis.autoscaling.v1alpha1.register import UNREACHABLE
from knpy.apis.autoscaling.v1alpha1.register import VERSION as AS_VERSION
from knpy.apis.networking.v1alpha1 import MODE_PROXY, MODE_SERVE, ServerlessService
from knpy.apis.networking.v1alpha1.register import GROUP as NET_GROUP
from knpy.apis.networking.v1alpha1.register import SERVERLESSSERVICES as SKS_PLURAL
from knpy.apis.networking.v1alpha1.register import VERSION as NET_VERSION
from knpy.autoscaler.deploymenttarget import ENDPOINTS, DeploymentScaleTarget
from knpy.autoscaler.lifecycle import Activation, Mode
from knpy.autoscaler.multiscaler import Multiscaler, Revision, RevisionSpec
from knpy.runtime.config import FieldError
from knpy.runtime.k8s import (
    Client,
    ConfigStore,
    Controller,
    Informer,
    Lister,
    PermanentError,
    Reconciler,
    Recorder,
    RequeueAfter,
    Resource,
    SkipKey,
)
from knpy.runtime.k8s.naming import child_name
from knpy.runtime.k8s.resources import Obj

__all__ = ["PODAUTOSCALERS", "SERVERLESSSERVICES", "ClusterScaler", "PodAutoscalerReconciler",
           "activator_in_path", "apply_status", "revision_spec", "sks_mode"]

log = logging.getLogger("knpy.autoscaler.cluster")

PODAUTOSCALERS = Resource(AS_GROUP, AS_VERSION, PA_PLURAL, "PodAutoscaler")
SERVERLESSSERVICES = Resource(NET_GROUP, NET_VERSION, SKS_PLURAL, "ServerlessService")
REVISION_LABEL = "serving.knative.dev/revision"
PRIVATE_SELECTOR = "networking.internal.knative.dev/serviceType=Private"
DEPLOYMENT_RECHECK = 2.0  # seconds between looks for a missing scale target

QUEUED = ("Queued", "Requests to the target are being buffered as resources are provisioned.")
NO_TRAFFIC = ("NoTraffic", "The target is not receiving traffic.")


# ---------------------------------------------------------------- pure
def revision_spec(pa: PodAutoscaler) -> RevisionSpec:
    """What the Multiscaler registers for a PA; SkipKey for another autoscaler's class."""
    if pa.autoscaler_class != KPA_CLASS:
        raise SkipKey(f"class {pa.autoscaler_class}")
    return RevisionSpec(pa.namespace, pa.name, dict(pa.annotations), pa.container_concurrency,
                        pa.reachability != UNREACHABLE)


def private_service_name(pa_name: str, sks: Obj | None) -> str:
    if sks is not None:
        name = ServerlessService(sks).status.private_service_name
        if name:
            return name
    return child_name(pa_name, "-private")  # the SKS reconciler's name for it


def sks_mode(rev: Revision) -> str:
    mode = rev.outcome.mode if rev.outcome is not None else rev.lifecycle.mode
    return MODE_PROXY if mode is Mode.PROXY else MODE_SERVE


def activator_in_path(sks: Obj | None) -> bool:
    """The SKS routes to the activator: Proxy mode, and its endpoints populated with it."""
    if sks is None:
        return False
    s = ServerlessService(sks)
    return s.mode == MODE_PROXY and s.status.proxy_for()


def apply_status(pa: PodAutoscaler, rev: Revision | None, sks: Obj | None) -> None:
    """The PA's status from the Multiscaler's view of the revision and from its SKS."""
    st = pa.status
    if sks is None:
        st.mark_sks_not_ready(f"SKS {pa.name} does not exist yet")
    else:
        s = ServerlessService(sks).status
        st.service_name = s.service_name
        st.metrics_service_name = s.private_service_name
        if s.is_ready():
            st.mark_sks_ready()
        else:
            st.mark_sks_not_ready("SKS Services are not ready yet")
    if rev is None:
        return
    out = rev.outcome
    if rev.lifecycle.initialized and st.service_name:
        st.mark_scale_target_initialized()
    activation = out.activation if out is not None else rev.lifecycle.activation
    if activation is Activation.ACTIVE:
        st.mark_active()
    elif activation is Activation.ACTIVATING:
        st.mark_activating(*QUEUED)
    else:
        st.mark_inactive(*NO_TRAFFIC)
    want = out.want if out is not None else -1
    st.set_scales(want if want >= 0 else None, len(rev.target.ready_pods()))


# ---------------------------------------------------------------- reconciler
class PodAutoscalerReconciler(Reconciler[PodAutoscaler]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 multiscaler: Multiscaler, sks: Lister, endpoints: Lister,
                 make_target: Callable[[str, str], DeploymentScaleTarget]) -> None:
        super().__init__(client, lister, PODAUTOSCALERS, PodAutoscaler, recorder,
                         name="podautoscaler")
        self.ms = multiscaler
        self.sks = sks
        self.endpoints = endpoints
        self.make_target = make_target

    async def on_deleted(self, key: str) -> None:
        await self.ms.unregister(key)

    async def reconcile_kind(self, pa: PodAutoscaler) -> None:
        spec = revision_spec(pa)
        ref = pa.scale_target_ref
        if ref.get("kind") != "Deployment" or not ref.get("name"):
            raise PermanentError(f"{pa.key}: scaleTargetRef {ref} is not a Deployment")
        sks = self.sks.get(pa.namespace, pa.name)
        rev = self.ms.revisions.get(spec.key)
        target = rev.target if rev is not None else None
        if not (isinstance(target, DeploymentScaleTarget)
                and target.deployment == ref["name"]):
            target = self.make_target(pa.namespace, ref["name"])
            if not await target.load():
                # Registering would scale a Deployment that is not there yet (the Revision
                # reconciler creates it): report and look again shortly.
                apply_status(pa, None, sks)
                pa.status.mark_activating("DeploymentMissing",
                                          f"Deployment {ref['name']} does not exist yet")
                raise RequeueAfter(DEPLOYMENT_RECHECK)
        target.set_endpoints(self.endpoints.get(pa.namespace,
                                                private_service_name(pa.name, sks)))
        if rev is None or rev.spec != spec or rev.target is not target:
            try:
                rev = await self.ms.register(spec, target)
            except FieldError as exc:
                raise PermanentError(f"{pa.key}: {exc}") from None
        if rev.lifecycle.would_activate(len(target.ready_pods())):
            # The pods it waited for are ready (this reconcile is their Endpoints' event):
            # decide now rather than at the next tick, up to a tick interval later, so the
            # PA, and with it the Revision and the Service, turn Ready as soon as the pods.
            await self.ms.decide(rev)
        apply_status(pa, rev, sks)
        mode = sks_mode(rev)
        if sks is not None and ServerlessService(sks).mode != mode:
            log.info("%s: SKS mode %s -> %s", pa.key, ServerlessService(sks).mode, mode)
            self.sks.observe(await self.client.patch(SERVERLESSSERVICES, pa.namespace,
                                                     pa.name, {"spec": {"mode": mode}}))


# ---------------------------------------------------------------- wiring
class ClusterScaler:
    """Informers (PAs, SKSs, private Endpoints, config-autoscaler) around one Multiscaler."""

    def __init__(self, client: Client, ms: Multiscaler, recorder: Recorder, *,
                 system_namespace: str, metrics_host: str | None = None,
                 workers: int = 2, watch_timeout: int = 300) -> None:
        self.client = client
        self.ms = ms
        wt = watch_timeout
        self.pas = Informer(client, PODAUTOSCALERS, watch_timeout=wt)
        self.skss = Informer(client, SERVERLESSSERVICES, watch_timeout=wt)
        self.eps = Informer(client, ENDPOINTS, label_selector=PRIVATE_SELECTOR,
                            watch_timeout=wt)
        self.config = ConfigStore(client, system_namespace,
                                  {CONFIGMAP_NAME: parse_autoscaler_config},
                                  on_change=self._config_changed)
        assert self.config.informer is not None
        self.config.informer.watch_timeout = wt
        self.reconciler = PodAutoscalerReconciler(
            client, self.pas.lister, recorder, multiscaler=ms, sks=self.skss.lister,
            endpoints=self.eps.lister,
            make_target=lambda ns, name: DeploymentScaleTarget(client, ns, name,
                                                               metrics_host=metrics_host))
        self.controller = Controller(self.reconciler, workers=workers)
        self.controller.watch(self.pas)
        self.controller.watch(self.skss)  # an SKS shares its PA's name
        self.controller.watch(self.eps, self._revision_keys)
        self.informers = [self.pas, self.skss, self.eps, self.config.informer]
        ms.on_decision = self._decided
        ms.activator_check = self._activator_check
        self._tasks: list[asyncio.Task[Any]] = []
        self._config_tasks: set[asyncio.Task[None]] = set()

    @staticmethod
    def _revision_keys(ep: Obj) -> list[str]:
        md = ep.get("metadata") or {}
        rev = (md.get("labels") or {}).get(REVISION_LABEL)
        return [f"{md.get('namespace')}/{rev}"] if rev else []

    def _decided(self, rev: Revision) -> None:
        # A decision may change the PA's status or its SKS's mode.
        if self.reconciler.is_leader:
            self.controller.enqueue_key(rev.spec.key)

    async def _activator_check(self, rev: Revision) -> bool:
        return activator_in_path(self.skss.lister.get(rev.spec.namespace, rev.spec.name))

    def _config_changed(self, _name: str, cfg: AutoscalerConfig) -> None:
        task = asyncio.create_task(self.ms.set_config(cfg), name="config-autoscaler")
        self._config_tasks.add(task)
        task.add_done_callback(self._config_tasks.discard)

    async def start_informers(self) -> None:
        """Run the informers and wait until each has listed once."""
        self._tasks += [asyncio.create_task(i.run(), name=f"informer-{i.resource.plural}")
                        for i in self.informers]
        await asyncio.gather(*(i.wait_synced() for i in self.informers))
        await self.ms.set_config(self.config.get(CONFIGMAP_NAME))
        self._tasks.append(asyncio.create_task(self.controller.run(), name="pa-controller"))
        log.info("informers synced: %d PodAutoscaler(s)", len(self.pas.lister))

    def promote(self) -> None:
        """Lead: decide, scale and write."""
        log.info("leading: scaling %d PodAutoscaler(s)", len(self.pas.lister))
        self.ms.start()
        self.controller.promote(self.pas.lister)

    async def demote(self) -> None:
        """Stand by: stop deciding and forget every revision (the next leader decides)."""
        self.controller.demote()
        await self.ms.close()

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, *self._config_tasks, return_exceptions=True)
