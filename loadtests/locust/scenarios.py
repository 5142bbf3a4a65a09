"""The four scenarios: each starts (or finds) its services, runs Locust, and reports its
results and verdicts from the raw samples.

Sizes are for a 2-core machine that also runs every knpy process of the loopback stack
(SIZES["full"]: the whole `make loadtest` takes about 3 minutes there); SIZES["tiny"] runs
each scenario in a few seconds (the tests). Against a real cluster, raise them with
--rate-scale (docs/loadtest.md): it multiplies the users, each at the same pace.
"""

from __future__ import annotations

import json
import math
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from loadtests.locust.locustrun import LocustRun, Ui, run_locust
from loadtests.locust.slo import Objective, Report, percentile
from loadtests.locust.targets import Target

SLEEP_MS = 100  # the probe app holds each answer this long (helloworld's ?sleep=)
PROBE_PATH = f"/?sleep={SLEEP_MS}"

SIZES: dict[str, dict[str, Any]] = {
    # dataplane: requests/s per path, users per path (each paces at rate/users), seconds
    # ramp: each user's requests/s (a third each: direct, queue-proxy, activator),
    #       [seconds, users] per step (5 users = 10 requests/s on each path)
    # coldstart: how many services at once, per round; seconds each may take
    # broker: events/s, users, events in all
    "full": {"dataplane": {"rate": 20, "users": 4, "seconds": 30},
             "ramp": {"user_rate": 6, "steps": [[12, 5], [12, 10], [12, 20], [12, 30]]},
             "coldstart": {"rounds": [1, 5, 10], "deadline": 30},
             "broker": {"rate": 100, "users": 10, "events": 2000}},
    "tiny": {"dataplane": {"rate": 5, "users": 1, "seconds": 3},
             "ramp": {"user_rate": 6, "steps": [[2, 2], [2, 4]]},
             "coldstart": {"rounds": [1, 2], "deadline": 20},
             "broker": {"rate": 20, "users": 2, "events": 40}},
}

# value <= limit passes; every limit can be overridden with --slo NAME=LIMIT
OBJECTIVES = {o.name: o for o in (
    Objective("dataplane_queue_proxy_p95_overhead_ms", 5.0, "ms"),
    Objective("dataplane_activator_p95_overhead_ms", 5.0, "ms"),
    Objective("dataplane_errors", 0, "requests"),
    Objective("ramp_errors", 0, "requests"),
    Objective("ramp_p95_overhead_ms", 5.0, "ms"),
    Objective("coldstart_p95_s", 1.0, "s"),
    Objective("coldstart_failed", 0, "services"),
    Objective("broker_lost", 0, "events"),
    Objective("broker_rejected", 0, "events"),
)}


class Services(Protocol):
    """Where the scenarios send: the loopback stack (loopback.py) or a cluster (cluster.py);
    a context manager whose exit removes whatever it started."""

    def __enter__(self) -> Services: ...
    def __exit__(self, *exc: object) -> None: ...
    def dataplane(self) -> dict[str, Target]: ...
    def at_zero(self, names: list[str]) -> list[Target]: ...
    def broker(self) -> tuple[Target, str, str]: ...


@dataclass
class Context:
    out: Path
    size: dict[str, Any]
    report: Report
    rate_scale: float = 1.0
    ui: Ui | None = None

    def users(self, n: float) -> int:
        """n users at --rate-scale: more users, each at the same pace (a user waits for
        each answer, so its own rate cannot pass 1 / latency)."""
        return max(1, round(n * self.rate_scale))

    def check(self, name: str, value: float, suffix: str = "") -> None:
        """Verdict on OBJECTIVES[name]; with a suffix (a round: coldstart_n5_p95_s), --slo
        may set the round's limit or, by the plain name, every round's."""
        obj = OBJECTIVES[name]
        if suffix:
            obj = Objective(name.replace("_", f"_{suffix}_", 1),
                            self.report.limits.get(name, obj.limit), obj.unit)
        self.report.check(obj, value)


def _ok(row: dict[str, Any]) -> bool:
    return row["error"] is None and row["status"] in (None, 200, 202)


def _latency(rows: list[dict[str, Any]], name: str) -> tuple[list[float], int]:
    """(latencies of the successful requests named `name`, how many failed)."""
    mine = [r for r in rows if r["name"] == name]
    return [r["ms"] for r in mine if _ok(r)], sum(not _ok(r) for r in mine)


def dataplane(ctx: Context, svc: Services) -> None:
    size = ctx.size["dataplane"]
    targets = svc.dataplane()
    users = ctx.users(size["users"])
    rate = size["rate"] / size["users"] * users
    cfg = {"targets": {k: t.as_config() for k, t in targets.items()}, "path": PROBE_PATH,
           "rate": rate, "users": users, "max_requests": int(3 * rate * size["seconds"] * 1.5)}
    rows = run_locust(LocustRun("dataplane", "lf_dataplane.py", cfg, size["seconds"],
                                users=3 * users), ctx.out, ctx.ui)
    p95: dict[str, float] = {}
    errors = 0
    for path in ("direct", "queue-proxy", "activator"):
        lat, failed = _latency(rows, path)
        errors += failed
        key = path.replace("-", "_")
        p95[path] = percentile(lat, 95)
        ctx.report.result(f"dataplane_{key}_p50_ms", percentile(lat, 50), "ms")
        ctx.report.result(f"dataplane_{key}_p95_ms", p95[path], "ms")
        ctx.report.result(f"dataplane_{key}_p99_ms", percentile(lat, 99), "ms")
        ctx.report.result(f"dataplane_{key}_requests", len(lat), "requests")
    ctx.check("dataplane_queue_proxy_p95_overhead_ms", p95["queue-proxy"] - p95["direct"])
    ctx.check("dataplane_activator_p95_overhead_ms", p95["activator"] - p95["direct"])
    ctx.check("dataplane_errors", errors)


