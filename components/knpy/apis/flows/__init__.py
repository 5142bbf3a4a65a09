"""flows.knative.dev: Sequence and Parallel."""
