"""Webhook integration fixtures (shared with the controller tests)."""

from tests.integration.controller.kube import kube_crds  # noqa: F401
