"""Print each OCI archive's uncompressed size: total, base layer, and what sits on top.

Usage: python -m hack.image_sizes ARCHIVE.tar...  (hack/images.sh sizes passes every built
image; release archives work too). The base is the first layer (the base image is one
ADDed rootfs); "on top" is every later layer, i.e. what the image's own Dockerfile adds.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hack.oci_archive import layer_sizes

MB = 1_000_000


def main(paths: list[str]) -> None:
    print(f"{'image':<24} {'total MB':>9} {'base MB':>8} {'on top MB':>10}")
    for p in map(Path, paths):
        sizes = layer_sizes(p)
        print(f"{p.stem:<24} {sum(sizes) / MB:>9.1f} {sizes[0] / MB:>8.1f} "
              f"{sum(sizes[1:]) / MB:>10.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
