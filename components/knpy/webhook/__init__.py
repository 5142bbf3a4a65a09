"""The admission webhook image: defaulting + validation for knpy's CRDs and ConfigMaps,
served over TLS with a certificate it manages itself.

Run: `python -m knpy.webhook [--kubeconfig FILE]`. See docs/controller.md (Webhook).
"""
