"""Group, version and kinds of flows.knative.dev/v1."""

GROUP = "flows.knative.dev"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"
SEQUENCES = "sequences"
PARALLELS = "parallels"
SEQUENCE_KIND = "Sequence"
PARALLEL_KIND = "Parallel"
