"""Reconcilers of sources.knative.dev/v1: PingSource, SinkBinding, ApiServerSource and
ContainerSource, on the shared runtime (see docs/sources.md)."""
