"""Serving reconcilers (ServerlessService here; the others beside it)."""
