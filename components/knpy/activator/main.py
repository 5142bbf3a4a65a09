"""Process wiring: settings, backends source, the proxy server, stats, drain on stop."""

from __future__ import annotations

import asyncio
import logging
import sys

from knpy.activator.announce import AnnounceHandler
from knpy.activator.config import Settings, parse_args
from knpy.activator.filesource import FileSource
from knpy.activator.handler import ActivatorHandler
from knpy.activator.metrics import render
from knpy.activator.prober import Prober
from knpy.activator.revisions import Revisions
from knpy.activator.stats import ConcurrencyReporter, StatSink
from knpy.runtime.config import FieldError
from knpy.runtime.observability import tracing
from knpy.runtime.observability.logs import setup_logging
from knpy.runtime.process import cancel_and_wait
from knpy.runtime.proxy import ProxyOptions, Server
from knpy.runtime.proxy.metrics import MetricsHandler

log = logging.getLogger("knpy.activator")


async def amain(argv: list[str], stop: asyncio.Event) -> int:
    """The activator process (knpy.runtime.process.run); flags: see config.py."""
    s = parse_args(argv)
    setup_logging(s.log_level)
    return await serve(s, stop)


async def serve(s: Settings, stop: asyncio.Event) -> int:
    loop = asyncio.get_running_loop()
    trace_settings = tracing.process_settings("activator")
    if trace_settings is None:
        return 2
    sink = StatSink(s.autoscaler_url)
    reporter = ConcurrencyReporter(s.pod_name, sink.send, loop.time)
    prober = Prober(enabled=s.probe)
    revisions = Revisions(prober, reporter, queue_depth=s.queue_depth, pod_ip=s.pod_ip)
    tasks: list[asyncio.Task[None]] = []

    if s.flag_revision is not None:
        revisions.upsert(s.flag_revision, s.flag_revision.backends)
    if s.config_file is not None:
        source = FileSource(s.config_file, revisions)
        try:
            source.load()
        except (FieldError, OSError) as exc:
            print(f"activator: invalid --config {s.config_file}:\n{exc}", file=sys.stderr)
            return 2
        tasks.append(loop.create_task(source.run(), name="config-file"))
    if s.cluster:
        from knpy.activator.cluster import ClusterSource  # kubernetes_asyncio only here
        cluster = ClusterSource(revisions, s.system_namespace, s.kubeconfig, s.endpoints_api)
        task = loop.create_task(cluster.run(), name="cluster")
        tasks.append(task)
        # Serve only once the informers have listed everything: before that every revision
        # would look unknown (404).
        synced = loop.create_task(cluster.synced.wait())
        await asyncio.wait({synced, task}, return_when=asyncio.FIRST_COMPLETED)
        if not synced.done():
            synced.cancel()
            err = None if task.cancelled() else task.exception()
            log.error("cluster mode failed before its informers synced: %s", err)
            return 1

    handler = ActivatorHandler(revisions.by_key, reporter, loop.time)
    server = Server(handler, ProxyOptions())
    server.tracer = tracer = tracing.proxy_tracer(
        trace_settings, {"k8s.pod.name": s.pod_name} if s.pod_name else None)
    await server.listen(s.host, s.port)
    side: list[Server] = []
    announcements = None
    if s.announce_port and s.announce_key:
        announcer = AnnounceHandler(revisions, s.announce_key)
        announcements = announcer.counts
        side.append(Server(announcer))
        await side[-1].listen(s.host, s.announce_port)
    if s.metrics_port:
        side.append(Server(MetricsHandler(lambda: render(revisions.by_key, announcements))))
        await side[-1].listen(s.host, s.metrics_port)
    sink.start()
    tasks.append(loop.create_task(reporter.run(), name="stats-reporter"))
    log.info("activator listening on %s:%d (h2c :%d not served, metrics :%s, announce :%s), "
             "autoscaler %s, %d revision(s)", s.host, s.port, s.h2c_port,
             s.metrics_port or "off", s.announce_port or "off", s.autoscaler_url or "(none)",
             len(revisions.by_key))
    await stop.wait()

    # Drain (Knative's activator drainer): kubelet probes now fail so the endpoints
    # controller takes this activator out; requests keep being served until none has
    # arrived for the quiet period; then the listener closes and requests in flight (or
    # held) get up to drain_timeout to finish before everything is cut.
    handler.draining = True
    started = loop.time()
    log.info("SIGTERM: draining (quiet period %gs, then up to %gs for requests in flight)",
             s.drain_quiet_period, s.drain_timeout)
    while True:
        left = max(started, handler.last_request) + s.drain_quiet_period - loop.time()
        if left <= 0:
            break
        await asyncio.sleep(min(left, 0.5))  # a request meanwhile pushes the end out
    await server.close(grace=s.drain_timeout)
    for srv in side:
        await srv.close()
    await cancel_and_wait(tasks)
    frame = reporter.report(loop.time())  # the last partial second
    if frame is not None:
        sink.send(frame)
    await asyncio.sleep(0)
    prober.close()
    revisions.close()
    await sink.close()
    tracing.shutdown(tracer)
    log.info("activator stopped")
    return 0

