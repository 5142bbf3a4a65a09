"""Filter `iptables-save` output (stdin) down to what the local cluster did not create.

Drops every KUBE-* / CNI-* chain (kube-proxy, the kubelet and the CNI bridge plugin make
them) and every rule that lives in or jumps to one; the result goes to iptables-restore,
which rewrites each table atomically with everything else intact.
"""

from __future__ import annotations

import re
import sys

OURS = re.compile(r"^(KUBE-|CNI-)")


def keep(line: str) -> bool:
    if line.startswith(":"):
        return not OURS.match(line[1:])
    if line.startswith("-A "):
        parts = line.split()
        if OURS.match(parts[1]):
            return False
        for flag in ("-j", "-g", "--jump", "--goto"):
            if flag in parts:
                i = parts.index(flag)
                if i + 1 < len(parts) and OURS.match(parts[i + 1]):
                    return False
    return True


def main() -> None:
    sys.stdout.writelines(line for line in sys.stdin if keep(line))


if __name__ == "__main__":
    main()
