"""Eventing reconcilers: Broker, Trigger, and the contract ConfigMap for the broker pods."""
