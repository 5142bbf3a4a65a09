"""Table tests for the DomainMapping reconciler: the domain claim, the ref resolved to a
Service of its namespace, the KIngress for the custom host, and the status."""

from __future__ import annotations

import copy

import pytest

from knpy.apis.networking.config_network import parse_network_config
from knpy.controller.eventing.resolver import URIResolver
from knpy.controller.serving.domainmapping import DomainMappingReconciler
from knpy.controller.serving.resources import (
    CLUSTERDOMAINCLAIMS,
    DOMAINMAPPINGS,
    INGRESSES,
    KSERVICES,
    SPEC_HASH_ANNOTATION,
)
from knpy.runtime.k8s import Discovery, Lister
from knpy.runtime.k8s.naming import spec_hash
from knpy.runtime.k8s.testing import Row, World, run_row

DOMAIN = "hello.example.org"
CLASS = "networking.knative.dev/ingress.class"
TLS_OFF = ("True", "TLSNotEnabled", "external-domain-tls is not enabled")
NO_INGRESS = ("Unknown", "IngressNotConfigured", "Ingress has not yet been reconciled.")
OWNER = {"apiVersion": "serving.knative.dev/v1beta1", "kind": "DomainMapping", "name": DOMAIN,
         "uid": "dm-uid", "controller": True, "blockOwnerDeletion": True}
REF = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "hello",
       "namespace": "ns"}


def conds(**statuses: str | tuple[str, str, str]) -> list[dict]:
    return [{"type": t, "status": v} if isinstance(v, str) else
            {"type": t, "status": v[0], "reason": v[1], "message": v[2]}
            for t, v in sorted(statuses.items())]


def dm(ns: str = "ns") -> dict:
    return {"apiVersion": "serving.knative.dev/v1beta1", "kind": "DomainMapping",
            "metadata": {"name": DOMAIN, "namespace": ns, "uid": "dm-uid", "generation": 1},
            "spec": {"ref": {**REF, "namespace": ns}}}


def ksvc(url: str = "http://hello.ns.svc.cluster.local") -> dict:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": "hello", "namespace": "ns"},
            "status": {"address": {"url": url}}}


def claim(ns: str = "ns") -> dict:
    return {"apiVersion": "networking.internal.knative.dev/v1alpha1",
            "kind": "ClusterDomainClaim", "metadata": {"name": DOMAIN},
            "spec": {"namespace": ns}}


def ingress(status: dict | None = None) -> dict:
    spec = {"httpOption": "Enabled", "rules": [{
        "hosts": [DOMAIN], "visibility": "ExternalIP",
        "http": {"paths": [{"rewriteHost": "hello.ns.svc.cluster.local", "splits": [{
            "serviceName": "hello", "serviceNamespace": "ns", "servicePort": 80,
            "percent": 100, "appendHeaders": {"K-Original-Host": DOMAIN}}]}]}}]}
    md = {"name": DOMAIN, "namespace": "ns", "ownerReferences": [OWNER],
          "labels": {"serving.knative.dev/domainMappingUID": "dm-uid",
                     "serving.knative.dev/domainMappingNamespace": "ns"},
          "annotations": {CLASS: "knpy.ingress.networking.knative.dev",
                          SPEC_HASH_ANNOTATION: spec_hash(spec)}}
    o = {"apiVersion": "networking.internal.knative.dev/v1alpha1", "kind": "Ingress",
         "metadata": md, "spec": spec}
    if status is not None:
        o["metadata"]["generation"] = 1
        o["status"] = status
    return o


def status(**c: str | tuple[str, str, str]) -> dict:
    return {"observedGeneration": 1, "url": f"http://{DOMAIN}",
            "address": {"url": f"http://{DOMAIN}"},
            "conditions": conds(CertificateProvisioned=TLS_OFF, **c)}


def with_status(o: dict, st: dict) -> dict:
    return {**copy.deepcopy(o), "status": st}


def factory(autocreate: bool = True):
    def make(world: World) -> DomainMappingReconciler:
        d = Discovery(world.client)
        d.register(KSERVICES)
        return DomainMappingReconciler(
            world.client, world.listers.setdefault("domainmappings", Lister(DOMAINMAPPINGS)),
            world.recorder,
            claims=world.listers.setdefault("clusterdomainclaims", Lister(CLUSTERDOMAINCLAIMS)),
            ingresses=world.listers.setdefault("ingresses", Lister(INGRESSES)),
            resolver=URIResolver(world.client, d),
            config=lambda: (parse_network_config(
                {"autocreate-cluster-domain-claims": str(autocreate).lower()}), "cluster.local"))
    return make


