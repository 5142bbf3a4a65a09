"""Kubernetes API types of knpy's CRDs: types, defaults, validation and lifecycle.

One file suffix per concern (`broker_types.py`, `broker_defaults.py`,
`broker_validation.py`, `broker_lifecycle.py`), as knative/serving does. Objects are thin
typed views over the raw dicts the API server sends, so unknown fields survive round trips.
Pure: imports only `knpy.runtime.config` (FieldError) and the pure `knpy.runtime.eventfilter`.
"""
