"""hack/release.py (`make release`) without building anything: it refuses a bad VERSION,
registry or image name before any step runs, and its pure parts: the version grammar, the
chart's default images rewritten in place, and the checksum list."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hack.release import (
    CHART,
    check_registry,
    check_version,
    file_sha256,
    format_checksums,
    release_images,
    set_image_defaults,
)
from tests.support.extras import components, extra_of
from tests.support.procs import REPO


@pytest.mark.parametrize("version", ["0.1.0", "1.0.0", "10.20.30", "1.0.0-rc.1",
                                     "1.0.0-alpha-1.0.x-7", "0.0.0-0"])
def test_semantic_versions_are_accepted(version: str) -> None:
    assert check_version(version) == version


@pytest.mark.parametrize(("version", "says"), [
    ("", "VERSION is required"),
    ("1.2", "not a semantic version"),
    ("v1.2.3", "no leading v"),
    ("01.2.3", "not a semantic version"),
    ("1.2.3-", "not a semantic version"),
    ("1.2.3-01", "not a semantic version"),
    ("1.2.3 ", "not a semantic version"),
    ("1.2.3/x", "not a semantic version"),
    ("1.2.3+build.5", "build metadata"),
    ("1.2.3-" + "a" * 130, "at most 128"),
])
def test_bad_versions_are_refused_saying_why(version: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        check_version(version)


@pytest.mark.parametrize("registry", ["dev.local/knpy", "ghcr.io/me/knpy", "localhost:5000/k"])
def test_registries_are_accepted(registry: str) -> None:
    assert check_registry(registry) == registry


@pytest.mark.parametrize("registry", ["", "ghcr.io/me/", "Ghcr.io/me", "ghcr.io/me:1.0"])
def test_bad_registries_are_refused(registry: str) -> None:
    with pytest.raises(ValueError, match="image name prefix"):
        check_registry(registry)


def test_every_component_image_and_every_image_the_chart_runs_is_released() -> None:
    images = release_images()
    assert set(map(extra_of, components())) <= set(images)
    assert "nats-server" in images
    assert "queue-proxy" in images
    assert images == sorted(set(images))


VALUES = """\
# Images: <registry>/<name>:<tag>
image:
  registry: dev.local/knpy   # where they come from
  tag: dev
  pullPolicy: IfNotPresent
  digests: {}
imagePullSecrets: []
nats:
  image:
    name: nats-server
    tag: keep-me
"""


def test_chart_default_images_are_rewritten_keeping_comments() -> None:
    out = set_image_defaults(VALUES, "ghcr.io/me/knpy", "1.2.0")
    assert out == VALUES.replace("registry: dev.local/knpy", 'registry: "ghcr.io/me/knpy"') \
        .replace("tag: dev", 'tag: "1.2.0"')
    doc = yaml.safe_load(out)
    assert doc["image"]["registry"] == "ghcr.io/me/knpy" and doc["image"]["tag"] == "1.2.0"
    assert doc["nats"]["image"]["tag"] == "keep-me"


def test_the_real_values_file_is_rewritten() -> None:
    text = (CHART / "values.yaml").read_text()
    doc = yaml.safe_load(set_image_defaults(text, "ghcr.io/me/knpy", "0.3.0-rc.1"))
    assert (doc["image"]["registry"], doc["image"]["tag"]) == ("ghcr.io/me/knpy", "0.3.0-rc.1")
    assert doc == {**yaml.safe_load(text), "image": doc["image"]}


@pytest.mark.parametrize(("values", "says"), [
    ("images:\n  tag: dev\n", "no top-level `image:`"),
    ("image:\n  registry: r\nnats:\n  tag: dev\n", "image.tag not found"),
    ("image:\n  pullPolicy: Never\n", "image.registry and image.tag not found"),
])
def test_a_values_file_of_another_shape_is_refused(values: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        set_image_defaults(values, "r", "1.0.0")


def test_checksums_are_sha256sum_lines_sorted_by_name(tmp_path: Path) -> None:
    files = {"knpy-1.0.0.tgz": b"chart", "broker-1.0.0.tar": b"", "activator-1.0.0.tar": b"x"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    text = format_checksums({n: file_sha256(tmp_path / n) for n in files})
    assert text.splitlines() == [f"{hashlib.sha256(files[n]).hexdigest()}  {n}"
                                 for n in sorted(files)]
    (tmp_path / "SHA256SUMS").write_text(text)
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=30, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    (tmp_path / "broker-1.0.0.tar").write_bytes(b"tampered")
    assert subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=tmp_path,
                          capture_output=True, timeout=30, check=False).returncode != 0


@pytest.mark.parametrize(("options", "version", "says"), [
    ([], "1.2", "not a semantic version"),
    ([], "", "VERSION is required"),
    (["--registry", "Bad/"], "1.0.0", "image name prefix"),
    (["--image", "nope"], "1.0.0", "no such image: nope"),
])
def test_make_release_refuses_before_building_anything(tmp_path: Path, options: list[str],
                                                       version: str, says: str) -> None:
    out = tmp_path / "dist"
    p = subprocess.run([sys.executable, "-m", "hack.release", "--out", str(out), *options,
                        "--", version],
                       cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert p.returncode == 2, p.stderr
    assert says in p.stderr
    assert not out.exists()
