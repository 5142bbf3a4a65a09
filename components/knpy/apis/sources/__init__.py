"""sources.knative.dev API groups."""
