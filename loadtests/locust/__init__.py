"""Locust load scenarios with SLOs (`make loadtest`, docs/loadtest.md).

`python -m loadtests.locust` starts the processes a scenario needs (or finds them on the
cluster), runs Locust headless as a subprocess with a locustfile of this package, reads the
raw latencies that locustfile recorded, and prints `RESULT` lines and one `SLO` verdict per
objective; the exit code is non-zero when an objective is missed.

The orchestrator never imports locust (it monkey-patches the process with gevent on
import); only the `lf_*.py` locustfiles and `recorder.py`, which run inside Locust, do.
"""
