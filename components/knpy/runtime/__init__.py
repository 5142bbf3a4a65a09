"""Code the images share. Each sub-package is a layer; see docs/architecture.md."""
