"""`python -m knpy.broker` (flags: see main.py and docs/broker.md)."""

from knpy.broker.main import amain
from knpy.runtime.process import run

run(amain)
