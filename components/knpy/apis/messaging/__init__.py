"""messaging.knative.dev: Channel, InMemoryChannel and Subscription."""
