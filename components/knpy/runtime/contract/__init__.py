"""Control-plane to data-plane contracts and wire formats; no I/O.

Modules here are pure data and codecs shared by components that must not import each
other (queue-proxy and activator produce `Stat`s, the autoscaler consumes them).
"""
