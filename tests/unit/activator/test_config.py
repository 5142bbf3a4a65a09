"""Standalone file shapes, flags, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from knpy.activator.config import load_file, parse_args, parse_standalone
from knpy.activator.revisions import RevisionConfig
from knpy.runtime.config import FieldError


def test_revisions_shape_with_defaults() -> None:
    sa = parse_standalone({"activators": ["10.0.0.2", "10.0.0.1"], "revisions": [
        {"name": "a", "backends": ["127.0.0.1:1", "[::1]:2"]},
        {"namespace": "ns", "name": "b", "containerConcurrency": 3, "timeoutSeconds": 5}]})
    assert sa.activators == ("10.0.0.2", "10.0.0.1")
    assert sa.revisions == (
        RevisionConfig("default", "a", 0, 300.0, ("127.0.0.1:1", "[::1]:2")),
        RevisionConfig("ns", "b", 3, 5.0, ()))


def test_autoscaler_endpoints_view_shape() -> None:
    doc = {"default/hello": {"mode": "Proxy", "desiredScale": 1, "containerConcurrency": 1,
                             "pods": ["127.0.0.1:4000"]}}
    sa = parse_standalone(doc)
    assert sa.revisions == (RevisionConfig("default", "hello", 1, 300.0, ("127.0.0.1:4000",)),)


def test_empty_file_means_nothing() -> None:
    assert parse_standalone(None).revisions == ()


@pytest.mark.parametrize(("doc", "path"), [
    ({"revisions": [{"name": "a", "backends": ["nope"]}]}, "revisions[0].backends[0]"),
    ({"revisions": [{"name": "a"}, {"name": "b", "containerConcurrency": -1}]},
     "revisions[1].containerConcurrency"),
    ({"revisions": [{"name": "a", "timeoutSeconds": "x"}]}, "revisions[0].timeoutSeconds"),
    ({"revisions": [{"namespace": "x"}]}, "revisions[0].name"),
    ({"revisions": [{"name": "a/b"}]}, "revisions[0].name"),
    ({"revisions": [{"name": "a", "colour": 1}]}, "revisions[0]"),
    ({"revisions": [{"name": "a"}, {"name": "a"}]}, "revisions[1]"),
    ({"revisions": {}}, "revisions"),
    ({"activators": "x"}, "activators"),
    ({"other": 1}, "other"),
    ({"default/x": {"pods": ["bad"]}}, "default/x.pods[0]"),
])
def test_errors_name_the_field(doc: object, path: str) -> None:
    with pytest.raises(FieldError) as e:
        parse_standalone(doc)
    assert path in str(e.value)


def test_bad_yaml(tmp_path: Path) -> None:
    p = tmp_path / "a.yaml"
    p.write_text("revisions: [")
    with pytest.raises(FieldError, match="not valid YAML"):
        load_file(p)


def test_flags() -> None:
    s = parse_args(["--port", "9000", "--revision", "ns/r", "--container-concurrency", "2",
                    "--backend", "127.0.0.1:1", "--backend", "127.0.0.1:2",
                    "--autoscaler-url", "ws://127.0.0.1:1/"], env={})
    assert s.port == 9000 and s.autoscaler_url == "ws://127.0.0.1:1/"
    assert s.flag_revision == RevisionConfig("ns", "r", 2, 300.0, ("127.0.0.1:1", "127.0.0.1:2"))
    assert parse_args([], env={"ACTIVATOR_PORT": "7000"}).port == 7000
    assert parse_args([], env={}).metrics_port == 0  # standalone: off unless asked for
    c = parse_args(["--cluster"], env={})
    assert c.autoscaler_url == "ws://autoscaler.knative-serving.svc.cluster.local:8080/"
    assert c.metrics_port == 9090 and c.drain_quiet_period == 15.0
    assert c.endpoints_api == "auto"
    assert parse_args(["--cluster", "--endpoints-api", "endpoints"], env={}).endpoints_api \
        == "endpoints"
    assert parse_args(["--cluster"], env={"ACTIVATOR_ENDPOINTS_API": "discovery.k8s.io/v1"}
                      ).endpoints_api == "discovery.k8s.io/v1"
    # announcements: served on 8014 only with the key
    assert (c.announce_port, c.announce_key) == (0, None)
    on = parse_args(["--cluster"], env={"KNPY_ANNOUNCE_KEY": "k"})
    assert (on.announce_port, on.announce_key) == (8014, b"k")
    assert parse_args(["--announce-port", "0"], env={"KNPY_ANNOUNCE_KEY": "k"}).announce_port == 0


@pytest.mark.parametrize(("argv", "env", "names"), [
    (["--port", "70000"], {}, "--port"),
    (["--revision", "nope"], {}, "--revision"),
    (["--revision", "a/b", "--backend", "x"], {}, "--backend"),
    (["--backend", "127.0.0.1:1"], {}, "--backend needs --revision"),
    (["--autoscaler-url", "http://x"], {}, "--autoscaler-url"),
    (["--queue-depth", "0"], {}, "--queue-depth"),
    ([], {"ACTIVATOR_PORT": "x"}, "ACTIVATOR_PORT"),
    (["--cluster", "--revision", "a/b"], {}, "--cluster"),
    (["--endpoints-api", "slices"], {}, "--endpoints-api"),
    ([], {"ACTIVATOR_ENDPOINTS_API": "v2"}, "ACTIVATOR_ENDPOINTS_API"),
    (["--announce-port", "70000"], {"KNPY_ANNOUNCE_KEY": "k"}, "--announce-port"),
    (["--announce-port", "8012"], {"KNPY_ANNOUNCE_KEY": "k"}, "--announce-port"),
])
def test_bad_flags_exit_2_naming_them(argv: list[str], env: dict[str, str], names: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        parse_args(argv, env=env)
    assert e.value.code == 2
    assert names in capsys.readouterr().err