def ramp(ctx: Context, svc: Services) -> None:
    size = ctx.size["ramp"]
    targets = svc.dataplane()
    user_rate = size["user_rate"]
    steps = [[seconds, ctx.users(users)] for seconds, users in size["steps"]]
    cfg = {"targets": {k: t.as_config() for k, t in targets.items()}, "path": PROBE_PATH,
           "user_rate": user_rate, "steps": steps}
    seconds = sum(s for s, _ in steps)
    rows = run_locust(LocustRun("ramp", "lf_ramp.py", cfg, seconds), ctx.out, ctx.ui)
    overheads = []
    for i, (_, users) in enumerate(steps, 1):
        # each user takes turns over the three paths: a third of its rate goes to each
        ctx.report.result(f"ramp_step{i}_rps_per_path", users * user_rate / 3, "requests/s")
        p95 = {}
        for path in ("direct", "queue-proxy", "activator"):
            p95[path] = percentile(_latency(rows, f"step{i} {path}")[0], 95)
            ctx.report.result(f"ramp_step{i}_{path.replace('-', '_')}_p95_ms", p95[path], "ms")
        for path in ("queue-proxy", "activator"):
            overheads.append(over := p95[path] - p95["direct"])
            ctx.report.result(f"ramp_step{i}_{path.replace('-', '_')}_p95_overhead_ms", over,
                              "ms")
    # the worst step and path counts; a step without a sample fails
    ctx.check("ramp_p95_overhead_ms",
              math.nan if any(map(math.isnan, overheads)) else max(overheads))
    ctx.check("ramp_errors", sum(not _ok(r) for r in rows))  # the warm-ups' too


def coldstart(ctx: Context, svc: Services) -> None:
    size = ctx.size["coldstart"]
    names = {n: [f"cold-n{n}-{i}" for i in range(n)] for n in size["rounds"]}
    targets = {t.name: t for t in svc.at_zero([x for ns in names.values() for x in ns])}
    for n, round_names in names.items():
        services = [{"name": x, "path": "/", "headers": targets[x].headers} for x in round_names]
        cfg = {"url": targets[round_names[0]].url, "services": services,
               "deadline": size["deadline"]}
        rows = run_locust(LocustRun(f"coldstart-n{n}", "lf_coldstart.py", cfg,
                                    size["deadline"] + 10, users=n), ctx.out, ctx.ui)
        cold = [r for r in rows if r["type"] == "COLD"]
        seconds = [r["ms"] / 1000 for r in cold if r["error"] is None]
        for stat, p in (("p50", 50), ("p95", 95), ("max", 100)):
            ctx.report.result(f"coldstart_n{n}_{stat}_s", percentile(seconds, p), "s")
        ctx.check("coldstart_p95_s", percentile(seconds, 95), f"n{n}")
        ctx.check("coldstart_failed", n - len(seconds), f"n{n}")


def _sink_stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def broker(ctx: Context, svc: Services, drain_s: float = 30.0) -> None:
    size = ctx.size["broker"]
    target, path, stats_url = svc.broker()
    users = ctx.users(size["users"])
    rate = size["rate"] / size["users"] * users
    events = int(size["events"] / size["users"] * users)
    cfg = {"target": target.as_config(), "path": path, "rate": rate, "users": users,
           "max_requests": events, "run_id": uuid.uuid4().hex[:12]}
    rows = run_locust(LocustRun("broker", "lf_broker.py", cfg, events / rate + 10,
                                users=users), ctx.out, ctx.ui)
    accepted = sum(_ok(r) for r in rows)
    deadline = time.monotonic() + drain_s
    while (stats := _sink_stats(stats_url))["unique"] < accepted and time.monotonic() < deadline:
        time.sleep(0.2)
    # from the first send to the last delivery (Locust's start_time is wall-clock too)
    first = min((r["start"] for r in rows if r["start"]), default=math.nan)
    elapsed = stats["last"] - first
    ctx.report.result("broker_sent", len(rows), "events")
    ctx.report.result("broker_accepted", accepted, "events")
    ctx.report.result("broker_delivered", stats["unique"], "events")
    ctx.report.result("broker_duplicates", stats["received"] - stats["unique"], "events")
    ctx.report.result("broker_delivered_per_s",
                      stats["unique"] / elapsed if elapsed > 0 else math.nan, "events/s")
    ctx.report.result("broker_e2e_p50_ms", percentile(stats["latency_ms"], 50), "ms")
    ctx.report.result("broker_e2e_p95_ms", percentile(stats["latency_ms"], 95), "ms")
    ctx.check("broker_lost", max(0, accepted - stats["unique"]))
    ctx.check("broker_rejected", len(rows) - accepted)


SCENARIOS: dict[str, Callable[[Context, Services], None]] = {
    "dataplane": dataplane, "ramp": ramp, "coldstart": coldstart, "broker": broker}
