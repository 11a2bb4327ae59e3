#!/usr/bin/env bash
# Makes (once) a Debian root filesystem with debootstrap for the capture tests:
# minbase plus Python, pip and a few Python packages, from this machine's own
# apt mirror. Usage: mk/rootfs.sh DIR   (does nothing when DIR is complete)
set -euo pipefail
dir=${1:?usage: rootfs.sh DIR}
[ -e "$dir/.complete" ] && exit 0
command -v debootstrap >/dev/null || { echo "rootfs: debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
mirror=$("$here/debian-mirror.py" "$suite")
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
echo "rootfs: debootstrap $suite into $dir"
debootstrap --variant=minbase \
	--include=python3,python3-pip,python3-venv,python3-yaml,python3-requests,python3-six,python3-packaging \
	"$suite" "$dir.tmp" "$mirror" >"$dir.log" 2>&1 || { tail -n 30 "$dir.log" >&2; exit 1; }
rm -rf "$dir.tmp/var/cache/apt/archives/"*.deb
mv "$dir.tmp" "$dir"
touch "$dir/.complete"
