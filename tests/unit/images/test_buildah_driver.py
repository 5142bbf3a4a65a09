"""hack/lib/common.sh picks buildah's storage driver: overlay where an overlay mount works,
else vfs, each driver with a storage root of its own (docs/cluster.md, "Images")."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.procs import REPO

SHOW = ('. hack/lib/common.sh && use_buildah && echo "$KNPY_BUILDAH_DRIVER" '
        '&& echo "${BUILDAH[*]}"')


def source_common(cache: Path, script: str = SHOW, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "KNPY_BUILDAH_DRIVER"}
    full.update(KNPY_CACHE=str(cache), **env)
    return subprocess.run(["bash", "-c", script], cwd=REPO, env=full, capture_output=True,
                          text=True, timeout=30)


def test_scripts_that_do_not_build_never_probe(tmp_path: Path) -> None:
    p = source_common(tmp_path, '. hack/lib/common.sh && echo "${KNPY_BUILDAH_DRIVER:-}"')
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == ""
    assert not (tmp_path / "buildah").exists()


def test_the_override_chooses_the_driver_and_its_own_storage_root(tmp_path: Path) -> None:
    p = source_common(tmp_path, KNPY_BUILDAH_DRIVER="vfs")
    assert p.returncode == 0, p.stderr
    driver, argv = p.stdout.splitlines()
    assert driver == "vfs"
    assert argv.split() == ["buildah", "--root", f"{tmp_path}/buildah/vfs/root",
                            "--runroot", f"{tmp_path}/buildah/vfs/run", "--storage-driver", "vfs"]


def test_an_unknown_driver_is_refused_by_name(tmp_path: Path) -> None:
    p = source_common(tmp_path, KNPY_BUILDAH_DRIVER="btrfs")
    assert p.returncode == 2
    assert "KNPY_BUILDAH_DRIVER must be overlay or vfs, not 'btrfs'" in p.stderr


def test_the_probe_picks_a_driver_and_leaves_nothing_mounted_or_behind(tmp_path: Path) -> None:
    p = source_common(tmp_path)
    assert p.returncode == 0, p.stderr
    driver, argv = p.stdout.splitlines()
    # overlay needs root and a kernel that mounts it here; anything else falls back to vfs
    assert driver in ("overlay", "vfs")
    if os.geteuid() != 0:
        assert driver == "vfs"
    assert argv.endswith(f"--storage-driver {driver}")
    assert f"{tmp_path}/buildah/{driver}/root" in argv
    assert not list((tmp_path / "buildah").glob("probe.*"))
    assert str(tmp_path) not in Path("/proc/self/mounts").read_text()
