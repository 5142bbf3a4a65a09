#!/usr/bin/env bash
# Install the Debian packages named on the command line, if any are missing.
# Needs root (these machines run as root); never installs what is already there.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "sysdeps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "sysdeps: need root to apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Packages such as nginx and nats-server start a system service on install; we only want
# the binaries (tests start their own instances on 127.0.0.1), so deny service starts.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
fi
trap '[ "$own_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
