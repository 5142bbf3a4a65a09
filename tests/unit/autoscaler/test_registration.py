"""Revision registrations (standalone YAML / HTTP API JSON): accepted shapes and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from knpy.autoscaler.main import load_file
from knpy.autoscaler.processtarget import ProcessScaleTarget
from knpy.autoscaler.registration import parse_registration
from knpy.autoscaler.scaletarget import ScaleTarget, StaticScaleTarget
from knpy.runtime.config import FieldError


def test_static_pods_shorthand_and_full() -> None:
    reg = parse_registration({"name": "r1", "pods": [
        "127.0.0.1:9090",
        {"name": "p2", "address": "127.0.0.1:8013", "metricsUrl": "http://127.0.0.1:9091/m"},
    ]})
    assert reg.spec.key == "default/r1"
    target = reg.make_target(None)
    assert isinstance(target, StaticScaleTarget) and isinstance(target, ScaleTarget)
    assert [p.metrics_url for p in target.ready_pods()] == [
        "http://127.0.0.1:9090/metrics", "http://127.0.0.1:9091/m"]


def test_process_target_defaults_to_queue_proxy_pairs() -> None:
    reg = parse_registration({"namespace": "ns", "name": "r", "containerConcurrency": 3,
                              "process": {"user": ["app", "--port", "{user}"]}})
    target = reg.make_target(None)
    assert isinstance(target, ProcessScaleTarget)
    qp = target.template.processes[1]
    assert qp.argv[1:] == ("-m", "knpy.queue_proxy")
    assert qp.env["CONTAINER_CONCURRENCY"] == "3"
    assert qp.env["USER_PORT"] == "{user}"


@pytest.mark.parametrize(("raw", "path", "text"), [
    ({"pods": []}, "name", "missing field"),
    ({"name": "r"}, "pods, process", "missing field"),
    ({"name": "r", "pods": [], "process": {}}, "pods, process", "expected exactly one"),
    ({"name": "r", "pods": [5]}, "pods[0]", "host:port"),
    ({"name": "r", "pods": [{"name": "x"}]}, "pods[0].metricsUrl", "missing"),
    ({"name": "r", "containerConcurrency": -1, "pods": []}, "containerConcurrency", "[0, 1000]"),
    ({"name": "r", "annotations": [], "pods": []}, "annotations", "mapping"),
    ({"name": "r", "process": {"user": []}}, "process.user", "non-empty list"),
    ({"name": "r", "process": {"template": {"processes": [{"env": {}}]}}},
     "process.template.processes[0].argv", "missing"),
    ({"name": "r", "process": {"template": {"processes": [{"argv": ["x"]}],
                                            "servingPort": "nope"}}},
     "process.template.servingPort", "not in"),
    ({"name": "r", "activatorProbeUrl": "ftp://x", "pods": []}, "activatorProbeUrl", "http"),
])
def test_bad_registration_names_the_field(raw: dict, path: str, text: str) -> None:
    with pytest.raises(FieldError) as info:
        parse_registration(raw)
    assert path in str(info.value) and text in str(info.value)


def test_file_errors_carry_the_full_path(tmp_path: Path) -> None:
    f = tmp_path / "as.yaml"
    f.write_text("config:\n  stable-window: 1s\nrevisions: []\n")
    with pytest.raises(FieldError, match=r"config\.config-autoscaler\[stable-window\]"):
        load_file(f)
    f.write_text("revisions:\n- name: a\n  pods: []\n- name: b\n  pods: [7]\n")
    with pytest.raises(FieldError, match=r"revisions\[1\]\.pods\[0\]"):
        load_file(f)
    f.write_text("revisions:\n- name: a\n  pods: []\n- name: a\n  pods: []\n")
    with pytest.raises(FieldError, match=r"duplicate revision default/a"):
        load_file(f)
    f.write_text("config:\n  enable-scale-to-zero: false\n  stable-window: 6s\n"
                 "revisions:\n- name: a\n  pods: []\n")
    config, regs = load_file(f)
    assert not config.enable_scale_to_zero and config.stable_window == 6
    assert [r.spec.key for r in regs] == ["default/a"]
