"""Client plumbing over a real socket: paths, verbs, query, errors and watch streaming,
against a small aiohttp stand-in (the real API server is the integration tier's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web

from knpy.runtime.k8s import CONFIGMAPS, CRDS, ApiError, Resource, connect
from tests.support.procs import free_port

WIDGETS = Resource("example.dev", "v1", "widgets", "Widget")


def test_paths() -> None:
    assert CONFIGMAPS.path("ns", "a") == "/api/v1/namespaces/ns/configmaps/a"
    assert CONFIGMAPS.path() == "/api/v1/configmaps"
    assert WIDGETS.path("ns", "w", "status") == \
        "/apis/example.dev/v1/namespaces/ns/widgets/w/status"
    assert CRDS.path(None, "x") == "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x"


@pytest.fixture
async def server(tmp_path: Path):
    seen: list[tuple[str, str, dict, object]] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        seen.append((request.method, request.path, dict(request.query), body))
        if request.query.get("watch") == "true":
            resp = web.StreamResponse(headers={"Content-Type": "application/json"})
            await resp.prepare(request)
            for ev in ({"type": "ADDED", "object": {"metadata": {"name": "a",
                                                                  "resourceVersion": "5"}}},
                       {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "9"}}}):
                line = json.dumps(ev).encode() + b"\n"
                await resp.write(line[:7])  # split across chunks on purpose
                await resp.write(line[7:])
            return resp
        if request.path.endswith("/missing"):
            return web.json_response({"kind": "Status", "reason": "NotFound",
                                      "message": 'configmaps "missing" not found',
                                      "code": 404}, status=404)
        if request.path.endswith("/old") and request.method == "GET":
            return web.json_response({"kind": "Status", "reason": "Expired", "code": 410},
                                     status=410)
        return web.json_response({"ok": True, "echo": body})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t0k"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}]}))
    client = await connect(str(kubeconfig), user_agent="knpy-test/1")
    yield client, seen
    await client.close()
    await runner.cleanup()


async def test_verbs_and_errors(server) -> None:
    client, seen = server
    assert (await client.get(CONFIGMAPS, "ns", "a"))["ok"]
    await client.list(CONFIGMAPS, "ns", label_selector="x=y", limit=2)
    await client.create(CONFIGMAPS, {"metadata": {"name": "b", "namespace": "ns"}})
    await client.update_status(WIDGETS, {"metadata": {"name": "w", "namespace": "ns"},
                                         "status": {"s": 1}})
    await client.patch(CONFIGMAPS, "ns", "a", {"data": {"k": "v"}})
    with pytest.raises(ApiError) as ei:
        await client.get(CONFIGMAPS, "ns", "missing")
    assert ei.value.not_found and ei.value.message == 'configmaps "missing" not found'
    with pytest.raises(ApiError) as ei:
        await client.get(CONFIGMAPS, "ns", "old")
    assert ei.value.gone
    assert [(m, p) for m, p, _, _ in seen] == [
        ("GET", "/api/v1/namespaces/ns/configmaps/a"),
        ("GET", "/api/v1/namespaces/ns/configmaps"),
        ("POST", "/api/v1/namespaces/ns/configmaps"),
        ("PUT", "/apis/example.dev/v1/namespaces/ns/widgets/w/status"),
        ("PATCH", "/api/v1/namespaces/ns/configmaps/a"),
        ("GET", "/api/v1/namespaces/ns/configmaps/missing"),
        ("GET", "/api/v1/namespaces/ns/configmaps/old")]
    assert seen[1][2] == {"labelSelector": "x=y", "limit": "2"}
    assert seen[3][3] == {"metadata": {"name": "w", "namespace": "ns"}, "status": {"s": 1}}


async def test_watch_streams_lines_split_across_chunks(server) -> None:
    client, seen = server
    events = [ev async for ev in client.watch(CONFIGMAPS, "ns", "3", timeout_seconds=5)]
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    assert seen[-1][2] == {"watch": "true", "resourceVersion": "3",
                           "allowWatchBookmarks": "true", "timeoutSeconds": "5"}
