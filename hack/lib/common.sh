# Shared settings for the hack/ scripts (sourced, not run).
# Everything the cluster and image tooling keeps lives under $KNPY_CACHE.
CACHE="${KNPY_CACHE:-$HOME/.cache/knpy}"
export KNPY_CACHE="$CACHE"
K8S_VERSION=v1.20.2
K8S_BIN="$CACHE/k8s/$K8S_VERSION/bin"
TOOLS_BIN="$CACHE/tools/bin"
# buildah keeps its own storage under the cache (vfs: works without overlay or fuse).
BUILDAH=(buildah --root "$CACHE/buildah/root" --runroot "$CACHE/buildah/run" --storage-driver vfs)
# Image names: dev.local is a registry Knative never resolves or pulls from, and a non-latest
# tag makes Kubernetes default to imagePullPolicy IfNotPresent.
IMAGE_PREFIX="${KNPY_IMAGE_PREFIX:-dev.local/knpy}"
IMAGE_TAG="${KNPY_IMAGE_TAG:-dev}"
BASE_IMAGE="docker.io/library/python:3.11-slim-bookworm"
# The org.opencontainers.image.source label of every image.
SOURCE_URL="${KNPY_SOURCE_URL:-https://github.com/knpy/knpy}"
# The component Dockerfiles' builder stage, kept tagged between runs (hack/images.sh).
BUILDER_REF=dev.local/knpy-cache/builder:latest
PAUSE_IMAGE="$IMAGE_PREFIX/pause:$IMAGE_TAG"
CONTAINERD_SOCK=/run/knpy/containerd/containerd.sock

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }
