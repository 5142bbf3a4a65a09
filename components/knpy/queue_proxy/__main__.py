"""`python -m knpy.queue_proxy`: configured by Knative's env vars (see config.py)."""

from knpy.queue_proxy.main import amain
from knpy.runtime.process import run

run(amain)
