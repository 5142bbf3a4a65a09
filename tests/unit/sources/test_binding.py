"""SinkBinding injection rules on pod templates (pure)."""

from __future__ import annotations

import copy

from knpy.controller.sources.binding import bind, unbind


def deployment(env=None, init=False) -> dict:
    c = {"name": "app", "image": "x"}
    if env is not None:
        c["env"] = env
    spec = {"containers": [c, {"name": "side", "image": "y"}]}
    if init:
        spec["initContainers"] = [{"name": "init", "image": "z"}]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": spec}}}


def env(o: dict, i: int = 0, key: str = "containers") -> list:
    return o["spec"]["template"]["spec"][key][i].get("env", [])


def test_bind_adds_to_every_container_and_keeps_other_env() -> None:
    d = deployment(env=[{"name": "A", "value": "1"}], init=True)
    assert bind(d, "http://sink/", '{"extensions":{"a":"b"}}')
    assert env(d) == [{"name": "A", "value": "1"}, {"name": "K_SINK", "value": "http://sink/"},
                      {"name": "K_CE_OVERRIDES", "value": '{"extensions":{"a":"b"}}'}]
    assert env(d, 1)[0] == {"name": "K_SINK", "value": "http://sink/"}
    assert env(d, 0, "initContainers")[0]["name"] == "K_SINK"
    before = copy.deepcopy(d)
    assert not bind(d, "http://sink/", '{"extensions":{"a":"b"}}'), "idempotent"
    assert d == before


def test_bind_replaces_in_place_and_drops_stale_overrides() -> None:
    d = deployment(env=[{"name": "K_SINK", "value": "http://old/"}, {"name": "B", "value": "2"},
                        {"name": "K_CE_OVERRIDES", "value": "{}"}])
    assert bind(d, "http://new/", None)
    assert env(d) == [{"name": "K_SINK", "value": "http://new/"}, {"name": "B", "value": "2"}]


def test_unbind_removes_only_what_binding_added() -> None:
    d = deployment(env=[{"name": "A", "value": "1"}])
    bind(d, "http://sink/", "{}")
    assert unbind(d)
    assert env(d) == [{"name": "A", "value": "1"}]
    assert "env" not in d["spec"]["template"]["spec"]["containers"][1]
    assert not unbind(d)


def test_cronjob_and_non_podspecables() -> None:
    cj = {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "containers": [{"name": "c", "image": "i"}]}}}}}}
    assert bind(cj, "http://s/", None)
    assert cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "K_SINK", "value": "http://s/"}]
    assert not bind({"kind": "ConfigMap", "data": {}}, "http://s/", None)


def test_bound_subjects_carry_the_binding_name_until_unbound() -> None:
    from knpy.controller.sources.binding import BOUND_BY, bound_by
    d = deployment()
    d["metadata"] = {"name": "app", "annotations": {"other": "x"}}
    assert bind(d, "http://s/", None, "sb")
    assert bound_by(d) == "sb" and d["metadata"]["annotations"]["other"] == "x"
    assert not bind(d, "http://s/", None, "sb")
    assert unbind(d)
    assert BOUND_BY not in d["metadata"]["annotations"] and bound_by(d) is None
