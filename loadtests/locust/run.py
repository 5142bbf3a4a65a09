"""`make loadtest`: the Locust scenarios with their SLOs (docs/loadtest.md).

    python -m loadtests.locust [--scenario NAME ...] [--target loopback|cluster]
                               [--size full|tiny] [--results DIR] [--slo NAME=LIMIT ...]
                               [--rate-scale X] [--ui [--ui-port N]]

Prints `RESULT <name> <value> <unit>` lines and one `SLO <name> <value> <= <limit> <unit>
PASS|FAIL` line per objective, writes Locust's CSV and HTML reports, the raw samples and a
summary.json under the results dir, and exits 1 if any objective failed (2: bad usage).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from loadtests.locust.locustrun import Ui
from loadtests.locust.scenarios import OBJECTIVES, SCENARIOS, SIZES, Context, Services
from loadtests.locust.slo import Report
from tests.support.procs import REPO

DEFAULT_RESULTS = REPO / ".loadtest-results"


def parse_slo(items: list[str]) -> dict[str, float]:
    """--slo NAME=LIMIT items; NAME is an objective's, or a round's (coldstart_n5_p95_s)."""
    limits = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or re.sub(r"^([a-z]+)_n\d+_", r"\1_", name) not in OBJECTIVES:
            raise SystemExit(f"--slo {item!r}: want NAME=LIMIT, NAME one of "
                             f"{', '.join(OBJECTIVES)} (or a round's: coldstart_n5_p95_s)")
        limits[name] = float(value)
    return limits


def services_for(args: argparse.Namespace, out: Path) -> Callable[[str], Services]:
    """Each scenario's services (a context manager), for --target."""
    if args.target == "cluster":
        from loadtests.locust.cluster import Cluster

        return lambda name: Cluster(args.kubeconfig, args.gateway, args.domain, args.node_ip,
                                    out / name, sa_token=not args.no_sa_token)
    from loadtests.locust.loopback import Loopback

    return lambda name: Loopback(out / name)


@contextlib.contextmanager
def timed(name: str) -> Iterator[None]:
    t0 = time.monotonic()
    print(f"=== {name}", flush=True)
    yield
    print(f"=== {name}: {time.monotonic() - t0:.0f}s", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m loadtests.locust", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", action="append", choices=list(SCENARIOS),
                    help="run only these (repeatable; default: all four)")
    ap.add_argument("--target", choices=["loopback", "cluster"], default="loopback")
    ap.add_argument("--size", choices=list(SIZES), default="full")
    ap.add_argument("--rate-scale", type=float, default=1.0,
                    help="multiply every rate (and the broker's event count) by this: "
                         "more users, each at the same pace")
    ap.add_argument("--results", type=Path,
                    help=f"default: {DEFAULT_RESULTS.name}/<UTC timestamp>/")
    ap.add_argument("--slo", action="append", default=[], metavar="NAME=LIMIT",
                    help="override an objective's limit (value <= LIMIT passes)")
    ap.add_argument("--ui", action="store_true",
                    help="Locust's web UI on 127.0.0.1 instead of headless (one scenario)")
    ap.add_argument("--ui-port", type=int, default=8089)
    ap.add_argument("--ui-seconds", type=float, default=3600.0)
    cl = ap.add_argument_group("--target cluster")
    cl.add_argument("--kubeconfig", help="default: $KUBECONFIG, else the local cluster's")
    cl.add_argument("--gateway", default="http://127.0.0.1:31080",
                    help="the knpy-ingress NodePort as the host reaches it")
    cl.add_argument("--domain", default="example.com", help="config-domain's domain")
    cl.add_argument("--node-ip", default="10.244.0.1",
                    help="this host's address as pods reach it (the broker's sink listens there)")
    cl.add_argument("--no-sa-token", action="store_true",
                    help="each scenario's namespace's default ServiceAccount mounts no token "
                         "(docs/loadtest.md: the kubelet's first Secret mount is slow)")
    args = ap.parse_args(argv)
    limits = parse_slo(args.slo)
    names = args.scenario or list(SCENARIOS)
    if args.ui and len(names) != 1:
        ap.error("--ui runs one scenario: name it with --scenario")
    out = args.results or DEFAULT_RESULTS / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out.mkdir(parents=True, exist_ok=True)
    report = Report(limits)
    print(f"loadtest: {', '.join(names)} against {args.target} ({args.size} size); "
          f"reports in {out}", flush=True)
    services = services_for(args, out)
    ctx = Context(out, SIZES[args.size], report, args.rate_scale,
                  Ui(args.ui_port, args.ui_seconds) if args.ui else None)
    for name in names:
        with timed(name):
            try:
                with services(name) as svc:
                    SCENARIOS[name](ctx, svc)
            except (RuntimeError, TimeoutError, OSError, KeyError) as e:
                report.fail(name, f"{type(e).__name__}: {e}".splitlines()[0][:300])
    (out / "summary.json").write_text(json.dumps(report.as_dict(), indent=2))
    failed = [n for n, ok in report.verdicts.items() if not ok]
    met = len(report.verdicts) - len(failed)
    print(f"loadtest: {'PASS' if report.passed else 'FAIL'} ({met} of {len(report.verdicts)} "
          f"objectives met{'; failed: ' + ', '.join(failed) if failed else ''}); "
          f"reports in {out}", flush=True)
    return 0 if report.passed else 1

