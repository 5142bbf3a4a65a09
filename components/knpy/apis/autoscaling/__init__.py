"""autoscaling.knative.dev: config-autoscaler, the revision annotations, and the internal
`autoscaling.internal.knative.dev/v1alpha1` PodAutoscaler."""
