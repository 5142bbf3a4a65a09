"""Logging, metrics and tracing shared by every component; imports nothing from knpy.

Only the standard library at import time: the queue-proxy runs in every pod and loads this.
"""
