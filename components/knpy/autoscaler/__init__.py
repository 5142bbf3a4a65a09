"""The KPA autoscaler: collects request stats per revision, decides the scale.

Layers inside the package, pure first:
`config` (config-autoscaler) and `settings` (per-revision annotations) -> `decider` (the KPA
scaling function) and `lifecycle` (bounds, activation, scale to zero) -> `collector`
(windowed averages) -> `scraper`, `scaletarget`, `processtarget`, `deploymenttarget` (I/O)
-> `multiscaler` (one loop over all revisions) -> `cluster` (PodAutoscalers, cluster mode)
and `server` (websocket stats, HTTP API, metrics) -> `main`.
"""
