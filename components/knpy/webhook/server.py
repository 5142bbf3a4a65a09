"""The HTTPS server: POST /defaulting and /validation take AdmissionReview v1; GET /healthz.

Bad requests (not JSON, not an AdmissionReview) get a 400 with the reason; a handler crash
gets a review that denies with the error, so nothing is admitted unchecked.
"""

from __future__ import annotations

import json
import logging
import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from knpy.webhook.admission import Handlers, default_review, validate_review
from knpy.webhook.certs import CertBundle

__all__ = ["load_bundle", "make_app", "ssl_context"]

log = logging.getLogger("knpy.webhook")


def ssl_context(bundle: CertBundle) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    load_bundle(ctx, bundle)
    return ctx


def load_bundle(ctx: ssl.SSLContext, bundle: CertBundle) -> None:
    """(Re)load the serving cert into ctx: connections made afterwards present it."""
    with tempfile.TemporaryDirectory() as d:
        cert, key = Path(d, "tls.crt"), Path(d, "tls.key")
        cert.write_bytes(bundle.cert_pem)
        key.write_bytes(bundle.key_pem)
        key.chmod(0o600)
        ctx.load_cert_chain(cert, key)


def make_app(handlers: Callable[[], Handlers]) -> web.Application:
    async def review(request: web.Request,
                     fn: Callable[[dict[str, Any], Handlers], dict[str, Any]]) -> web.Response:
        try:
            body = await request.json(loads=json.loads)
        except ValueError as exc:
            return web.json_response({"error": f"body is not JSON: {exc}"}, status=400)
        try:
            out = fn(body, handlers())
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except Exception as exc:  # deny rather than admit unchecked
            log.exception("admission handler failed")
            uid = (body.get("request") or {}).get("uid", "")
            out = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                   "response": {"uid": uid, "allowed": False,
                                "status": {"code": 500, "message": f"webhook error: {exc}"}}}
        return web.json_response(out)

    async def validation(request: web.Request) -> web.Response:
        return await review(request, validate_review)

    async def defaulting(request: web.Request) -> web.Response:
        return await review(request, default_review)

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(client_max_size=3 * 1024 * 1024)
    app.router.add_post("/validation", validation)
    app.router.add_post("/defaulting", defaulting)
    app.router.add_get("/healthz", healthz)
    return app
