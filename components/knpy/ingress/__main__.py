"""`python -m knpy.ingress` (flags and env: see config.py and docs/routing.md)."""

from knpy.ingress.main import amain
from knpy.runtime.process import run

run(amain)
