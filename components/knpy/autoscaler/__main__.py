"""`python -m knpy.autoscaler` (flags and the standalone file: see main.py)."""

from knpy.autoscaler.main import amain
from knpy.runtime.process import run

run(amain)
