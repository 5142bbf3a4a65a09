"""Print each OCI archive's uncompressed size: total, base layer, and what sits on top.

Usage: python hack/image_sizes.py ARCHIVE.tar...  (hack/images.sh sizes passes every built
image). The base is the first layer (the base image is one ADDed rootfs); "on top" is every
later layer, i.e. what the image's own Dockerfile adds. Standard library only.
"""

from __future__ import annotations

import gzip
import json
import sys
import tarfile
from pathlib import Path

MB = 1_000_000


def _blob(archive: tarfile.TarFile, digest: str) -> tarfile.ExFileObject:
    f = archive.extractfile("blobs/sha256/" + digest.split(":", 1)[1])
    assert f is not None
    return f


def _unpacked_size(archive: tarfile.TarFile, layer: dict) -> int:
    f = _blob(archive, layer["digest"])
    stream = gzip.GzipFile(fileobj=f) if layer["mediaType"].endswith("gzip") else f
    n = 0
    while chunk := stream.read(1 << 20):
        n += len(chunk)
    return n


def layer_sizes(path: Path) -> list[int]:
    with tarfile.open(path) as archive:
        index = json.load(archive.extractfile("index.json"))  # type: ignore[arg-type]
        manifest = json.load(_blob(archive, index["manifests"][0]["digest"]))
        return [_unpacked_size(archive, layer) for layer in manifest["layers"]]


def main(paths: list[str]) -> None:
    print(f"{'image':<16} {'total MB':>9} {'base MB':>8} {'on top MB':>10}")
    for p in map(Path, paths):
        sizes = layer_sizes(p)
        print(f"{p.stem:<16} {sum(sizes) / MB:>9.1f} {sizes[0] / MB:>8.1f} "
              f"{sum(sizes[1:]) / MB:>10.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
