#!/usr/bin/env python3
"""`make release VERSION=x.y.z [OUT=dist] [REGISTRY=...]`: the release artefacts in OUT.

- `<name>-<version>.tar` per image: an OCI archive (gzip layers) of the current tree's image
  `<registry>/<name>:<version>`, built by `hack/images.sh archive` with the OCI labels
  (source, revision, version, created, title). The images: every component image plus
  every other image the chart runs (nats-server).
- `knpy-<version>.tgz`: charts/knpy packaged by `helm package` with version and appVersion
  VERSION and default images `<registry>/<name>:<version>` (values.yaml `image.registry`,
  `image.tag`), after `helm lint --strict`.
- `SHA256SUMS` over those files (`sha256sum -c SHA256SUMS` checks them).

VERSION must be a semantic version without build metadata (it is an image tag, which
cannot hold `+`). Nothing touches a cluster: no kubectl, no import into containerd.
`python -m hack.release VERSION [--out DIR] [--registry R] [--image NAME]...`
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from hack.deploy import CHART_IMAGES
from tests.support.cluster import HACK, IMAGE_PREFIX, TOOLS_BIN
from tests.support.extras import REPO, components, extra_of

CHART = REPO / "charts" / "knpy"
# semver.org's grammar, without the build metadata (+...): an image tag cannot hold `+`.
SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(-(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?")
TAG_MAX = 128  # the longest image tag a registry accepts
# host[:port]/path, lowercase (the distribution spec's repository name grammar, loosely)
REGISTRY = re.compile(r"[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*")
BUILD_TIMEOUT = 3600.0


class ReleaseError(RuntimeError):
    """A step failed; the message says which."""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}] release: {msg}", file=sys.stderr,
          flush=True)


# ---------------------------------------------------------------- pure parts
def check_version(version: str) -> str:
    """VERSION itself, or ValueError saying what a release version must look like."""
    if not version:
        raise ValueError("VERSION is required: make release VERSION=x.y.z (e.g. 0.2.0)")
    if "+" in version and SEMVER.fullmatch(version.split("+", 1)[0]):
        raise ValueError(f"VERSION {version!r}: build metadata (+...) cannot be part of an "
                         "image tag; drop it or use a pre-release (-...)")
    if not SEMVER.fullmatch(version):
        raise ValueError(f"VERSION {version!r} is not a semantic version x.y.z[-pre-release] "
                         "(e.g. 0.2.0 or 1.0.0-rc.1; no leading v)")
    if len(version) > TAG_MAX:
        raise ValueError(f"VERSION is {len(version)} characters; an image tag holds at most "
                         f"{TAG_MAX}")
    return version


def check_registry(registry: str) -> str:
    if not REGISTRY.fullmatch(registry):
        raise ValueError(f"registry {registry!r} is not an image name prefix like "
                         "ghcr.io/me/knpy (lowercase, no tag, no trailing /)")
    return registry


def release_images() -> list[str]:
    """Every component image and every other image the chart runs."""
    return sorted({*map(extra_of, components()), *CHART_IMAGES})


def set_image_defaults(values: str, registry: str, tag: str) -> str:
    """values.yaml with `image.registry` and `image.tag` replaced, comments and layout kept.

    Edits lines (a YAML round trip would drop every comment, which is the chart's
    documentation) and checks the result parses to the new values."""
    lines = values.splitlines(keepends=True)
    try:
        start = lines.index("image:\n")
    except ValueError:
        raise ValueError("values.yaml has no top-level `image:` block") from None
    new = {"registry": registry, "tag": tag}
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if line.strip() and not line.startswith((" ", "#")):
            break  # the next top-level key
        m = re.fullmatch(r"  (registry|tag):[ \t]*[^#\s]*([ \t]+#.*)?\n?", line)
        if m and m.group(1) in new:
            lines[i] = f"  {m.group(1)}: {json.dumps(new.pop(m.group(1)))}{m.group(2) or ''}\n"
    if new:
        raise ValueError(f"values.yaml: image.{' and image.'.join(new)} not found")
    out = "".join(lines)
    image = yaml.safe_load(out)["image"]
    if (image["registry"], image["tag"]) != (registry, tag):
        raise ValueError(f"values.yaml: rewriting image gave {image}")
    return out


def format_checksums(digests: Mapping[str, str]) -> str:
    """`sha256sum` output for {file name: hex digest}, sorted by name."""
    return "".join(f"{digests[name]}  {name}\n" for name in sorted(digests))


def file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# ---------------------------------------------------------------- steps
def _run(argv: Sequence[str | Path], what: str, timeout: float,
         env: Mapping[str, str] | None = None, capture: bool = True) -> str:
    try:
        p = subprocess.run([str(a) for a in argv], capture_output=capture, text=True,
                           timeout=timeout, check=False, env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired as e:
        raise ReleaseError(f"{what} timed out after {timeout:.0f}s") from e
    if p.returncode != 0:
        detail = f":\n{(p.stderr or p.stdout).strip()[-3000:]}" if capture else ""
        raise ReleaseError(f"{what} failed (exit {p.returncode}){detail}")
    return p.stdout or ""


def build_archives(out: Path, version: str, registry: str, images: Sequence[str]) -> list[Path]:
    log(f"building {', '.join(images)} as {registry}/<name>:{version} (hack/images.sh archive)")
    # its progress lines go straight to our stderr: a full build takes minutes
    _run([HACK / "images.sh", "archive", out, *images], "hack/images.sh archive",
         BUILD_TIMEOUT, env={"KNPY_IMAGE_PREFIX": registry, "KNPY_IMAGE_TAG": version,
                             "PYTHON": sys.executable}, capture=False)
    archives = [out / f"{name}-{version}.tar" for name in images]
    if missing := [a.name for a in archives if not a.is_file()]:
        raise ReleaseError(f"hack/images.sh archive wrote no {', '.join(missing)}")
    return archives


def package_chart(out: Path, version: str, registry: str) -> Path:
    helm = TOOLS_BIN / "helm"
    if not helm.exists():
        raise ReleaseError(f"{helm} is missing: run `make kube-tools` (make release does)")
    log(f"packaging charts/knpy {version} with images {registry}/<name>:{version}")
    with tempfile.TemporaryDirectory(prefix="knpy-release-") as tmp:
        chart = Path(tmp) / "knpy"
        shutil.copytree(CHART, chart)
        values = chart / "values.yaml"
        values.write_text(set_image_defaults(values.read_text(), registry, version))
        _run([helm, "lint", "--strict", chart], "helm lint --strict", 120)
        _run([helm, "package", chart, "--version", version, "--app-version", version,
              "--destination", out], "helm package", 120)
    packaged = out / f"knpy-{version}.tgz"
    if not packaged.is_file():
        raise ReleaseError(f"helm package wrote no {packaged}")
    return packaged


def release(version: str, out: Path, registry: str, images: Sequence[str]) -> list[Path]:
    """Write the artefacts into out; returns them, SHA256SUMS last."""
    out.mkdir(parents=True, exist_ok=True)
    artefacts = [*build_archives(out, version, registry, images),
                 package_chart(out, version, registry)]
    sums = out / "SHA256SUMS"
    sums.write_text(format_checksums({a.name: file_sha256(a) for a in artefacts}))
    return [*artefacts, sums]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="make release", description=__doc__.split("\n\n")[0])
    ap.add_argument("version", help="semantic version x.y.z[-pre-release]")
    ap.add_argument("--out", type=Path, default=REPO / "dist", help="folder (default dist/)")
    ap.add_argument("--registry", default=IMAGE_PREFIX,
                    help=f"image name prefix the chart defaults to (default {IMAGE_PREFIX})")
    ap.add_argument("--image", action="append", dest="images", metavar="NAME",
                    help="only this image (repeatable; default: all)")
    args = ap.parse_args(argv)
    try:
        version = check_version(args.version)
        registry = check_registry(args.registry)
        images = args.images or release_images()
        if unknown := sorted(set(images) - set(release_images())):
            raise ValueError(f"no such image: {', '.join(unknown)} "
                             f"(images: {', '.join(release_images())})")
    except ValueError as e:
        print(f"release: {e}", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        artefacts = release(version, args.out.resolve(), registry, images)
    except ReleaseError as e:
        print(f"release: {e}", file=sys.stderr)
        return 1
    log(f"done in {time.monotonic() - started:.0f}s; in {args.out}:")
    for a in artefacts:
        print(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
