"""eventing.knative.dev API groups."""
