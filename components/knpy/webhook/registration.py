"""Keep the webhook configurations trusting our CA, and the cert Secret current.

Level-triggered, like a reconciler: on start and then periodically, the named
Validating/MutatingWebhookConfigurations get `clientConfig.caBundle` = our CA on every
webhook entry (only written when different), and the Secret is created or rotated.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
from collections.abc import Callable

from knpy.runtime.k8s import MUTATING_WEBHOOKS, SECRETS, VALIDATING_WEBHOOKS, ApiError, Client
from knpy.webhook.certs import CertBundle, generate

__all__ = ["CertKeeper", "ensure_ca_bundle", "load_or_create_certs"]

log = logging.getLogger("knpy.webhook.registration")


async def load_or_create_certs(client: Client, namespace: str, secret: str,
                               sans: list[str]) -> CertBundle:
    """The bundle in the Secret, or a new one written there (rotated when expiring or
    when the SANs changed). Replicas racing to create it converge on the winner's."""
    try:
        obj = await client.get(SECRETS, namespace, secret)
    except ApiError as exc:
        if not exc.not_found:
            raise
        obj = None
    current = CertBundle.from_secret_data((obj or {}).get("data") or {}) if obj else None
    if current is not None and not current.needs_renewal(sans):
        return current
    fresh = generate(sans)
    if obj is None:
        body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": secret, "namespace": namespace},
                "data": fresh.to_secret_data()}
        try:
            await client.create(SECRETS, body)
        except ApiError as exc:
            if exc.already_exists:
                return await load_or_create_certs(client, namespace, secret, sans)
            raise
    else:
        obj["data"] = fresh.to_secret_data()
        await client.update(SECRETS, obj)  # 409 -> caller retries and reads the winner's
    log.info("webhook certificate %s/%s issued for %s", namespace, secret, sans)
    return fresh


async def ensure_ca_bundle(client: Client, ca_pem: bytes, *, validating: list[str],
                           mutating: list[str]) -> int:
    """Set caBundle on every webhook of the named configurations; returns how many were
    updated. Missing configurations are skipped (the chart may not have created them yet)."""
    want = base64.b64encode(ca_pem).decode()
    updated = 0
    for res, names in ((VALIDATING_WEBHOOKS, validating), (MUTATING_WEBHOOKS, mutating)):
        for name in names:
            try:
                cfg = await client.get(res, None, name)
            except ApiError as exc:
                if exc.not_found:
                    continue
                raise
            changed = False
            for hook in cfg.get("webhooks") or []:
                cc = hook.setdefault("clientConfig", {})
                if cc.get("caBundle") != want:
                    cc["caBundle"] = want
                    changed = True
            if changed:
                await client.update(res, cfg)
                updated += 1
                log.info("caBundle set on %s %s", res.kind, name)
    return updated


class CertKeeper:
    """Keeps this replica's serving certificate equal to the Secret's (rotating it when due)
    and the webhook configurations trusting it.

    When the bundle changes (this replica rotated it, or another one did), the SSL context is
    reloaded in place, so new connections present the new certificate. The caBundle then
    lists the new CA and the previous one, so replicas still serving the old certificate
    stay trusted until they catch up, one resync later.
    """

    def __init__(self, client: Client, namespace: str, secret: str, sans: list[str],
                 bundle: CertBundle, reload: Callable[[CertBundle], None], *,
                 validating: list[str], mutating: list[str]) -> None:
        self.client = client
        self.namespace, self.secret, self.sans = namespace, secret, sans
        self.bundle = bundle
        self.previous_ca: bytes | None = None
        self.reload = reload
        self.validating, self.mutating = validating, mutating

    def ca_bundle(self) -> bytes:
        prev = self.previous_ca
        if prev and prev != self.bundle.ca_pem:
            return self.bundle.ca_pem + prev
        return self.bundle.ca_pem

    async def sync(self) -> None:
        fresh = await load_or_create_certs(self.client, self.namespace, self.secret, self.sans)
        if fresh != self.bundle:
            self.previous_ca = self.bundle.ca_pem
            self.bundle = fresh
            self.reload(fresh)
            log.info("serving certificate reloaded (valid until %s)", fresh.not_after)
        await ensure_ca_bundle(self.client, self.ca_bundle(), validating=self.validating,
                               mutating=self.mutating)

    async def run(self, every: float) -> None:
        while True:
            try:
                await self.sync()
            except (ApiError, OSError, ssl.SSLError, ValueError) as exc:
                log.warning("certificate/caBundle reconcile failed: %s", exc)
            await asyncio.sleep(every)
