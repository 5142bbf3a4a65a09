"""Fixtures for every integration test that talks to a real kube-apiserver."""

from tests.support.apiserver import client, kube_crds, kube_messaging, kube_sources  # noqa: F401
