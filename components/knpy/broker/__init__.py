"""The broker: ingress and filter/dispatcher for Knative Eventing brokers.

Ingress accepts CloudEvents at /<namespace>/<broker> and answers 202 only once the event is
in the durable store; the dispatcher consumes one durable cursor per trigger, filters,
delivers, retries, dead-letters and re-ingests replies. The store is an `EventStore`
(NATS JetStream; an in-memory one exists for unit tests only).
Run: `python -m knpy.broker --contract FILE | --contract-configmap NS/NAME --role
ingress|dispatcher|all` (a file standalone, the controller's ConfigMap watched in a cluster).
"""
