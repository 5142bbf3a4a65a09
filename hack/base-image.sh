#!/usr/bin/env bash
# Build the local base image the Dockerfiles' FROM lines name
# (docker.io/library/python:3.11-slim-bookworm): nothing can be pulled here, so we make a
# Debian bookworm root filesystem with debootstrap (python3 + pip) and commit it under that
# name into buildah's storage. The rootfs tarball is cached under $KNPY_CACHE/images/base.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/lib/common.sh"
use_buildah
DIR="$CACHE/images/base"
TARBALL="$DIR/rootfs.tar"
# Bump when the root filesystem recipe below changes (forces a new debootstrap).
RECIPE=base-1
MIRROR="${KNPY_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ "$(cat "$DIR/STAMP" 2>/dev/null)" != "$RECIPE" ] || [ ! -f "$TARBALL" ]; then
  "$HERE/sysdeps.sh" debootstrap
  log "base-image: debootstrap bookworm (a few minutes the first time)"
  rm -rf "$DIR" && mkdir -p "$DIR"
  root="$DIR/rootfs"
  # python3-pip brings pip; python-is-python3 gives `python`, as in the official image.
  timeout 1500 debootstrap --variant=minbase \
    --include=python3,python3-pip,python-is-python3,ca-certificates,netbase,tzdata \
    bookworm "$root" "$MIRROR" >"$DIR/debootstrap.log" 2>&1 \
    || { tail -20 "$DIR/debootstrap.log" >&2; die "base-image: debootstrap failed (log: $DIR/debootstrap.log)"; }
  # Debian marks its Python "externally managed" (PEP 668); an image's Python is ours to
  # pip-install into, as in the official image, so drop the marker.
  rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
  ln -sf pip3 "$root/usr/bin/pip" 2>/dev/null || true
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
         "$root"/var/log/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
  tar -C "$root" --numeric-owner -cf "$TARBALL" .
  rm -rf "$root"
  echo "$RECIPE" >"$DIR/STAMP"
fi

if "${BUILDAH[@]}" inspect --type image "$BASE_IMAGE" >/dev/null 2>&1 \
   && [ "$(cat "$BUILDAH_STORE/base.stamp" 2>/dev/null)" = "$RECIPE" ]; then
  exit 0
fi
log "base-image: committing $BASE_IMAGE"
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
ln "$TARBALL" "$ctx/rootfs.tar" 2>/dev/null || cp "$TARBALL" "$ctx/rootfs.tar"
cat >"$ctx/Containerfile" <<'CF'
FROM scratch
ADD rootfs.tar /
ENV LANG=C.UTF-8 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
CMD ["python3"]
CF
timeout 600 "${BUILDAH[@]}" bud --isolation chroot --pull=never --layers=false -q \
  -t "$BASE_IMAGE" -f "$ctx/Containerfile" "$ctx" >/dev/null
mkdir -p "$BUILDAH_STORE" && echo "$RECIPE" >"$BUILDAH_STORE/base.stamp"
