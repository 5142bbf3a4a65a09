"""Eventing on the local cluster: how soon a Trigger that reports Ready delivers.

    python -m loadtests.bench_cluster --only eventing        (part of make bench-cluster)

A Broker and an event-display sink in a fresh namespace; then N Triggers created one after
another, each with its own `type` filter. The moment a Trigger is seen Ready (polled every
0.1 s), one event of its type is POSTed to the Broker's address once, never retried, as
Knative's rekt tests do; the time from Ready to the event at the sink is recorded.
`RESULT trigger_ready_to_delivered_p95_s` (issue 14: target <= 2) and
`RESULT trigger_events_undelivered` (target 0: an event sent at Ready that never arrives
within 30 s, or that the ingress did not accept).
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from tests.e2e.stack.conftest import SINK, post
from tests.support.cluster import KubeCluster, image_ref
from tests.support.poll import wait_until

TRIGGERS = 10
DELIVERY_TIMEOUT = 30.0

TRIGGER = """
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {{name: {name}}}
spec:
  broker: default
  filter: {{attributes: {{type: {type}}}}}
  subscriber: {{ref: {{apiVersion: v1, kind: Service, name: sink}}}}
"""


def _ready(c: KubeCluster, kind: str, name: str, ns: str) -> dict[str, Any] | None:
    r = c.kubectl("get", kind, name, "-n", ns, "-o", "json", check=False)
    if r.returncode != 0:
        return None
    obj = json.loads(r.stdout)
    conds = (obj.get("status") or {}).get("conditions") or []
    ok = any(x.get("type") == "Ready" and x.get("status") == "True" for x in conds)
    return obj if ok else None


def _sink_ids(ip: str) -> set[str]:
    with urllib.request.urlopen(f"http://{ip}/events", timeout=10) as r:
        return {e.get("id") for e in json.loads(r.read())}


def trigger_ready_to_delivered(c: KubeCluster, ns: str,
                               triggers: int = TRIGGERS) -> tuple[list[float], int]:
    """(seconds from each Trigger's Ready to its event at the sink, events undelivered)."""
    c.apply(SINK.format(image=image_ref("event-display")), namespace=ns)
    c.wait_for_rollout(ns, "sink", timeout=180)
    ip = c.kubectl("get", "svc", "sink", "-n", ns, "-o",
                   "jsonpath={.spec.clusterIP}").stdout.strip()
    c.apply("apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: default}\n",
            namespace=ns)
    broker = wait_until(lambda: _ready(c, "broker", "default", ns), 120, "Broker Ready",
                        every=0.5)
    url = broker["status"]["address"]["url"]
    scheme, rest = url.split("://", 1)
    hostport, _, path = rest.partition("/")
    ips = c.resolve(hostport.partition(":")[0])
    target = f"{scheme}://{ips[0]}/{path}"
    times: list[float] = []
    undelivered = 0
    for i in range(triggers):
        name, type_ = f"t{i:02d}", f"dev.knpy.bench.t{i:02d}"
        c.apply(TRIGGER.format(name=name, type=type_), namespace=ns)
        wait_until(lambda n=name: _ready(c, "trigger", n, ns), 60, f"Trigger {name} Ready",
                   every=0.1)
        t_ready = time.monotonic()
        eid = f"ev-{i:02d}"
        status = post(target, hostport, {
            "ce-specversion": "1.0", "ce-id": eid, "ce-source": "/bench", "ce-type": type_,
            "content-type": "application/json"}, b'{"n": %d}' % i)
        if status != 202:
            print(f"trigger {name}: the ingress answered {status} at Ready", flush=True)
            undelivered += 1
            continue
        try:
            wait_until(lambda e=eid: e in _sink_ids(ip), DELIVERY_TIMEOUT, f"event {eid}",
                       every=0.05)
        except AssertionError:  # wait_until's "not reached within"
            print(f"trigger {name}: event {eid} not delivered within {DELIVERY_TIMEOUT:.0f}s",
                  flush=True)
            undelivered += 1
            continue
        took = time.monotonic() - t_ready
        times.append(took)
        print(f"trigger {name}: Ready -> delivered {took:.2f}s", flush=True)
    c.kubectl("delete", "triggers,brokers", "--all", "-n", ns, "--wait=true",
              "--timeout=60s", timeout=90, check=False)
    return times, undelivered
