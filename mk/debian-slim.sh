#!/usr/bin/env bash
# Makes (once) a tarball of a minimal Debian root filesystem, the local stand-in
# for the registry's debian:SUITE-slim: debootstrap --variant=minbase from this
# machine's own apt mirror (which stays in the tree's sources.list, so apt works
# in the image), without documentation, man pages or apt lists, as the slim
# images are. Usage: mk/debian-slim.sh TARBALL [SUITE]   (nothing to do when
# TARBALL exists). Import it with: docker import TARBALL debian:SUITE-slim
set -euo pipefail
tarball=${1:?usage: debian-slim.sh TARBALL [SUITE]}
suite=${2:-$(. /etc/os-release && echo "$VERSION_CODENAME")}
[ -e "$tarball" ] && exit 0
command -v debootstrap >/dev/null ||
	{ echo "debian-slim: debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
mirror=$("$here/debian-mirror.py" "$suite")
mkdir -p "$(dirname "$tarball")"
work=$(mktemp -d "$(dirname "$tarball")/.slim.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "debian-slim: debootstrap --variant=minbase $suite from the host's mirror"
debootstrap --variant=minbase "$suite" "$work/root" "$mirror" >"$work/log" 2>&1 ||
	{ tail -n 30 "$work/log" >&2; exit 1; }
# What the slim images leave out; dpkg keeps its database, so capture still
# sees every package.
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* \
	"$work/root/usr/share/doc/"* "$work/root/usr/share/man/"* "$work/root/usr/share/info/"*
tar -C "$work/root" --numeric-owner -cf "$work/out.tar" \
	--exclude=./proc/* --exclude=./sys/* --exclude=./dev/* .
mv "$work/out.tar" "$tarball"
echo "debian-slim: $tarball"
