"""e2e: Eventing beyond one Broker and Trigger, on the chart's real stack (issue 14 §4,
docs/eventing-e2e.md): a Channel with two Subscriptions, a Sequence of two steps, a
dead-letter sink behind a subscriber that keeps failing, and PingSource -> Broker ->
Trigger -> a Knative Service at zero pods that scales up to handle the event.

Each test has its own namespace, deleted at its end. Sinks and steps are plain Deployments
+ Services of the harness's sample images (event-display keeps what it received for
`GET /events`; with ECHO it replies with the event, its type changed by REPLY_TYPE), read
from the host through their ClusterIPs. No warm-up: an object reporting Ready is served by
the data plane (docs/controller.md, "Ready means flowing"), so the first event sent right
then must be accepted and delivered.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from cloudevents.core.bindings import http as ce_http  # type: ignore[import-not-found]
from cloudevents.core.formats.json import JSONFormat  # type: ignore[import-not-found]
from cloudevents.core.v1.event import CloudEvent  # type: ignore[import-not-found]

from tests.e2e.stack.conftest import PROBE_ERRORS, SYSTEM_NS, Eventing, Sink, post
from tests.e2e.stack.serving import diagnostics as serving_diagnostics
from tests.e2e.stack.serving import replicas, revision_url, serving_namespace, wait_scaled_to_zero
from tests.support.cluster import image_ref
from tests.support.poll import wait_until

pytestmark = pytest.mark.timeout(600)

# what the namespace teardown deletes first, while the controller runs (finalizers)
KNPY_KINDS = ("containersources", "pingsources", "sequences", "subscriptions", "channels",
              "triggers", "brokers", "ksvc")
INGRESS_HOST = f"broker-ingress.{SYSTEM_NS}.svc.cluster.local"
# `kubectl get channel NAME` is ambiguous: "channel" is also a category (Knative's, which
# the InMemoryChannel CRD carries too)
CHANNELS = "channels.messaging.knative.dev"


def namespace(ev: Eventing, prefix: str) -> contextlib.AbstractContextManager[str]:
    """A namespace of the test's own, deleted at its end: knpy's objects first, while the
    controller runs (Subscriptions carry a finalizer it removes)."""
    return serving_namespace(ev, prefix, KNPY_KINDS)


def app(name: str, image: str = "event-display", **env: str) -> str:
    """A Deployment + Service `name` (port 80 -> 8080) of a sample image, as JSON."""
    labels = {"app": name}
    container = {"name": "app", "image": image_ref(image), "imagePullPolicy": "Never",
                 "env": [{"name": k, "value": v} for k, v in env.items()],
                 "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                 "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": name, "labels": labels},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels},
                               "spec": {"containers": [container]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
         "spec": {"selector": labels,
                  "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}}]})


def start_apps(ev: Eventing, ns: str, apps: dict[str, str]) -> dict[str, Sink]:
    """Apply the apps, wait until each is rolled out; a Sink per app (read via ClusterIP)."""
    c = ev.cluster
    for manifest in apps.values():
        c.apply(manifest, namespace=ns)
    sinks = {}
    for name in apps:
        c.wait_for_rollout(ns, name, timeout=120)
        ip = c.kubectl("get", "svc", name, "-n", ns, "-o",
                       "jsonpath={.spec.clusterIP}").stdout.strip()
        sinks[name] = Sink(ns, ip)
    return sinks


def svc_ref(name: str) -> dict[str, Any]:
    return {"ref": {"apiVersion": "v1", "kind": "Service", "name": name}}


def event(type_: str, id_: str, data: Any) -> CloudEvent:
    return CloudEvent(attributes={"specversion": "1.0", "id": id_, "source": "/knpy/e2e/flows",
                                  "type": type_, "datacontenttype": "application/json"},
                      data=data)


def send(ev: Eventing, url: str, e: CloudEvent) -> int:
    """POST the event (binary mode) to an address as a pod would. Channel and flow
    addresses name ExternalName Services for the broker ingress, which routes by Host: so
    the request goes to the ingress's ClusterIP with the address's host."""
    target, _ = ev.cluster_url(f"http://{INGRESS_HOST}{urlsplit(url).path or '/'}")
    msg = ce_http.to_binary(e, JSONFormat())
    return post(target, urlsplit(url).netloc, dict(msg.headers), msg.body)


def received(sink: Sink, id_: str) -> list[dict[str, Any]]:
    return [e for e in sink.events() if e["id"] == id_]


def all_of(sink: Sink, ids: list[str]) -> list[dict[str, Any]] | None:
    """What the sink received, once it has every one of `ids`."""
    seen = sink.events()
    return seen if set(ids) <= {e["id"] for e in seen} else None


def diagnostics(ev: Eventing, ns: str) -> str:
    k = ev.cluster.kubectl
    return "\n".join([
        k("get", "channels,inmemorychannels,subscriptions,sequences,brokers,triggers,"
          "pingsources,deploy,svc,pods", "-n", ns, "-o", "wide", check=False).stdout,
        k("get", "inmemorychannels,subscriptions,sequences,triggers,pingsources", "-n", ns,
          "-o", "yaml", check=False).stdout[-5000:],
        ev.diagnostics(ns)])


def test_channel_with_two_subscriptions_delivers_every_event_to_both(
        knpy_stack: Eventing) -> None:
    ev = knpy_stack
    with namespace(ev, "ch") as ns:
        sinks = start_apps(ev, ns, {"sub-a": app("sub-a"), "sub-b": app("sub-b")})
        # a generic Channel: the webhook gives it default-ch-webhook's InMemoryChannel
        ev.cluster.apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "messaging.knative.dev/v1", "kind": "Channel",
             "metadata": {"name": "events"}},
            *({"apiVersion": "messaging.knative.dev/v1", "kind": "Subscription",
               "metadata": {"name": f"to-{s}"},
               "spec": {"channel": {"apiVersion": "messaging.knative.dev/v1",
                                    "kind": "Channel", "name": "events"},
                        "subscriber": svc_ref(f"sub-{s}")}} for s in "ab")]}), namespace=ns)
        t0 = time.monotonic()
        ch = ev.wait_ready(CHANNELS, "events", ns, detail=lambda: diagnostics(ev, ns))
        assert ch["spec"]["channelTemplate"]["kind"] == "InMemoryChannel"
        url = ch["status"]["address"]["url"]
        assert url == f"http://events-kn-channel.{ns}.svc.cluster.local"
        for s in "ab":
            sub = ev.wait_ready("subscription", f"to-{s}", ns, timeout=120,
                                detail=lambda: diagnostics(ev, ns))
            assert sub["status"]["physicalSubscription"]["subscriberUri"].rstrip("/") == \
                f"http://sub-{s}.{ns}.svc.cluster.local"
        # both subscribers listed on the (backing) channel, ready
        ch = ev.get(CHANNELS, "events", ns)
        assert len(ch["status"]["subscribers"]) == 2
        assert {s["ready"] for s in ch["status"]["subscribers"]} == {"True"}
        print(f"\nChannel and 2 Subscriptions Ready {time.monotonic() - t0:.1f}s after apply")

        ids = [f"ch-{i}-{uuid.uuid4().hex[:6]}" for i in range(5)]
        for i, id_ in enumerate(ids):
            assert send(ev, url, event("dev.knpy.e2e.channel", id_, {"i": i})) == 202
        for name, sink in sinks.items():
            got = wait_until(lambda sink=sink: all_of(sink, ids), 60, f"every event at {name}",
                             every=1.0, ignore=PROBE_ERRORS, detail=lambda: diagnostics(ev, ns))
            for e in got:
                assert e["type"] == "dev.knpy.e2e.channel" and "knativearrivaltime" in e
            print(f"{name}: {len(ids)} events, "
                  f"{sum(e['id'] in ids for e in got) - len(ids)} duplicate(s)")


def test_sequence_of_two_steps_ends_in_the_reply_sink(knpy_stack: Eventing) -> None:
    ev = knpy_stack
    with namespace(ev, "seq") as ns:
        # each step replies with the event it got, typed as its own output
        sinks = start_apps(ev, ns, {
            "step-1": app("step-1", ECHO="true", REPLY_TYPE="dev.knpy.e2e.step1"),
            "step-2": app("step-2", ECHO="true", REPLY_TYPE="dev.knpy.e2e.step2"),
            "final": app("final")})
        ev.cluster.apply(json.dumps({
            "apiVersion": "flows.knative.dev/v1", "kind": "Sequence",
            "metadata": {"name": "pipeline"},
            "spec": {"steps": [svc_ref("step-1"), svc_ref("step-2")],
                     "reply": svc_ref("final")}}), namespace=ns)
        t0 = time.monotonic()
        seq = ev.wait_ready("sequence", "pipeline", ns, detail=lambda: diagnostics(ev, ns))
        print(f"\nSequence Ready {time.monotonic() - t0:.1f}s after apply")
        url = seq["status"]["address"]["url"]
        assert url == f"http://pipeline-kn-sequence-0-kn-channel.{ns}.svc.cluster.local"
        assert [s["channel"]["name"] for s in seq["status"]["channelStatuses"]] == [
            "pipeline-kn-sequence-0", "pipeline-kn-sequence-1"]

        id_ = f"seq-{uuid.uuid4().hex[:6]}"
        t1 = time.monotonic()
        assert send(ev, url, event("dev.knpy.e2e.order", id_, {"order": 7})) == 202
        (out,) = wait_until(lambda: received(sinks["final"], id_), 60,
                            "the event at the Sequence's reply", every=0.5,
                            ignore=PROBE_ERRORS, detail=lambda: diagnostics(ev, ns))
        print(f"through 2 steps to the reply in {time.monotonic() - t1:.2f}s")
        # in order: step 1 got the original, step 2 step 1's reply, the reply step 2's
        assert [e["type"] for e in received(sinks["step-1"], id_)] == ["dev.knpy.e2e.order"]
        assert [e["type"] for e in received(sinks["step-2"], id_)] == ["dev.knpy.e2e.step1"]
        assert out["type"] == "dev.knpy.e2e.step2"
        assert out["data"] == {"order": 7} and out["source"] == "/knpy/e2e/flows"


def test_dead_letter_sink_gets_the_event_a_subscriber_keeps_failing(
        knpy_stack: Eventing) -> None:
    ev = knpy_stack
    with namespace(ev, "dls") as ns:
        # helloworld answers every POST with 501: a subscriber that always fails
        sinks = start_apps(ev, ns, {"failing": app("failing", image="helloworld"),
                                    "dls": app("dls")})
        ev.cluster.apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
             "metadata": {"name": "default"}},
            {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger",
             "metadata": {"name": "to-failing"},
             "spec": {"broker": "default", "subscriber": svc_ref("failing"),
                      "delivery": {"retry": 1, "backoffPolicy": "linear",
                                   "backoffDelay": "PT0.2S",
                                   "deadLetterSink": svc_ref("dls")}}}]}), namespace=ns)
        broker = ev.wait_ready("broker", "default", ns, detail=lambda: diagnostics(ev, ns))
        trigger = ev.wait_ready("trigger", "to-failing", ns, detail=lambda: diagnostics(ev, ns))
        subscriber = trigger["status"]["subscriberUri"]
        assert subscriber.rstrip("/") == f"http://failing.{ns}.svc.cluster.local"
        assert trigger["status"]["deadLetterSinkUri"].rstrip("/") == \
            f"http://dls.{ns}.svc.cluster.local"

        id_ = f"dls-{uuid.uuid4().hex[:6]}"
        assert send(ev, broker["status"]["address"]["url"],
                    event("dev.knpy.e2e.doomed", id_, {"n": 1})) == 202
        (dead,) = wait_until(lambda: received(sinks["dls"], id_), 60,
                             "the event at the dead-letter sink", every=0.5,
                             ignore=PROBE_ERRORS, detail=lambda: diagnostics(ev, ns))
        assert dead["knativeerrordest"] == subscriber
        assert dead["knativeerrorcode"] == "501"
        assert dead["type"] == "dev.knpy.e2e.doomed" and dead["data"] == {"n": 1}
        # retry 1: the first attempt and one retry reached the subscriber, no more
        logs = ev.cluster.kubectl("logs", "-n", ns, "deployment/failing").stdout
        assert logs.count('"POST ') == 2, logs


def test_pingsource_event_scales_a_knative_service_up_from_zero(knpy_stack: Eventing) -> None:
    ev = knpy_stack
    c = ev.cluster
    adapter = ev.get("deployment", "knpy-pingsource-adapter", SYSTEM_NS)
    assert (adapter.get("status") or {}).get("availableReplicas"), \
        "the chart's PingSource adapter is not Available"
    with namespace(ev, "ping") as ns:
        def detail() -> str:
            return serving_diagnostics(ev, ns) + diagnostics(ev, ns) + c.kubectl(
                "logs", "-n", SYSTEM_NS, "deployment/knpy-pingsource-adapter", "--tail=30",
                check=False).stdout

        # the event display as a Knative Service (the shortest stable window Knative allows,
        # so it reaches zero sooner; the scale-to-zero grace stays config-autoscaler's)
        c.apply(json.dumps({
            "apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": "display"},
            "spec": {"template": {
                "metadata": {"annotations": {"autoscaling.knative.dev/window": "6s"}},
                "spec": {"containers": [{"image": image_ref("event-display"),
                                         "ports": [{"containerPort": 8080}]}]}}}}),
            namespace=ns)
        c.apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
             "metadata": {"name": "default"}},
            {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger",
             "metadata": {"name": "pings-to-display"},
             "spec": {"broker": "default",
                      "filter": {"attributes": {"type": "dev.knative.sources.ping"}},
                      "subscriber": {"ref": {"apiVersion": "serving.knative.dev/v1",
                                             "kind": "Service", "name": "display"}}}}]}),
            namespace=ns)
        ev.wait_ready("ksvc", "display", ns, timeout=240, detail=detail)
        broker = ev.wait_ready("broker", "default", ns, detail=detail)
        trigger = ev.wait_ready("trigger", "pings-to-display", ns, detail=detail)
        assert trigger["status"]["subscriberUri"].rstrip("/") == \
            f"http://display.{ns}.svc.cluster.local"
        rev = "display-00001"
        t0 = time.monotonic()
        wait_scaled_to_zero(ev, ns, rev)
        print(f"\nksvc display at zero {time.monotonic() - t0:.1f}s after Ready")

        c.apply(json.dumps({
            "apiVersion": "sources.knative.dev/v1", "kind": "PingSource",
            "metadata": {"name": "heartbeat"},
            "spec": {"schedule": "@every 10s", "contentType": "application/json",
                     "data": '{"hello": "ping"}',
                     "sink": {"ref": {"apiVersion": "eventing.knative.dev/v1",
                                      "kind": "Broker", "name": "default"}}}}),
            namespace=ns)
        t_ping = time.monotonic()
        ping = ev.wait_ready("pingsource", "heartbeat", ns, timeout=60, detail=detail)
        assert ping["status"]["sinkUri"] == broker["status"]["address"]["url"]
        source = f"/apis/v1/namespaces/{ns}/pingsources/heartbeat"
        assert ping["status"]["ceAttributes"] == [{"type": "dev.knative.sources.ping",
                                                   "source": source}]
        # nothing but the ping's event may wake the revision: the host looks at it only
        # once the autoscaler has scaled it up
        assert replicas(ev, ns, rev) == 0
        wait_until(lambda: replicas(ev, ns, rev) >= 1, 90, f"{rev} scaled up by the event",
                   every=0.5, ignore=PROBE_ERRORS, detail=detail)
        t_up = time.monotonic() - t_ping
        url, headers = revision_url(ev, ns, rev)

        def pings() -> list[dict[str, Any]]:
            _, body = c.http_get(url + "events", timeout=30, headers=headers)
            return [e for e in json.loads(body) if e["source"] == source]
        got = wait_until(pings, 90, "the ping event at the Knative Service", every=1.0,
                         ignore=PROBE_ERRORS, detail=detail)
        print(f"PingSource Ready -> revision scaled up {t_up:.1f}s, "
              f"-> event at the ksvc {time.monotonic() - t_ping:.1f}s")
        e = got[0]
        assert e["type"] == "dev.knative.sources.ping"
        assert e["data"] == {"hello": "ping"}
        assert e["datacontenttype"] == "application/json"
        assert "knativearrivaltime" in e  # it came through the Broker


# A ContainerSource's container: CloudEvents to $K_SINK (injected by its SinkBinding), one
# a second, as rekt's heartbeats image sends them (python from the sample image).
SENDER = """
import os, time, urllib.request
n = 0
while True:
    n += 1
    req = urllib.request.Request(os.environ["K_SINK"], data=b'{"n": %d}' % n, headers={
        "ce-specversion": "1.0", "ce-id": "beat-%d" % n, "ce-source": "/knpy/e2e/container",
        "ce-type": "dev.knpy.e2e.beat", "content-type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=5).read()
    except Exception as e:
        print("send failed:", e, flush=True)
    time.sleep(1)
"""


def test_container_source_sends_to_its_sink(knpy_stack: Eventing) -> None:
    """The controller creates the source's Deployment and SinkBinding in the user's
    namespace (its RBAC must allow both), the binding injects K_SINK, events arrive."""
    ev = knpy_stack
    with namespace(ev, "csrc") as ns:
        sinks = start_apps(ev, ns, {"display": app("display")})
        ev.cluster.apply(json.dumps({
            "apiVersion": "sources.knative.dev/v1", "kind": "ContainerSource",
            "metadata": {"name": "beats"},
            "spec": {"sink": svc_ref("display"),
                     "template": {"spec": {"containers": [{
                         "name": "sender", "image": image_ref("helloworld"),
                         "imagePullPolicy": "Never",
                         "command": ["python3", "-c", SENDER]}]}}}}), namespace=ns)
        src = ev.wait_ready("containersource", "beats", ns, timeout=180,
                            detail=lambda: diagnostics(ev, ns) + ev.cluster.kubectl(
                                "get", "containersources,sinkbindings", "-n", ns, "-o", "yaml",
                                check=False).stdout[-4000:])
        assert src["status"]["sinkUri"] == f"http://display.{ns}.svc.cluster.local"
        got = wait_until(lambda: [e for e in sinks["display"].events()
                                  if e["type"] == "dev.knpy.e2e.beat"] or None, 90,
                         "a beat at the display", every=1.0,
                         detail=lambda: diagnostics(ev, ns))
        assert got[0]["source"] == "/knpy/e2e/container"
