"""Process wiring: read env, listen on the four ports, serve until stopped, drain, exit."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from knpy.queue_proxy.config import Config, ConfigError, from_env
from knpy.queue_proxy.drain import Drainer
from knpy.queue_proxy.handler import QueueHandler
from knpy.queue_proxy.readiness import ReadinessProber
from knpy.runtime.hotpath.breaker import Breaker
from knpy.runtime.hotpath.reqstats import RequestStats
from knpy.runtime.observability import tracing
from knpy.runtime.observability.logs import setup_logging
from knpy.runtime.proxy import ProxyOptions, Server, Timeouts, UpstreamPool

log = logging.getLogger("knpy.queue_proxy")

ADMIN_GRACE = 2.0  # for /wait-for-drain answers to go out once drained


async def amain(argv: list[str], stop: asyncio.Event) -> int:
    """The queue-proxy process (knpy.runtime.process.run): configured by env only."""
    try:
        cfg = from_env(os.environ)
    except ConfigError as e:
        print(f"queue-proxy: invalid configuration: {e}", file=sys.stderr)
        return 1
    setup_logging(os.environ.get("QUEUE_LOG_LEVEL", "INFO"))
    return await serve(cfg, stop)


async def serve(cfg: Config, stop: asyncio.Event) -> int:
    loop = asyncio.get_running_loop()
    started = loop.time()
    cc = cfg.container_concurrency
    stats = RequestStats(started)
    breaker = Breaker(cfg.queue_depth, cc, cc) if cc >= 1 else None
    pool = UpstreamPool(cfg.user_host, cfg.user_port)
    drainer = Drainer(cfg.drain_quiet_period)
    prober = ReadinessProber(cfg.readiness)
    handler = QueueHandler(pool, stats, breaker, prober, drainer, loop.time)
    options = ProxyOptions(timeouts=Timeouts(cfg.revision_timeout, cfg.response_start_timeout,
                                             cfg.idle_timeout))
    main_server = Server(handler, options)
    attrs = {"k8s.namespace.name": cfg.namespace, "knative.revision.name": cfg.revision,
             "k8s.pod.name": cfg.pod}
    main_server.tracer = tracer = tracing.proxy_tracer(
        cfg.tracing, {k: v for k, v in attrs.items() if v})
    host = cfg.listen_host or None
    await main_server.listen(host, cfg.serving_port)
    announcing = None
    if cfg.announce_host:  # the activators learn of this pod before the API lists it
        from knpy.queue_proxy.announce import announce
        announcing = loop.create_task(announce(cfg, prober), name="announce")

    # The proxy port is up: everything below is off the path to the first response (the
    # loop serves it while these imports and listeners are set up).
    await asyncio.sleep(0)
    from knpy.queue_proxy.admin import AdminHandler
    from knpy.queue_proxy.metrics import Reporter, StatHandler
    from knpy.runtime.proxy.metrics import MetricsHandler

    reporter = Reporter(cfg, stats, breaker, handler.latency, started)
    side = [Server(AdminHandler(drainer, stop)), Server(StatHandler(reporter)),
            Server(MetricsHandler(reporter.prometheus))]
    for srv, port in zip(side, (cfg.admin_port, cfg.metrics_port, cfg.user_metrics_port),
                         strict=True):
        await srv.listen(host, port)
    reporter.start()
    log.info("serving on :%d -> %s:%d (containerConcurrency %d)", cfg.serving_port,
             cfg.user_host, cfg.user_port, cc)

    await stop.wait()
    if announcing is not None:
        announcing.cancel()
    log.info("SIGTERM: draining (quiet period %gs)", cfg.drain_quiet_period)
    drainer.start()
    await drainer.drain()
    # No new request for a quiet period: stop accepting, let in-flight ones (and
    # upgraded connections) finish within the revision timeout, then exit.
    await main_server.close(grace=cfg.revision_timeout or 300.0)
    # Now the preStop hook may answer (the kubelet then stops the user container): the
    # admin server closes gracefully so that answer goes out.
    drainer.finished.set()
    reporter.stop()
    for srv in side:
        await srv.close(grace=ADMIN_GRACE)
    pool.close()
    tracing.shutdown(tracer)
    log.info("drained; exiting")
    return 0

