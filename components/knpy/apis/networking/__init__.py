"""networking.knative.dev: config-network and the internal
`networking.internal.knative.dev/v1alpha1` ServerlessService."""
