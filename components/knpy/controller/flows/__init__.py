"""Flows reconcilers (flows.knative.dev/v1): Sequence and Parallel, on channels and
subscriptions."""
