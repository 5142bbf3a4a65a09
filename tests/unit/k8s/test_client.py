"""Client plumbing over a real socket: paths, verbs, query, errors and watch streaming,
against a small aiohttp stand-in (the real API server is the integration tier's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web

from knpy.runtime.k8s import CONFIGMAPS, CRDS, ApiError, Resource, connect
from knpy.runtime.k8s.client import env_proxy
from tests.support.procs import free_port

WIDGETS = Resource("example.dev", "v1", "widgets", "Widget")


def test_paths() -> None:
    assert CONFIGMAPS.path("ns", "a") == "/api/v1/namespaces/ns/configmaps/a"
    assert CONFIGMAPS.path() == "/api/v1/configmaps"
    assert WIDGETS.path("ns", "w", "status") == \
        "/apis/example.dev/v1/namespaces/ns/widgets/w/status"
    assert CRDS.path(None, "x") == "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x"


async def stand_in(tmp_path: Path, handle=None, name: str = "kubeconfig"):
    """An aiohttp stand-in for the API server and a kubeconfig naming it (token t0k):
    (kubeconfig path, port, requests seen as (method, url, headers), cleanup). `handle`
    answers; by default every request gets {"ok": true}."""
    seen: list[tuple[str, str, dict]] = []

    async def record(request: web.Request) -> web.StreamResponse:
        seen.append((request.method, str(request.url), dict(request.headers)))
        return await handle(request) if handle else web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    path = tmp_path / name
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t0k"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}]}))
    return path, port, seen, runner.cleanup


async def test_a_netrc_entry_for_the_server_does_not_touch_requests(tmp_path, monkeypatch
                                                                   ) -> None:
    """The environment is read once at connect: aiohttp would otherwise look up ~/.netrc
    on every request, and with an entry for the API server add Basic auth next to the
    bearer token (a request it refuses to send)."""
    kubeconfig, _, seen, cleanup = await stand_in(tmp_path)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    client = await connect(str(kubeconfig))
    try:
        assert (await client.get(CONFIGMAPS, "ns", "a"))["ok"]
    finally:
        await client.close()
        await cleanup()
    assert seen[0][2]["Authorization"] == "Bearer t0k"


async def test_the_proxy_comes_from_the_environment_read_once(tmp_path, monkeypatch) -> None:
    kubeconfig, api_port, api_seen, api_cleanup = await stand_in(tmp_path)
    _, proxy_port, proxied, proxy_cleanup = await stand_in(tmp_path, name="unused")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = await connect(str(kubeconfig))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # too late: read at connect
    try:
        assert (await client.get(CONFIGMAPS, "ns", "a"))["ok"]
    finally:
        await client.close()
        await api_cleanup()
        await proxy_cleanup()
    assert [url for _, url, *_ in proxied] == [
        f"http://127.0.0.1:{api_port}/api/v1/namespaces/ns/configmaps/a"]
    assert api_seen == []


def test_env_proxy(monkeypatch) -> None:
    for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY",
              "no_proxy"):
        monkeypatch.delenv(k, raising=False)
    assert env_proxy("https://10.96.0.1:443") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert env_proxy("https://10.96.0.1:443") == "http://proxy.example:3128"
    assert env_proxy("http://10.96.0.1") is None, "HTTPS_PROXY is for https only"
    monkeypatch.setenv("NO_PROXY", "10.96.0.1,.cluster.local")
    assert env_proxy("https://10.96.0.1:443") is None
    assert env_proxy("https://kubernetes.default.svc.cluster.local") is None
    assert env_proxy("https://api.example.com:6443") == "http://proxy.example:3128"


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

    kubeconfig, _, _, cleanup = await stand_in(tmp_path, handle)
    client = await connect(str(kubeconfig), user_agent="knpy-test/1")
    yield client, seen
    await client.close()
    await cleanup()


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
