# Importing saved OCI archives into the local cluster's containerd (sourced after common.sh;
# used by hack/images.sh and hack/conformance.sh).

# Import only into the cluster this cache runs (its containerd root is $CACHE/containerd):
# a build from another KNPY_CACHE must not load images into someone else's cluster.
containerd_up() {
  local pid
  pid="$(cat "${KNPY_CLUSTER_DIR:-$CACHE/cluster}/pids/containerd.pid" 2>/dev/null)" || return 1
  kill -0 "$pid" 2>/dev/null && [ -S "$CONTAINERD_SOCK" ] \
    && timeout 10 ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1
}

# ctr_import TAR REF INPUTS RECORD: import TAR (holding REF) unless containerd has REF and
# RECORD says it came from the same INPUTS (a file with the hash of the image's inputs).
# Keep RECORD under $CACHE/containerd/imported: it lives and dies with containerd's root.
ctr_import() {
  local tar="$1" ref="$2" inputs="$3" record="$4"
  mkdir -p "$(dirname "$record")"
  if [ "$(cat "$record" 2>/dev/null)" = "$(cat "$inputs")" ] \
     && timeout 30 ctr --address "$CONTAINERD_SOCK" -n k8s.io images ls -q | grep -xF "$ref" >/dev/null; then
    return 0
  fi
  log "importing $ref into containerd"
  timeout 600 ctr --address "$CONTAINERD_SOCK" -n k8s.io images import "$tar" >/dev/null \
    || die "ctr import of $tar failed"
  timeout 30 ctr --address "$CONTAINERD_SOCK" -n k8s.io images ls -q | grep -xF "$ref" >/dev/null \
    || die "$ref not in containerd after importing $tar"
  cp "$inputs" "$record"
}
