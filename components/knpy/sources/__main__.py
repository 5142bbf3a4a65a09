"""`python -m knpy.sources ping|apiserver`: the source adapters (flags: see main.py)."""

from knpy.runtime.process import run
from knpy.sources.main import amain

run(amain)
