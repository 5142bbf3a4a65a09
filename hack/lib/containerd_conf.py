"""Edit `containerd config default` (stdin) into the local cluster's config (stdout).

Each setting here was needed on these machines (docs/cluster.md): the VM refuses negative
oom_score_adj, CNI plugins live in /usr/lib/cni, the sandbox (pause) image is built locally,
and our root/state/socket paths keep this containerd apart from any other.
"""

from __future__ import annotations

import argparse
import re
import sys


def edit(text: str, a: argparse.Namespace) -> str:
    def set_key(key: str, value: str, count: int = 0) -> None:
        nonlocal text
        pattern = re.compile(rf'^(\s*{re.escape(key)}\s*=\s*).*$', re.M)
        text, n = pattern.subn(lambda m: m.group(1) + value, text, count=count)
        if n == 0:
            sys.exit(f"containerd_conf: key {key!r} not in the default config")

    set_key("root", f'"{a.root}"', count=1)
    set_key("state", f'"{a.state}"', count=1)
    # The first `address` under [grpc] is the socket; the others (debug, metrics, ttrpc)
    # stay empty.
    text = re.sub(r'(\[grpc\][^\[]*?\n\s*address\s*=\s*)"[^"]*"',
                  lambda m: m.group(1) + f'"{a.socket}"', text, count=1)
    set_key("restrict_oom_score_adj", "true")
    set_key("sandbox_image", f'"{a.sandbox_image}"')
    set_key("bin_dir", '"/usr/lib/cni"')
    set_key("conf_dir", f'"{a.cni_conf_dir}"')
    set_key("SystemdCgroup", "false")
    return text


def main() -> None:
    p = argparse.ArgumentParser()
    for flag in ("--root", "--state", "--socket", "--cni-conf-dir", "--sandbox-image"):
        p.add_argument(flag, required=True)
    sys.stdout.write(edit(sys.stdin.read(), p.parse_args()))


if __name__ == "__main__":
    main()
