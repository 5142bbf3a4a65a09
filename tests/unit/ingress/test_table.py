"""The gateway's routing table from KIngress specs: hosts per visibility, path order, the
weighted split, appendHeaders, and where a split's Service is reached."""

from __future__ import annotations

from collections import Counter

from knpy.ingress.backends import upstream_of
from knpy.ingress.handler import host_of
from knpy.ingress.table import build_table, compile_ingress


def kingress(rules: list[dict], ns: str = "ns") -> dict:
    return {"metadata": {"name": "r", "namespace": ns}, "spec": {"rules": rules}}


def split(name: str, pct: int | None, **headers: str) -> dict:
    s = {"serviceName": name, "serviceNamespace": "ns", "servicePort": 80,
         "appendHeaders": headers}
    if pct is not None:
        s["percent"] = pct
    return s


def rule(hosts: list[str], splits: list[dict], visibility: str = "ExternalIP",
         **path: object) -> dict:
    return {"hosts": hosts, "visibility": visibility,
            "http": {"paths": [{"splits": splits, **path}]}}


def test_external_rules_on_both_listeners_cluster_local_only_inside() -> None:
    t = build_table([compile_ingress(kingress([
        rule(["R.ns.example.com"], [split("a", 100)]),
        rule(["r.ns.svc.cluster.local"], [split("a", 100)], "ClusterLocal")]))])
    assert set(t.external) == {b"r.ns.example.com"}  # lower-cased
    assert set(t.internal) == {b"r.ns.example.com", b"r.ns.svc.cluster.local"}
    assert t.services() == {("ns", "a")}


def test_weighted_pick_follows_the_percents() -> None:
    (_, _, p), = compile_ingress(kingress([rule(["h"], [split("a", 25), split("b", 75)])]))
    picks = Counter(p.pick(i / 1000).name for i in range(1000))  # a uniform sweep
    assert picks == {"a": 250, "b": 750}
    (_, _, zero), = compile_ingress(kingress([rule(["h"], [split("a", 100), split("b", 0)])]))
    assert {zero.pick(i / 100).name for i in range(100)} == {"a"}
    (_, _, none), = compile_ingress(kingress([rule(["h"], [split("a", 0)])]))
    assert none.pick(0.5) is None  # explicitly 0%: nowhere
    (_, _, lone), = compile_ingress(kingress([rule(["h"], [split("a", None)])]))
    assert lone.pick(0.5).name == "a"  # a lone split with no percent takes all


def test_longest_prefix_and_header_matches_first() -> None:
    t = build_table([compile_ingress(kingress([
        {"hosts": ["h"], "http": {"paths": [
            {"splits": [split("root", 100)]},
            {"path": "/api", "splits": [split("api", 100)]},
            {"path": "/api", "headers": {"X-Canary": {"exact": "1"}},
             "splits": [split("canary", 100)]}]}}]))])
    assert [p.backends[0].name for p in t.internal[b"h"]] == ["canary", "api", "root"]
    assert t.internal[b"h"][0].headers == ((b"x-canary", b"1"),)


def test_append_headers_are_kept_as_raw_lines_and_names() -> None:
    (_, _, p), = compile_ingress(kingress([rule(
        ["h"], [split("a", 100, **{"Knative-Serving-Revision": "a"})],
        appendHeaders={"X-Tag": "t"}, rewriteHost="other.example")]))
    b = p.backends[0]
    assert (b.header_names, b.header_lines) == (frozenset({b"knative-serving-revision"}),
                                                b"Knative-Serving-Revision: a\r\n")
    assert (p.header_lines, p.rewrite_host) == (b"X-Tag: t\r\n", b"other.example")


def test_a_split_reaches_the_cluster_ip_or_the_external_name() -> None:
    assert upstream_of({"spec": {"clusterIP": "10.0.0.7"}}, 80) == ("10.0.0.7", 80)
    assert upstream_of({"spec": {"type": "ExternalName", "externalName": "x.example"}},
                       8080) == ("x.example", 8080)
    assert upstream_of({"spec": {"clusterIP": "None"}}, 80) is None  # headless
    assert upstream_of(None, 80) is None


def test_host_without_port() -> None:
    assert host_of(b"Hello.NS.example.com:8080") == b"hello.ns.example.com"
    assert host_of(b"[::1]:80") == b"[::1]"


def test_path_timeout_and_retries_from_the_kingress() -> None:
    (_, _, p), = compile_ingress(kingress([rule(["h"], [split("a", 100)], timeout="1m30s",
                                                retries={"attempts": 3,
                                                         "perTryTimeout": "2s"})]))
    assert (p.timeout, p.attempts) == (90.0, 3)
    (_, _, p), = compile_ingress(kingress([rule(["h"], [split("a", 100)], timeout="soon",
                                                retries={"attempts": -1})]))
    assert (p.timeout, p.attempts) == (0.0, 0)  # unusable values: no limit, no retries
