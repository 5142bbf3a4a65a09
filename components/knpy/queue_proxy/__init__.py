"""knpy's queue-proxy: the per-pod sidecar in front of the user container.

Knative-compatible: the same env vars, ports, probe headers and protobuf `Stat`. It is a
thin `Handler` on the shared proxy core (knpy.runtime.proxy) plus the breaker and request
stats hot paths. It is in every pod, so its import graph stays small: no Kubernetes client,
no aiohttp, no OpenTelemetry (see .importlinter and docs/dataplane.md).
"""
