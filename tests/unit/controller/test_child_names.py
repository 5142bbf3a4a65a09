"""The names of Serving's children are Knative's (kmeta.ChildName), unchanged for short
parents, and the two components that name a revision's private Service agree on it."""

from __future__ import annotations

from knpy.apis.serving.v1 import Configuration
from knpy.autoscaler.cluster import private_service_name
from knpy.controller.serving.configuration import revision_name
from knpy.controller.serving.deployment import deployment_name
from knpy.controller.serving.sks_resources import private_name


def config(name: str, generation: int) -> Configuration:
    return Configuration({"apiVersion": "serving.knative.dev/v1", "kind": "Configuration",
                          "metadata": {"name": name, "namespace": "ns",
                                       "generation": generation},
                          "spec": {"template": {"spec": {"containers": [{"image": "i"}]}}}})


def test_short_names_are_unchanged() -> None:
    assert revision_name(config("hello", 1)) == "hello-00001"
    assert deployment_name("hello-00001") == "hello-00001-deployment"
    assert private_name("hello-00001") == "hello-00001-private"
    assert private_service_name("hello-00001", None) == "hello-00001-private"


def test_long_names_are_knatives() -> None:
    assert deployment_name("f" * 63) == \
        "ffffffffffffffffffff105d7597f637e83cc711605ac3ea4957-deployment"
    # the parent's first 25 characters, md5("c" * 63), the suffix
    assert revision_name(config("c" * 63, 7)) == \
        "ccccccccccccccccccccccccc" "bc1cbc032f9b2a1fa2ae54f8576beb7e" "-00007"


def test_the_autoscaler_and_the_sks_reconciler_name_a_long_private_service_alike() -> None:
    rev = "revision-timeout-does-not-exceed-timeout--lamvvcyd-00001"
    assert private_service_name(rev, None) == private_name(rev)
    assert len(private_name(rev)) == 63