ALREADY = ("False", "DomainAlreadyClaimed",
           "The domain name is already in use by another DomainMapping (ClusterDomainClaim "
           "for namespace 'other')")
NO_CLAIM = ("False", "DomainClaimFailed",
            f"No ClusterDomainClaim found for domain {DOMAIN!r} (config-network "
            "autocreate-cluster-domain-claims is false)")
NOT_A_SERVICE = ("False", "ResolveFailed",
                 "resolved URI 'http://hello.example.com' must be of the form "
                 "{name}.{namespace}.svc.cluster.local in namespace 'ns'")
READY_ING = {"observedGeneration": 1, "conditions": conds(
    LoadBalancerReady="True", NetworkConfigured="True", Ready="True")}

ROWS = [
    (Row("no claim, autocreate on: claim and KIngress created, waits for the gateway",
         key=f"ns/{DOMAIN}", objects=[(DOMAINMAPPINGS, dm()), (KSERVICES, ksvc())],
         want_creates=[claim(), ingress()],
         want_status_updates=[with_status(dm(), status(
             DomainClaimed="True", ReferenceResolved="True", IngressReady=NO_INGRESS,
             Ready=NO_INGRESS))]), True),
    (Row("no claim, autocreate off: DomainClaimFailed",
         key=f"ns/{DOMAIN}", objects=[(DOMAINMAPPINGS, dm()), (KSERVICES, ksvc())],
         want_status_updates=[with_status(dm(), status(
             DomainClaimed=NO_CLAIM, ReferenceResolved="Unknown", IngressReady="Unknown",
             Ready=NO_CLAIM))]), False),
    (Row("the domain is claimed by another namespace: DomainAlreadyClaimed naming it",
         key=f"ns/{DOMAIN}", objects=[(DOMAINMAPPINGS, dm()), (KSERVICES, ksvc()),
                                      (CLUSTERDOMAINCLAIMS, claim("other"))],
         want_status_updates=[with_status(dm(), status(
             DomainClaimed=ALREADY, ReferenceResolved="Unknown", IngressReady="Unknown",
             Ready=ALREADY))]), True),
    (Row("a ref whose address is not a Service of the namespace: ResolveFailed",
         key=f"ns/{DOMAIN}", objects=[(DOMAINMAPPINGS, dm()), (CLUSTERDOMAINCLAIMS, claim()),
                                      (KSERVICES, ksvc("http://hello.example.com"))],
         want_status_updates=[with_status(dm(), status(
             DomainClaimed="True", ReferenceResolved=NOT_A_SERVICE, IngressReady="Unknown",
             Ready=NOT_A_SERVICE))]), True),
    (Row("the gateway routes the KIngress's generation: Ready",
         key=f"ns/{DOMAIN}", objects=[(DOMAINMAPPINGS, dm()), (CLUSTERDOMAINCLAIMS, claim()),
                                      (KSERVICES, ksvc()), (INGRESSES, ingress(READY_ING))],
         want_status_updates=[with_status(dm(), status(
             DomainClaimed="True", ReferenceResolved="True", IngressReady="True",
             Ready="True"))]), True),
]


@pytest.mark.parametrize(("row", "autocreate"), ROWS, ids=lambda r: getattr(r, "name", ""))
async def test_domainmapping(row: Row, autocreate: bool) -> None:
    await run_row(row, factory(autocreate))


async def test_a_deleted_mapping_frees_its_claim_only_when_claims_are_autocreated() -> None:
    for autocreate, deletes in ((True, [f"clusterdomainclaims/None/{DOMAIN}"]), (False, [])):
        await run_row(Row("deleted", key=f"ns/{DOMAIN}",
                          objects=[(CLUSTERDOMAINCLAIMS, claim())], want_deletes=deletes),
                      factory(autocreate))
    # another namespace's claim stays
    await run_row(Row("deleted, claim not ours", key=f"ns/{DOMAIN}",
                      objects=[(CLUSTERDOMAINCLAIMS, claim("other"))]), factory(True))
