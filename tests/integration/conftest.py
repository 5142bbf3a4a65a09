"""Fixtures for every integration test that talks to a real kube-apiserver."""

from tests.support.apiserver import (  # noqa: F401
    client,
    kube_crds,
    kube_flows,
    kube_messaging,
    kube_sources,
)
