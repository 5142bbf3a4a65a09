"""`python -m knpy.webhook`: the admission webhook over TLS.

Flags (env): --port (8443), --host (0.0.0.0), --kubeconfig ($KUBECONFIG; in-cluster when
unset), --namespace ($SYSTEM_NAMESPACE, knpy-system), --secret (knpy-webhook-certs),
--service (knpy-webhook: the cert's DNS names), --san (extra SANs, repeatable, e.g.
127.0.0.1), --validating-config / --mutating-config (names whose caBundle it manages),
--standalone (no Kubernetes: fresh in-memory certs; --ca-out FILE writes the CA),
--metrics-port ($KNPY_METRICS_PORT, 9090; 0 = off: GET /metrics over plain HTTP).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from pathlib import Path

from knpy.apis.eventing.config import BROKER_DEFAULTS_CONFIG, parse_broker_defaults
from knpy.apis.messaging.v1 import CHANNEL_DEFAULTS_CONFIG, parse_channel_defaults
from knpy.apis.serving.configmaps import SERVING_CONFIG_PARSERS, serving_config
from knpy.runtime.k8s import ConfigStore, connect
from knpy.runtime.observability import tracing
from knpy.runtime.observability.logs import setup_logging
from knpy.runtime.process import cancel_and_wait
from knpy.runtime.proxy.metrics import serve_metrics
from knpy.webhook.admission import eventing_handlers, merge_handlers
from knpy.webhook.certs import generate
from knpy.webhook.flows import flows_handlers
from knpy.webhook.messaging import messaging_handlers
from knpy.webhook.registration import CertKeeper, load_or_create_certs
from knpy.webhook.server import AdmissionMetrics, load_bundle, make_server, ssl_context
from knpy.webhook.serving import serving_handlers
from knpy.webhook.sources import sources_handlers

log = logging.getLogger("knpy.webhook")

# Seconds reviews in flight get to finish at shutdown.
SHUTDOWN_GRACE = 5.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m knpy.webhook")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=int(os.environ.get("KNPY_WEBHOOK_PORT", 8443)))
    p.add_argument("--metrics-port", type=int,
                   default=int(os.environ.get("KNPY_METRICS_PORT", 9090)),
                   help="GET /metrics, Prometheus text over plain HTTP (0: off)")
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"))
    p.add_argument("--namespace", default=os.environ.get("SYSTEM_NAMESPACE", "knpy-system"))
    p.add_argument("--secret", default="knpy-webhook-certs")
    p.add_argument("--service", default="knpy-webhook")
    p.add_argument("--san", action="append", default=[])
    p.add_argument("--validating-config", action="append",
                   default=None, help="default: validation.webhook.eventing.knpy.dev")
    p.add_argument("--mutating-config", action="append",
                   default=None, help="default: defaulting.webhook.eventing.knpy.dev")
    p.add_argument("--resync", type=float, default=60.0,
                   help="seconds between caBundle/cert checks")
    p.add_argument("--standalone", action="store_true")
    p.add_argument("--ca-out", type=Path, default=None)
    p.add_argument("--log-level", default=os.environ.get("KNPY_LOG_LEVEL", "INFO"))
    return p.parse_args(argv)


def sans_for(a: argparse.Namespace) -> list[str]:
    svc, ns = a.service, a.namespace
    return [f"{svc}.{ns}.svc", svc, f"{svc}.{ns}", f"{svc}.{ns}.svc.cluster.local", *a.san]


async def amain(argv: list[str], stop: asyncio.Event) -> int:
    """The webhook process (knpy.runtime.process.run)."""
    a = parse_args(argv)
    setup_logging(a.log_level)
    trace_settings = tracing.process_settings("webhook")
    if trace_settings is None:
        return 2
    tracer = tracing.operation_tracer(trace_settings, "knpy.webhook")
    validating = a.validating_config or ["validation.webhook.eventing.knpy.dev"]
    mutating = a.mutating_config or ["defaulting.webhook.eventing.knpy.dev"]
    tasks: list[asyncio.Task] = []
    client = None
    # the config maps the handlers read, watched live
    parsers = {BROKER_DEFAULTS_CONFIG: parse_broker_defaults,
               CHANNEL_DEFAULTS_CONFIG: parse_channel_defaults, **SERVING_CONFIG_PARSERS}
    if a.standalone:
        bundle = generate(sans_for(a))
        store = ConfigStore(None, a.namespace, parsers)
    else:
        client = await connect(a.kubeconfig)
        bundle = await load_or_create_certs(client, a.namespace, a.secret, sans_for(a))
        store = ConfigStore(client, a.namespace, parsers)
        assert store.informer is not None
        tasks.append(asyncio.create_task(store.informer.run()))
    if a.ca_out:
        a.ca_out.write_bytes(bundle.ca_pem)
    handlers = merge_handlers(eventing_handlers(lambda: store.get(BROKER_DEFAULTS_CONFIG)),
                              sources_handlers(),
                              messaging_handlers(lambda: store.get(CHANNEL_DEFAULTS_CONFIG)),
                              flows_handlers(lambda: store.get(CHANNEL_DEFAULTS_CONFIG)),
                              serving_handlers(lambda: serving_config(store.get)))
    metrics = AdmissionMetrics()
    server = make_server(lambda: handlers, metrics, tracer)
    ctx = ssl_context(bundle)
    await server.listen(a.host, a.port, ssl=ctx)
    log.info("webhook serving on https://%s:%d", a.host, a.port)
    metrics_server = (await serve_metrics(a.host, a.metrics_port, metrics.render)
                      if a.metrics_port else None)

    if client is not None:
        keeper = CertKeeper(client, a.namespace, a.secret, sans_for(a), bundle,
                            lambda b: load_bundle(ctx, b), validating=validating,
                            mutating=mutating)
        tasks.append(asyncio.create_task(keeper.run(a.resync)))
    try:
        await stop.wait()
    finally:
        await cancel_and_wait(tasks)
        await server.close(SHUTDOWN_GRACE)
        if metrics_server is not None:
            await metrics_server.close()
        if client is not None:
            await client.close()
        tracing.shutdown(tracer)
    return 0

