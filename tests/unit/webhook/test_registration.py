"""Certificate Secret lifecycle and caBundle upkeep (against FakeClient)."""

from __future__ import annotations

import base64

from knpy.runtime.k8s import SECRETS, VALIDATING_WEBHOOKS
from knpy.runtime.k8s.testing import FakeClient
from knpy.webhook.certs import CertBundle, generate
from knpy.webhook.registration import CertKeeper, load_or_create_certs

SANS = ["knpy-webhook.sys.svc", "127.0.0.1"]


def vwc(name: str) -> dict:
    return {"metadata": {"name": name},
            "webhooks": [{"name": "a", "clientConfig": {"url": "https://127.0.0.1/v"}},
                         {"name": "b", "clientConfig": {"url": "https://127.0.0.1/v"}}]}


async def test_secret_created_then_reused_and_rotated_when_sans_change() -> None:
    c = FakeClient()
    first = await load_or_create_certs(c, "sys", "certs", SANS)
    assert [a.verb for a in c.writes()] == ["create"]
    again = await load_or_create_certs(c, "sys", "certs", SANS)
    assert again == first and len(c.writes()) == 1, "a valid Secret is reused"
    rotated = await load_or_create_certs(c, "sys", "certs", [*SANS, "new.name"])
    assert rotated != first and c.writes()[-1].verb == "update"
    assert "new.name" in rotated.sans()


async def test_keeper_sets_ca_bundle_and_follows_a_rotation_by_another_replica() -> None:
    c = FakeClient()
    c.seed(VALIDATING_WEBHOOKS, vwc("v"))
    bundle = await load_or_create_certs(c, "sys", "certs", SANS)
    reloaded: list[CertBundle] = []
    keeper = CertKeeper(c, "sys", "certs", SANS, bundle, reloaded.append,
                        validating=["v", "missing-is-skipped"], mutating=[])
    await keeper.sync()
    hooks = c.store[("validatingwebhookconfigurations", None, "v")]["webhooks"]
    assert {base64.b64decode(h["clientConfig"]["caBundle"]) for h in hooks} == {bundle.ca_pem}
    writes = len(c.writes())
    await keeper.sync()
    assert len(c.writes()) == writes, "nothing written when already current"

    other = generate(SANS)  # another replica rotated the Secret
    secret = c.store[("secrets", "sys", "certs")]
    secret["data"] = other.to_secret_data()
    await keeper.sync()
    assert reloaded == [other] and keeper.bundle == other
    hooks = c.store[("validatingwebhookconfigurations", None, "v")]["webhooks"]
    ca = base64.b64decode(hooks[0]["clientConfig"]["caBundle"])
    assert ca == other.ca_pem + bundle.ca_pem, "old CA kept while replicas catch up"
    assert CertBundle.from_secret_data(
        c.store[(SECRETS.plural, "sys", "certs")]["data"]) == other
