"""e2e: a Broker and a Trigger on the local cluster deliver CloudEvents, sent with the
CloudEvents Python SDK to the Broker's status.address.url, to a Deployment + Service sink.

Runs on the chart's real stack: controller, webhook, broker ingress + dispatcher pods and
nats-server (JetStream) as a pod. See docs/eventing-e2e.md.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from cloudevents.core.bindings import http as ce_http  # type: ignore[import-not-found]
from cloudevents.core.formats.json import JSONFormat  # type: ignore[import-not-found]
from cloudevents.core.v1.event import CloudEvent  # type: ignore[import-not-found]

from tests.e2e.stack.conftest import PROBE_ERRORS, SYSTEM_NS, Eventing, Sink, post
from tests.support.poll import wait_until

MATCH = "dev.knpy.e2e.match"
OTHER = "dev.knpy.e2e.other"

# cluster up, image builds and helm install happen in the first test's fixtures
pytestmark = pytest.mark.timeout(1200)

BROKER_AND_TRIGGER = """
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {{name: default}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {{name: to-sink}}
spec:
  broker: default
  filter: {{attributes: {{type: {match}}}}}
  subscriber:
    ref: {{apiVersion: v1, kind: Service, name: sink}}
"""


def event(type_: str, id_: str, data: Any, **extra: str) -> CloudEvent:
    return CloudEvent(attributes={
        "specversion": "1.0", "id": id_, "source": "/knpy/e2e", "type": type_,
        "subject": "order-42", "datacontenttype": "application/json",
        "time": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), **extra}, data=data)


class Broker:
    """The Broker's address as the host reaches it, and a sender using the SDK."""

    def __init__(self, ev: Eventing, url: str) -> None:
        self.url = url
        self.target, self.host = ev.cluster_url(url)

    def send(self, e: CloudEvent, structured: bool = False) -> tuple[int, dict[str, str]]:
        encode = ce_http.to_structured if structured else ce_http.to_binary
        msg = encode(e, JSONFormat())
        headers = dict(msg.headers)
        return post(self.target, self.host, headers, msg.body), headers


@pytest.fixture(scope="module")
def broker(knpy_stack: Eventing, sink: Sink) -> Broker:
    ev, ns = knpy_stack, sink.namespace
    t_apply = time.monotonic()
    ev.cluster.apply(BROKER_AND_TRIGGER.format(match=MATCH), namespace=ns)
    b = ev.wait_ready("broker", "default", ns)
    url = b["status"]["address"]["url"]
    assert url == f"http://broker-ingress.{SYSTEM_NS}.svc.cluster.local/{ns}/default"
    t = ev.wait_ready("trigger", "to-sink", ns)
    assert t["status"]["subscriberUri"].rstrip("/") == f"http://sink.{ns}.svc.cluster.local"
    print(f"\nBroker and Trigger Ready {time.monotonic() - t_apply:.1f}s after apply")
    broker = Broker(ev, url)
    # Ready does not yet mean the broker pods have loaded the new contract (the kubelet
    # syncs the mounted ConfigMap within about a minute; docs/controller.md "Gaps"), and a
    # trigger sees only events accepted after its consumer exists. So warm up: send a
    # matching event (404 until the ingress knows the broker) until one reaches the sink.
    # The tests below look only at their own event ids.
    n = 0

    def warm() -> bool:
        nonlocal n
        n += 1
        status, _ = broker.send(event(MATCH, f"warmup-{n}", {"n": n}))
        assert status in (202, 404), f"ingress answered {status} during warm-up"
        return any(e["id"].startswith("warmup-") for e in sink.events())
    t0 = time.monotonic()
    wait_until(warm, 240, "a warm-up event at the sink", every=3, ignore=PROBE_ERRORS,
               detail=lambda: ev.diagnostics(ns))
    print(f"\nbroker data plane serving the trigger {time.monotonic() - t0:.1f}s after Ready "
          f"({n} warm-up event(s))")
    sink.clear()
    return broker


def test_event_sent_with_the_sdk_arrives_with_identical_attributes(
        broker: Broker, sink: Sink) -> None:
    data = {"order": 42, "items": ["a", "b"], "note": "ünïcode"}
    status, headers = broker.send(event(MATCH, "e2e-binary-1", data, knpyext="abc123"))
    assert status == 202
    got = wait_until(lambda: [e for e in sink.events() if e["id"] == "e2e-binary-1"], 60,
                     "the binary event at the sink", every=1.0, ignore=PROBE_ERRORS)
    assert len(got) == 1
    seen = got[0]
    sent = {k[3:].lower(): v for k, v in headers.items() if k.lower().startswith("ce-")}
    for attr, value in sent.items():
        assert seen.get(attr) == value, f"{attr}: sent {value!r}, sink saw {seen.get(attr)!r}"
    assert seen["datacontenttype"] == "application/json"
    assert seen["data"] == data
    # the broker stamps the arrival time and strips its TTL before delivery
    arrival = datetime.fromisoformat(seen["knativearrivaltime"].replace("Z", "+00:00"))
    assert abs((arrival - datetime.now(UTC)).total_seconds()) < 600
    assert "knativebrokerttl" not in seen
    assert set(seen) - set(sent) - {"datacontenttype", "data"} == {"knativearrivaltime"}


def test_structured_event_arrives(broker: Broker, sink: Sink) -> None:
    status, _ = broker.send(event(MATCH, "e2e-structured-1", {"mode": "structured"}),
                            structured=True)
    assert status == 202
    got = wait_until(lambda: [e for e in sink.events() if e["id"] == "e2e-structured-1"], 60,
                     "the structured event at the sink", every=1.0, ignore=PROBE_ERRORS)
    assert got[0]["type"] == MATCH and got[0]["source"] == "/knpy/e2e"
    assert got[0]["subject"] == "order-42" and got[0]["data"] == {"mode": "structured"}
    assert "knativearrivaltime" in got[0]


def test_non_matching_event_is_not_delivered(broker: Broker, sink: Sink) -> None:
    tag = uuid.uuid4().hex[:6]
    # the non-matching event is accepted (202: the broker stored it) but no trigger wants it
    assert broker.send(event(OTHER, f"other-{tag}", {"x": 1}))[0] == 202
    assert broker.send(event(MATCH, f"after-{tag}", {"x": 2}))[0] == 202
    # the matching one sent afterwards arrives; by then the other one was filtered out
    wait_until(lambda: [e for e in sink.events() if e["id"] == f"after-{tag}"], 60,
               "the matching event sent after the non-matching one", every=1.0,
               ignore=PROBE_ERRORS)
    time.sleep(2)
    assert [e for e in sink.events() if e["type"] == OTHER] == []


def test_bad_event_is_rejected_at_the_ingress(broker: Broker) -> None:
    # a POST without ce-specversion is not a CloudEvent: 400, nothing stored
    status = post(broker.target, broker.host, {"ce-id": "x", "ce-type": MATCH,
                                               "ce-source": "/s",
                                               "Content-Type": "application/json"}, b"{}")
    assert status == 400
    missing = broker.target.rsplit("/", 1)[0] + "/no-such-broker"
    status = post(missing, broker.host, {"ce-specversion": "1.0", "ce-id": "x",
                                         "ce-type": MATCH, "ce-source": "/s"}, b"")
    assert status == 404


def pods_of(ev: Eventing, component: str) -> list[str]:
    return ev.cluster.kubectl("get", "pods", "-n", SYSTEM_NS, "-l",
                              f"app.kubernetes.io/name={component}", "-o",
                              "jsonpath={.items[*].metadata.name}").stdout.split()


def stream_across_restart(ev: Eventing, broker: Broker, sink: Sink, component: str,
                          total: int = 300, restart_at: int = 60) -> dict[str, list[int]]:
    """Send `total` matching events at about 20/s and delete the `component` pod (SIGTERM;
    its ReplicaSet starts a new one) after `restart_at` of them. Like a real producer, an
    event without a 202 is sent again (same id) until it is accepted, for at most 60 s.
    Waits until every event reached the sink; returns each id's answers."""
    c = ev.cluster
    sink.clear()
    tag = uuid.uuid4().hex[:6]
    ids = [f"stream-{tag}-{i}" for i in range(total)]
    answers: dict[str, list[int]] = {}
    old = pods_of(ev, component)
    assert len(old) == 1, old

    def produce() -> None:
        for i, id_ in enumerate(ids):
            deadline = time.monotonic() + 60
            while True:
                status = broker.send(event(MATCH, id_, {"i": i}))[0]
                answers.setdefault(id_, []).append(status)
                if status == 202 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            time.sleep(0.05)  # a bounded stream over ~15-20 s, spanning the restart

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    wait_until(lambda: len(answers) >= restart_at, 60, "the stream under way", every=0.2,
               ignore=PROBE_ERRORS)
    c.kubectl("delete", "pod", "-n", SYSTEM_NS, old[0], "--wait=false")
    producer.join(timeout=240)
    assert not producer.is_alive(), "producer did not finish in time"
    not_accepted = [i for i, a in answers.items() if a[-1] != 202]
    assert not_accepted == [], f"never accepted: {not_accepted[:10]} {answers[not_accepted[0]]}"
    # the old pod finishes its graceful shutdown and goes; a new one took over
    c.kubectl("wait", "-n", SYSTEM_NS, "--for=delete", f"pod/{old[0]}", "--timeout=120s",
              timeout=130)
    c.wait_for_rollout(SYSTEM_NS, f"knpy-{component}", timeout=120)

    def all_arrived() -> list[str] | None:
        seen = [e["id"] for e in sink.events() if e["id"].startswith(f"stream-{tag}-")]
        return seen if set(seen) == set(ids) else None
    try:
        seen = wait_until(all_arrived, 180, "every streamed event at the sink", every=2,
                          ignore=PROBE_ERRORS)
    except AssertionError:
        got = {e["id"] for e in sink.events()}
        missing = [i for i in ids if i not in got]
        raise AssertionError(f"{len(missing)} of {total} events never arrived, e.g. "
                             f"{missing[:10]}\n{ev.diagnostics(sink.namespace)}") from None
    resent = sum(len(a) - 1 for a in answers.values())
    print(f"\n{component} restart: {total} events, all delivered, "
          f"{len(seen) - total} duplicate(s), {resent} re-send(s) by the producer")
    return answers


def test_dispatcher_restart_mid_stream_loses_nothing(
        knpy_stack: Eventing, broker: Broker, sink: Sink) -> None:
    answers = stream_across_restart(knpy_stack, broker, sink, "broker-dispatcher")
    # the ingress does not depend on the dispatcher: every event was accepted at once
    assert all(a == [202] for a in answers.values())


def test_ingress_restart_mid_stream_loses_no_accepted_event(
        knpy_stack: Eventing, broker: Broker, sink: Sink) -> None:
    # While the only ingress pod restarts, sends fail (no endpoint, or 503 while the new
    # pod connects to NATS); nothing that got a 202 may be lost.
    stream_across_restart(knpy_stack, broker, sink, "broker-ingress")
