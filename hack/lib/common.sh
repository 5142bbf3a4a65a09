# Shared settings for the hack/ scripts (sourced, not run).
# Everything the cluster and image tooling keeps lives under $KNPY_CACHE.
CACHE="${KNPY_CACHE:-$HOME/.cache/knpy}"
export KNPY_CACHE="$CACHE"
K8S_VERSION=v1.20.2
K8S_BIN="$CACHE/k8s/$K8S_VERSION/bin"
TOOLS_BIN="$CACHE/tools/bin"
# buildah's storage driver: overlay where the kernel mounts overlayfs on the cache's
# filesystem (as root here: ~9x faster builds, docs/cluster.md), else vfs, which works
# anywhere but copies the whole root filesystem at every step. KNPY_BUILDAH_DRIVER=vfs or
# overlay skips the probe; its result is exported, so the scripts a script runs reuse it.
# Only the scripts that build call use_buildah: the others have no reason to mount.
overlay_mounts() {  # overlay_mounts DIR: can the kernel mount overlayfs with its dirs in DIR?
  local t ok=1
  mkdir -p "$1" && t="$(mktemp -d "$1/probe.XXXXXX")" || return 1
  mkdir "$t/lower" "$t/upper" "$t/work" "$t/merged"
  if mount -t overlay overlay \
       -o "lowerdir=$t/lower,upperdir=$t/upper,workdir=$t/work" "$t/merged" 2>/dev/null; then
    umount "$t/merged" && ok=0
  fi
  rm -rf "$t"
  return $ok
}
use_buildah() {  # sets KNPY_BUILDAH_DRIVER, BUILDAH_STORE and the BUILDAH command
  if [ -z "${KNPY_BUILDAH_DRIVER:-}" ]; then
    if [ "$(id -u)" = 0 ] && overlay_mounts "$CACHE/buildah"; then KNPY_BUILDAH_DRIVER=overlay
    else KNPY_BUILDAH_DRIVER=vfs; fi
  fi
  case "$KNPY_BUILDAH_DRIVER" in
    overlay|vfs) export KNPY_BUILDAH_DRIVER ;;
    *) echo "error: KNPY_BUILDAH_DRIVER must be overlay or vfs, not '$KNPY_BUILDAH_DRIVER'" >&2
       exit 2 ;;
  esac
  # One storage root per driver: containers/storage refuses a root another driver made.
  BUILDAH_STORE="$CACHE/buildah/$KNPY_BUILDAH_DRIVER"
  BUILDAH=(buildah --root "$BUILDAH_STORE/root" --runroot "$BUILDAH_STORE/run"
           --storage-driver "$KNPY_BUILDAH_DRIVER")
}
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
