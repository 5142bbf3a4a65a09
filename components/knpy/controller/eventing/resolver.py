"""Resolve a Destination to a URI: a ref to any Addressable (its status.address.url; a
Kubernetes Service by its cluster DNS name), with `uri` resolved relative to it."""

from __future__ import annotations

from knpy.apis.duck.delivery import DeliveryStatus
from knpy.apis.duck.destination import Destination, KReference, resolve_uri
from knpy.runtime.k8s import ApiError, Client, Discovery, Tracker

__all__ = ["ResolveError", "URIResolver", "resolve_dead_letter_sink"]


class ResolveError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class URIResolver:
    def __init__(self, client: Client, discovery: Discovery,
                 cluster_domain: str = "cluster.local", tracker: Tracker | None = None) -> None:
        self.client = client
        self.discovery = discovery
        self.cluster_domain = cluster_domain
        self.tracker = tracker

    async def uri(self, dest: Destination, namespace: str, by: str | None = None) -> str:
        """The URI of dest; with `by` (a queue key), a change of the referenced object
        re-queues that key."""
        if dest.ref is not None and by is not None:
            await self.track(dest.ref, namespace, by)
        base = await self.address(dest.ref, namespace) if dest.ref is not None else None
        out = resolve_uri(base, dest.uri)
        if not out:
            raise ResolveError("EmptyDestination", "destination has neither ref nor uri")
        return out

    async def track(self, ref: KReference, namespace: str, by: str) -> None:
        if self.tracker is not None:
            await self.tracker.track(ref.api_version, ref.kind, ref.namespace or namespace,
                                     ref.name, by)

    async def get(self, ref: KReference, namespace: str) -> dict:
        res = await self.discovery.resource_for(ref.api_version, ref.kind)
        if res is None:
            self.discovery.invalidate()  # the CRD may have been installed since
            res = await self.discovery.resource_for(ref.api_version, ref.kind)
        if res is None:
            raise ResolveError("KindNotServed", f"the API server does not serve "
                               f"{ref.kind} in {ref.api_version}")
        try:
            return await self.client.get(res, ref.namespace or namespace, ref.name)
        except ApiError as exc:
            if exc.not_found:
                raise ResolveError("NotFound", f"{ref.kind} {ref.name!r} not found in "
                                   f"namespace {ref.namespace or namespace!r}") from None
            raise

    async def address(self, ref: KReference, namespace: str) -> str:
        ns = ref.namespace or namespace
        if ref.kind == "Service" and ref.api_version == "v1":
            # A plain Service is addressable by name (Knative does the same); it must exist.
            await self.get(ref, namespace)
            return f"http://{ref.name}.{ns}.svc.{self.cluster_domain}"
        obj = await self.get(ref, namespace)
        url = ((obj.get("status") or {}).get("address") or {}).get("url")
        if not url:
            raise ResolveError("NotAddressable", f"{ref.kind} {ns}/{ref.name} does not have "
                               "an address (status.address.url) yet")
        return url


async def resolve_dead_letter_sink(resolver: URIResolver, status: DeliveryStatus,
                                   dls: Destination | None, namespace: str, by: str,
                                   failure: str) -> None:
    """status.deadLetterSinkUri and DeadLetterSinkResolved from `dls` (None: not set);
    `failure` is the condition's reason when it does not resolve."""
    if dls is None:
        status.mark_dead_letter_sink_not_configured()
        return
    try:
        status.mark_dead_letter_sink_resolved(await resolver.uri(dls, namespace, by))
    except ResolveError as exc:
        status.mark_dead_letter_sink_failed(failure, exc.message)
