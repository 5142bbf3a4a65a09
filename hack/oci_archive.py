"""Read an OCI image archive (`oci-archive:` layout in a tar: index.json + blobs/sha256/):
its reference, its image config and its layers' unpacked sizes. Standard library only.
"""

from __future__ import annotations

import gzip
import json
import tarfile
from pathlib import Path
from typing import IO, Any


def _blob(archive: tarfile.TarFile, digest: str) -> IO[bytes]:
    f = archive.extractfile("blobs/sha256/" + digest.split(":", 1)[1])
    if f is None:
        raise ValueError(f"blob {digest} is not a regular file")
    return f


def _index_entry(archive: tarfile.TarFile) -> dict[str, Any]:
    """The archive's one image: the first manifest its index.json names."""
    index = json.load(_member(archive, "index.json"))
    return index["manifests"][0]


def _member(archive: tarfile.TarFile, name: str) -> IO[bytes]:
    f = archive.extractfile(name)
    if f is None:
        raise ValueError(f"{name} is missing")
    return f


def _manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    return json.load(_blob(archive, _index_entry(archive)["digest"]))


def ref_name(path: Path) -> str:
    """The reference the archive was saved with (org.opencontainers.image.ref.name)."""
    with tarfile.open(path) as archive:
        return _index_entry(archive).get("annotations", {}).get(
            "org.opencontainers.image.ref.name", "")


def image_config(path: Path) -> dict[str, Any]:
    """The image config JSON: `config` holds Labels, User, Entrypoint, Cmd, Env, ..."""
    with tarfile.open(path) as archive:
        return json.load(_blob(archive, _manifest(archive)["config"]["digest"]))


def layer_sizes(path: Path) -> list[int]:
    """Each layer's unpacked size in bytes, base layer first (gzip layers are inflated)."""
    with tarfile.open(path) as archive:
        sizes = []
        for layer in _manifest(archive)["layers"]:
            f = _blob(archive, layer["digest"])
            stream = gzip.GzipFile(fileobj=f) if layer["mediaType"].endswith("gzip") else f
            n = 0
            while chunk := stream.read(1 << 20):
                n += len(chunk)
            sizes.append(n)
        return sizes
