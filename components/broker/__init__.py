"""The broker: ingress and filter/dispatcher for Knative Eventing brokers."""
