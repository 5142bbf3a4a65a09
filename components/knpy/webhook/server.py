"""The HTTPS server: POST /defaulting and /validation take AdmissionReview v1; GET /healthz.
Each review is counted and timed (`AdmissionMetrics`, served on --metrics-port).

Bad requests (not JSON, not an AdmissionReview) get a 400 with the reason; a handler crash
gets a review that denies with the error, so nothing is admitted unchecked.

Served over TLS by the proxy core's `AppServer` (`knpy.runtime.proxy.app`), so the core's
request-head limit (431), head timeout (408), in-order pipelining and drain hold here as on
every other listener. The serving certificate is loaded into one `ssl.SSLContext`, which a
rotation reloads in place (`load_bundle`): new handshakes present the new certificate.
"""

from __future__ import annotations

import json
import logging
import ssl
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from knpy.runtime.observability.metrics import Registry
from knpy.runtime.proxy import ProxyOptions
from knpy.runtime.proxy.app import AppServer, Request, method_not_allowed, not_found
from knpy.webhook.admission import Handlers, default_review, validate_review
from knpy.webhook.certs import CertBundle

__all__ = ["Admission", "load_bundle", "make_server", "ssl_context"]

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


_JSON = b"application/json; charset=utf-8"
_POST = frozenset({b"POST"})
_GET = frozenset({b"GET", b"HEAD"})
Review = Callable[[dict[str, Any], Handlers], dict[str, Any]]
_REVIEWS: dict[bytes, Review] = {b"/validation": validate_review,
                                 b"/defaulting": default_review}


class AdmissionMetrics:
    """Reviews by webhook (`validation`/`defaulting`), verdict (`allowed` true/false, empty
    for a 400) and response code, and their durations by webhook. Labels never come from
    the request body, so a caller cannot grow them."""

    def __init__(self) -> None:
        self.registry = reg = Registry()
        self.requests = reg.counter("webhook_admission_requests_total",
                                    "AdmissionReviews answered",
                                    ("webhook", "allowed", "response_code"))
        self.durations = reg.histogram("webhook_admission_duration_seconds",
                                       "Time to decode, review and encode one review",
                                       ("webhook",))

    def observe(self, path: bytes, status: int, out: dict[str, Any], seconds: float) -> None:
        webhook = path.decode()[1:]
        resp = out.get("response")
        allowed = "" if not isinstance(resp, dict) else str(bool(resp.get("allowed"))).lower()
        self.requests.labels(webhook, allowed, str(status)).value += 1
        self.durations.labels(webhook).observe(seconds)

    def render(self) -> bytes:
        return self.registry.render()


class Admission:
    """The endpoints, served as a `runtime.proxy.app.App`."""

    def __init__(self, handlers: Callable[[], Handlers],
                 metrics: AdmissionMetrics | None = None, tracer: Any | None = None) -> None:
        self.handlers = handlers
        self.metrics = metrics or AdmissionMetrics()
        self.tracer: Any = tracer  # an otelops.OperationTracer; None: tracing off

    def head(self, req: Request) -> None:
        path = req.path()
        if path in _REVIEWS:
            if req.method != b"POST":
                method_not_allowed(req, _POST)
        elif path == b"/healthz":
            if req.method in _GET:
                req.reply(200, b"ok")
            else:
                method_not_allowed(req, _GET)
        else:
            not_found(req)

    async def respond(self, req: Request) -> None:
        t0 = time.monotonic()
        path = req.path()
        span = None if self.tracer is None else self._start_span(req, path)
        status, out = self.review(req.payload(), _REVIEWS[path], span)
        body = json.dumps(out).encode()
        self.metrics.observe(path, status, out, time.monotonic() - t0)
        if span is not None:
            self._end_span(span, status, out)
        req.reply(status, body, content_type=_JSON)

    def _start_span(self, req: Request, path: bytes) -> Any:
        """A SERVER span, child of the API server's traceparent (APIServerTracing)."""
        parent = {}
        for name in ("traceparent", "tracestate"):
            value = req.header(name.encode())
            if value is not None:
                parent[name] = value.decode("latin-1")
        route = path.decode()
        return self.tracer.start(f"POST {route}", {
            "http.request.method": "POST", "http.route": route, "url.path": route,
            "knpy.webhook": route[1:]}, kind="server", parent=parent)

    def _end_span(self, span: Any, status: int, out: dict[str, Any]) -> None:
        attrs: dict[str, Any] = {"http.response.status_code": status}
        resp = out.get("response")
        if isinstance(resp, dict):
            attrs["knpy.admission.allowed"] = bool(resp.get("allowed"))
        self.tracer.end(span, attrs, str(status) if status >= 400 else "")

    def review(self, raw: bytes, fn: Review, span: Any = None) -> tuple[int, dict[str, Any]]:
        try:
            body = json.loads(raw.decode())
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
            return 400, {"error": f"body is not JSON: {exc}"}
        if span is not None:
            span.set_attributes(_request_attributes(body))
        try:
            return 200, fn(body, self.handlers())
        except ValueError as exc:
            return 400, {"error": str(exc)}
        except Exception as exc:  # deny rather than admit unchecked
            log.exception("admission handler failed")
            return 200, {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                         "response": {"uid": _uid(body), "allowed": False,
                                      "status": {"code": 500,
                                                 "message": f"webhook error: {exc}"}}}


def _request_attributes(body: Any) -> dict[str, str]:
    """What the review is about: kind, operation, namespace, name (those present)."""
    request = body.get("request") if isinstance(body, dict) else None
    if not isinstance(request, dict):
        return {}
    attrs: dict[str, str] = {}
    kind = request.get("kind")
    if isinstance(kind, dict) and isinstance(kind.get("kind"), str):
        attrs["knpy.admission.kind"] = kind["kind"]
    for key, attr in (("operation", "knpy.admission.operation"),
                      ("namespace", "k8s.namespace.name"), ("name", "knpy.object.name")):
        if isinstance(request.get(key), str) and request[key]:
            attrs[attr] = request[key]
    return attrs


def _uid(body: Any) -> str:
    request = body.get("request") if isinstance(body, dict) else None
    return request.get("uid", "") if isinstance(request, dict) else ""


def make_server(handlers: Callable[[], Handlers],
                metrics: AdmissionMetrics | None = None, tracer: Any | None = None) -> AppServer:
    """The webhook's server on the proxy core, not yet listening: `await
    server.listen(host, port, ssl=ssl_context(bundle))`. Reviews over 3 MiB get 413."""
    # Idle keep-alive connections close after 75 s, as aiohttp's server did.
    return AppServer(Admission(handlers, metrics, tracer), ProxyOptions(keepalive_timeout=75.0),
                     max_body=3 * 1024 * 1024)
