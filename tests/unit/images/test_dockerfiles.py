"""Every component image installs its own extra and nothing else, from one shared builder
stage (docs/images.md)."""

from __future__ import annotations

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
TRACED = frozenset({"activator", "broker", "controller", "ingress", "queue_proxy", "webhook"})


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
