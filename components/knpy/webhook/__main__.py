"""`python -m knpy.webhook`: the admission webhook over TLS (flags: see main.py)."""

from knpy.runtime.process import run
from knpy.webhook.main import amain

run(amain)
