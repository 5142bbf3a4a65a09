"""Serving's config maps: Knative's keys and defaults, and every bad key named."""

from __future__ import annotations

import pytest

from knpy.apis.networking.config_network import render_template
from knpy.apis.serving.config_gc import DISABLED
from knpy.apis.serving.configmaps import SERVING_CONFIG_PARSERS
from knpy.runtime.config import FieldError


def test_every_config_map_parses_empty_to_knatives_defaults() -> None:
    c = {name: parse({}) for name, parse in SERVING_CONFIG_PARSERS.items()}
    assert (c["config-defaults"].revision_timeout_seconds,
            c["config-defaults"].max_revision_timeout_seconds,
            c["config-defaults"].container_concurrency) == (300, 600, 0)
    assert c["config-deployment"].progress_deadline == 600
    assert (c["config-gc"].retain_since_create_time, c["config-gc"].min_non_active_revisions,
            c["config-gc"].max_non_active_revisions) == (48 * 3600, 20, 1000)
    assert c["config-network"].domain_template == "{{.Name}}.{{.Namespace}}.{{.Domain}}"
    assert c["config-network"].tag_template == "{{.Tag}}-{{.Name}}"
    assert c["config-domain"].lookup({}) == "example.com"
    assert c["config-features"].enabled("kubernetes.podspec-emptydir")
    assert c["config-observability"].tracing_protocol == "none"
    assert c["config-autoscaler"].target_burst_capacity == 211


@pytest.mark.parametrize(("name", "data", "want"), [
    ("config-defaults", {"revision-timeout-seconds": "700"},
     "invalid value: 700: config-defaults[revision-timeout-seconds]\nmust not exceed "
     "max-revision-timeout-seconds (600)"),
    ("config-defaults", {"container-concurrency": "1001"},
     "invalid value: 1001: config-defaults[container-concurrency]\n"
     "must be between 0 and 1000"),
    ("config-deployment", {"progress-deadline": "-1s"},
     "config-deployment[progress-deadline]"),
    ("config-features", {"multi-container": "Enable"},
     "invalid value: enable: config-features[multi-container]"),
    ("config-gc", {"min-non-active-revisions": "30", "max-non-active-revisions": "10"},
     "invalid value: 30: config-gc[min-non-active-revisions]\nmust not exceed "
     "max-non-active-revisions (10)"),
    ("config-gc", {"retain-since-create-time": "soon"}, "config-gc[retain-since-create-time]"),
    ("config-network", {"domain-template": "{{.Name}}.{{.Domain}}"},
     "config-network[domain-template]"),
    ("config-network", {"tag-template": "{{.Tag}}-{{printf .Name}}"},
     "unsupported template action"),
    ("config-network", {"http-protocol": "Sometimes"}, "config-network[http-protocol]"),
    ("config-domain", {"Not A Domain": ""}, "config-domain[Not A Domain]"),
    ("config-domain", {"internal.example.org": "selector: [x]"},
     "config-domain[internal.example.org]"),
    ("config-observability", {"tracing-protocol": "grpc"},
     "invalid value: : config-observability[tracing-endpoint]\n"
     "required when tracing-protocol"),
    ("config-observability", {"tracing-sampling-rate": "2"},
     "config-observability[tracing-sampling-rate]"),
    ("config-autoscaler", {"stable-window": "1s"}, "config-autoscaler[stable-window]"),
])
def test_bad_keys_are_named(name: str, data: dict, want: str) -> None:
    with pytest.raises(FieldError) as info:
        SERVING_CONFIG_PARSERS[name](data)
    assert want in str(info.value)


def test_values_are_read() -> None:
    gc = SERVING_CONFIG_PARSERS["config-gc"]({"retain-since-create-time": "disabled",
                                              "max-non-active-revisions": "disabled"})
    assert gc.retain_since_create_time == DISABLED and gc.max_non_active_revisions == DISABLED
    dom = SERVING_CONFIG_PARSERS["config-domain"]({
        "example.org": "", "internal.example.org": "selector:\n  app: private\n"})
    assert dom.lookup({"app": "private"}) == "internal.example.org"
    assert dom.lookup({"app": "x"}) == "example.org"
    feats = SERVING_CONFIG_PARSERS["config-features"]({"kubernetes.podspec-affinity":
                                                       "enabled"})
    assert feats.state("kubernetes.podspec-affinity") == "Enabled"
    net = SERVING_CONFIG_PARSERS["config-network"]({"domain-template":
                                                    "{{.Name}}-{{.Namespace}}.{{.Domain}}"})
    assert render_template(net.domain_template, {"Name": "a", "Namespace": "b",
                                                 "Domain": "c.io"}) == "a-b.c.io"
    assert render_template('{{index .Annotations "x"}}.{{ .Name }}', {"Name": "n"},
                           annotations={"x": "y"}) == "y.n"
