"""Source adapters: `python -m knpy.sources ping|apiserver` (docs/sources.md).

- ping: one multi-tenant process sends every PingSource's events on schedule; PingSources
  come from the API (cluster mode) or from a YAML file (standalone mode).
- apiserver: one process per ApiServerSource (the controller runs it as a Deployment);
  watches the configured resources and emits Knative's apiserver events.

Events are built with knpy.runtime.cloudevents and sent in binary mode. Imports no other
component (import-linter enforces it).
"""
