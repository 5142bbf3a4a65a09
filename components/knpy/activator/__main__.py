"""`python -m knpy.activator` (flags and env: see config.py and docs/activator.md)."""

from knpy.activator.main import amain
from knpy.runtime.process import run

run(amain)
