"""DomainMapping reconciler (Knative's reconciler/domainmapping): a custom domain for a
ksvc, a Route or any Addressable whose address is a Service of the same namespace.

Per DomainMapping: status.url/address `http://<domain>` (config-network
default-external-scheme); then, each step stopping at the first that fails:
1. DomainClaimed: the ClusterDomainClaim `<domain>` must name this namespace. None yet:
   created when config-network `autocreate-cluster-domain-claims` is true, else False
   `DomainClaimFailed`; one naming another namespace: False `DomainAlreadyClaimed` (the
   message names that namespace).
2. ReferenceResolved: spec.ref resolved to a URL by the eventing resolver (status.address.url
   of any Addressable, a v1 Service by name), which must be `{svc}.{ns}.svc.{cluster
   domain}` with no path; else False `ResolveFailed`. A change of the referenced object
   re-queues the DomainMapping (the resolver's tracker).
3. The KIngress `<domain>` (owned, domainmapping_resources.py); IngressReady follows its
   Ready once the gateway observed its generation.
CertificateProvisioned is True `TLSNotEnabled`. A deleted DomainMapping's claim is
deleted when the controller created claims (autocreate on) and the claim names its
namespace.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from knpy.apis.duck.destination import Destination, KReference
from knpy.apis.networking.config_network import NetworkConfig
from knpy.apis.serving.v1beta1 import DomainMapping
from knpy.controller.eventing.resolver import ResolveError, URIResolver
from knpy.controller.serving.domainmapping_resources import make_claim, make_ingress, target_of
from knpy.controller.serving.resources import (
    CLUSTERDOMAINCLAIMS,
    DOMAINMAPPINGS,
    INGRESSES,
    SPEC_HASH_ANNOTATION,
)
from knpy.runtime.k8s import ApiError, Client, Lister, PermanentError, Reconciler, Recorder
from knpy.runtime.k8s.children import sync_child

__all__ = ["DomainMappingConfig", "DomainMappingReconciler"]

# config-network, the cluster domain
DomainMappingConfig = tuple[NetworkConfig, str]


class DomainMappingReconciler(Reconciler[DomainMapping]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 claims: Lister, ingresses: Lister, resolver: URIResolver,
                 config: Callable[[], DomainMappingConfig]) -> None:
        super().__init__(client, lister, DOMAINMAPPINGS, DomainMapping, recorder,
                         name="domainmapping")
        self.claims, self.ingresses = claims, ingresses
        self.resolver = resolver
        self.config = config

    async def reconcile_kind(self, dm: DomainMapping) -> None:
        st = dm.status
        st.mark_tls_not_enabled()
        network, cluster_domain = self.config()
        st.set_url(f"{network.default_external_scheme}://{dm.name}")
        if not await self._claim(dm, network):
            return
        key = f"{dm.namespace}/{dm.name}"
        ref = KReference.from_dict(dm.ref)
        try:
            if ref is None:
                raise ResolveError("NoRef", "spec.ref is missing")
            url = await self.resolver.uri(Destination(ref=ref), dm.namespace, by=key)
            target = target_of(url, dm.namespace, cluster_domain)
        except (ResolveError, ValueError) as exc:
            st.mark_reference_not_resolved(str(exc))
            return
        st.mark_reference_resolved()
        try:
            ing = await sync_child(self.client, INGRESSES, self.ingresses, dm.raw,
                                   make_ingress(dm, target, network),
                                   hash_annotation=SPEC_HASH_ANNOTATION)
        except PermanentError:
            st.mark_ingress_not_owned(dm.name)
            raise
        status = ing.get("status") or {}
        generation = (ing.get("metadata") or {}).get("generation")
        if status.get("observedGeneration") is None or \
                status.get("observedGeneration") != generation:
            st.mark_ingress_not_configured()
        else:
            st.propagate_ingress_status(copy.deepcopy(status))

    async def _claim(self, dm: DomainMapping, network: NetworkConfig) -> bool:
        st = dm.status
        claim = self.claims.get(None, dm.name)
        if claim is None:
            if not network.autocreate_cluster_domain_claims:
                st.mark_domain_claim_failed(
                    f"No ClusterDomainClaim found for domain {dm.name!r} (config-network "
                    "autocreate-cluster-domain-claims is false)")
                return False
            try:
                claim = await self.client.create(CLUSTERDOMAINCLAIMS, make_claim(dm))
            except ApiError as exc:
                if not exc.already_exists:
                    st.mark_domain_claim_failed(f"failed to create ClusterDomainClaim: {exc}")
                    raise
                claim = await self.client.get(CLUSTERDOMAINCLAIMS, None, dm.name)
        owner = (claim.get("spec") or {}).get("namespace") or ""
        if owner != dm.namespace:
            st.mark_domain_claim_not_owned(owner)
            return False
        st.mark_domain_claimed()
        return True

    async def on_deleted(self, key: str) -> None:
        ns, _, name = key.partition("/")
        if self.resolver.tracker is not None:
            self.resolver.tracker.forget(key)
        network, _ = self.config()
        claim = self.claims.get(None, name)
        if (network.autocreate_cluster_domain_claims and claim is not None
                and (claim.get("spec") or {}).get("namespace") == ns):
            try:
                await self.client.delete(CLUSTERDOMAINCLAIMS, None, name)
            except ApiError as exc:
                if not exc.not_found:
                    raise
