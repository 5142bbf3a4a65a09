"""knpy's activator: holds requests for revisions with no ready pods, pokes the autoscaler,
probes pods, and load-balances into them (Knative's activator, wire-compatible).

A `Handler` on the shared proxy core (knpy.runtime.proxy); the per-pod breakers are the
shared hot-path Breaker. Backends come from the Kubernetes API (cluster mode) or from
flags / a watched file (standalone). See docs/activator.md.
"""
