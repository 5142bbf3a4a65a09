"""The KPA autoscaler: collects request stats per revision, decides the scale.

Layers inside the package, pure first:
`config` (config-autoscaler) and `settings` (per-revision annotations) -> `decider` (the KPA
scaling function) and `lifecycle` (bounds, activation, scale to zero) -> `collector`
(windowed averages) -> `scraper`, `scaletarget`, `processtarget` (I/O) -> `multiscaler`
(one loop over all revisions) -> `server` (websocket stats, HTTP API, metrics) and
`__main__`. Applying decisions to Kubernetes Deployments belongs to the controller.
"""
