"""A small unstructured client over kubernetes_asyncio's ApiClient.

Objects are plain dicts, so one code path serves every kind (CRDs included) and the
objects round-trip unknown fields untouched. kubernetes_asyncio supplies kubeconfig /
in-cluster loading, auth and TLS; this class only shapes paths and decodes JSON.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from kubernetes_asyncio import client as kclient
from kubernetes_asyncio import config as kconfig

from knpy.runtime.k8s.errors import ApiError
from knpy.runtime.k8s.resources import Obj, Resource

__all__ = ["Client", "connect"]

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class Client:
    """get/list/watch/create/update/update_status/patch/delete on any Resource."""

    def __init__(self, api: kclient.ApiClient) -> None:
        self.api = api

    async def close(self) -> None:
        await self.api.close()

    async def request(self, method: str, path: str, *, query: dict[str, Any] | None = None,
                      body: object = None, content_type: str = "application/json",
                      request_timeout: float | None = 30.0) -> Any:
        resp = await self._send(method, path, query, body, content_type, request_timeout)
        try:
            raw = await resp.read()
            if resp.status >= 300:
                raise ApiError.from_response(resp.status, resp.reason or "", raw)
            return json.loads(raw) if raw else None
        finally:
            resp.release()

    async def _send(self, method: str, path: str, query: dict[str, Any] | None, body: object,
                    content_type: str, request_timeout: float | aiohttp.ClientTimeout | None
                    ) -> aiohttp.ClientResponse:
        q = [(k, _qv(v)) for k, v in (query or {}).items() if v is not None]
        # kubernetes_asyncio json-encodes the body itself for any *json content type.
        return await self.api.call_api(
            path, method, query_params=q,
            header_params={"Content-Type": content_type, "Accept": "application/json"},
            body=body, auth_settings=["BearerToken"], _preload_content=False,
            _request_timeout=request_timeout)

    # ------------------------------------------------------------------ verbs
    async def get(self, res: Resource, namespace: str | None, name: str) -> Obj:
        return await self.request("GET", res.path(namespace, name))

    async def list(self, res: Resource, namespace: str | None = None, *,
                   label_selector: str | None = None, field_selector: str | None = None,
                   resource_version: str | None = None, limit: int | None = None,
                   continue_: str | None = None) -> Obj:
        return await self.request("GET", res.path(namespace), query={
            "labelSelector": label_selector, "fieldSelector": field_selector,
            "resourceVersion": resource_version, "limit": limit, "continue": continue_})

    async def create(self, res: Resource, obj: Obj) -> Obj:
        ns = (obj.get("metadata") or {}).get("namespace")
        return await self.request("POST", res.path(ns), body=obj)

    async def update(self, res: Resource, obj: Obj) -> Obj:
        md = obj["metadata"]
        return await self.request("PUT", res.path(md.get("namespace"), md["name"]), body=obj)

    async def update_status(self, res: Resource, obj: Obj) -> Obj:
        """PUT to /status: only .status is written; resourceVersion guards conflicts."""
        md = obj["metadata"]
        return await self.request("PUT", res.path(md.get("namespace"), md["name"], "status"),
                                  body=obj)

    async def patch(self, res: Resource, namespace: str | None, name: str, patch: object,
                    *, content_type: str = MERGE_PATCH, subresource: str | None = None) -> Obj:
        return await self.request("PATCH", res.path(namespace, name, subresource), body=patch,
                                  content_type=content_type)

    async def delete(self, res: Resource, namespace: str | None, name: str) -> None:
        await self.request("DELETE", res.path(namespace, name))

    async def watch(self, res: Resource, namespace: str | None, resource_version: str, *,
                    timeout_seconds: int = 300, label_selector: str | None = None,
                    field_selector: str | None = None) -> AsyncIterator[Obj]:
        """Stream watch events ({"type", "object"}) from resource_version, with bookmarks.

        Raises ApiError(410) when that version is too old, so the caller relists. A
        410 that arrives as an ERROR event in the stream is yielded as-is.
        """
        query = {"watch": "true", "resourceVersion": resource_version,
                 "allowWatchBookmarks": "true", "timeoutSeconds": timeout_seconds,
                 "labelSelector": label_selector, "fieldSelector": field_selector}
        resp = await self._send("GET", res.path(namespace), query, None, "application/json",
                                aiohttp.ClientTimeout(total=timeout_seconds + 30,
                                                      sock_read=timeout_seconds + 30))
        try:
            if resp.status >= 300:
                raise ApiError.from_response(resp.status, resp.reason or "", await resp.read())
            buf = b""
            async for chunk in resp.content.iter_any():
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
        finally:
            resp.release()


def _qv(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


async def connect(kubeconfig: str | None = None, *, user_agent: str | None = None) -> Client:
    """A Client from the given kubeconfig, else $KUBECONFIG, else in-cluster config.

    user_agent names the writer: the API server records it as the field manager
    (managedFields), which is how one tells which replica wrote what."""
    cfg = kclient.Configuration()
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if path:
        await kconfig.load_kube_config(config_file=path, client_configuration=cfg)
    else:
        kconfig.load_incluster_config(client_configuration=cfg)
    if not cfg.proxy:
        cfg.proxy = env_proxy(cfg.host or "")
    api = kclient.ApiClient(configuration=cfg)
    # kubernetes_asyncio's session trusts the environment, so aiohttp looks for ~/.netrc (in
    # a thread-pool hop) and re-reads the proxy variables on every request: about a sixth
    # of the controller's busy samples in a 20-ksvc storm. The proxy is read once above, as
    # client-go reads it; a bearer token or client certificate is the only credential.
    api.rest_client.pool_manager._trust_env = False
    if user_agent:
        api.user_agent = user_agent
    return Client(api)


def env_proxy(server: str) -> str | None:
    """The proxy for the API server from HTTPS_PROXY / HTTP_PROXY and NO_PROXY (either
    case), None for none."""
    parts = urlsplit(server)
    if not parts.hostname or urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)
