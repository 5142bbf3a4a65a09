"""The dispatcher's settlement rules against the test-only memory store and a real local
HTTP subscriber: retries through nak+delay, dead-lettering, redelivery after a crash."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from knpy.broker import admission, record, topology
from knpy.broker.dispatcher import Dispatcher, dead_letter_event
from knpy.broker.sender import Outcome, Sender
from knpy.broker.settings import Settings
from knpy.runtime import cloudevents as ce
from knpy.runtime.contract import eventing
from tests.support.memstore import MemoryStore
from tests.support.poll import eventually


class Subscriber:
    def __init__(self) -> None:
        self.calls: dict[str, list[web.Request]] = {}
        self.status: dict[str, list[int]] = {}
        self.hang_first = asyncio.Event()  # cleared: the first call hangs and sets it

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.setdefault(request.path, []).append(request)
        if request.path == "/hang" and not self.hang_first.is_set():
            self.hang_first.set()
            await asyncio.sleep(7)  # longer than the 0.2 s delivery timeout
        await request.read()
        script = self.status.get(request.path, [])
        return web.Response(status=script.pop(0) if script else 200)


@pytest.fixture
async def sub() -> AsyncIterator[tuple[Subscriber, str]]:
    s = Subscriber()
    app = web.Application()
    app.router.add_route("*", "/{p:.*}", s.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield s, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def run(contract_yaml: str, events: list[ce.CloudEvent], store: MemoryStore,
              settings: Settings) -> Dispatcher:
    contract = eventing.loads(contract_yaml)
    active = topology.active_triggers(contract, settings)
    await topology.ensure(store, contract, active)
    sender = Sender(settings.max_event_bytes)
    await sender.start()
    d = Dispatcher(store, sender, settings)
    await d.apply(active)
    for ev in events:
        await store.append("ns/b", record.encode(admission.admit(ev)))
    return d


def event(eid: str) -> ce.CloudEvent:
    return ce.make_event({"specversion": "1.0", "id": eid, "source": "/s", "type": "t"}, b"d")


async def test_retries_then_dead_letter(sub) -> None:
    s, base = sub
    s.status["/a"] = [500, 503, 500]
    settings = Settings(contract=Path("x"))
    store = MemoryStore()
    d = await run(f"""
brokers: [{{namespace: ns, name: b, delivery: {{retry: 2, backoffDelay: PT0.01S,
  deadLetterSink: "{base}/dls"}}}}]
triggers: [{{namespace: ns, name: t, broker: b, subscriber: "{base}/a"}}]
""", [event("e1")], store, settings)
    try:
        await eventually(lambda: len(s.calls.get("/dls", [])) == 1)
        assert len(s.calls["/a"]) == 3
        dls = s.calls["/dls"][0]
        assert dls.headers["ce-knativeerrorcode"] == "500"
        assert "ce-knativebrokerttl" not in dls.headers
    finally:
        await d.close()


async def test_unsettled_records_are_redelivered_after_a_crash(sub) -> None:
    s, base = sub
    settings = Settings(contract=Path("x"), delivery_timeout=0.2)
    store = MemoryStore()
    yaml = f"""
brokers: [{{namespace: ns, name: b}}]
triggers: [{{namespace: ns, name: t, broker: b, subscriber: "{base}/hang"}}]
"""
    d = await run(yaml, [event("e1")], store, settings)
    await s.hang_first.wait()
    await d.close()  # "crash": the delivery is abandoned without settlement
    d2 = await run(yaml, [], store, settings)
    try:
        # ack_wait (2 x 0.2 s timeout + 5 s) passes, then the store hands it out again
        await eventually(lambda: len(s.calls.get("/hang", [])) >= 2, 10)
    finally:
        await d2.close()


def test_dead_letter_event_truncates_error_data() -> None:
    out = Outcome(False, 500, b"x" * 5000)
    dls = dead_letter_event(event("1"), "http://sub/", out)
    import base64
    assert len(base64.b64decode(str(dls.attributes["knativeerrordata"]))) == 1024
    assert dls.attributes["knativeerrordest"] == "http://sub/"
    no_resp = dead_letter_event(event("1"), "http://sub/", Outcome(False, None))
    assert "knativeerrorcode" not in no_resp.attributes
