"""`python -m knpy.controller`: run the reconcilers against the cluster (flags: main.py)."""

from knpy.controller.main import amain
from knpy.runtime.process import run

run(amain)
