#!/usr/bin/env bash
# Installs every Debian package that building and testing Aeromancy needs, and
# enables source packages (deb-src) from the machine's own apt mirror so that
# `make static` can `apt-get source` the libraries it links in.
set -euo pipefail

enable_deb_src() {
	local src=/etc/apt/sources.list.d/aeromancy-deb-src.sources
	[ -e "$src" ] && return 0
	local found=0
	# deb822 files: copy each stanza whose Types has "deb", as deb-src.
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -e "$f" ] || continue
		case "$f" in *aeromancy*) continue ;; esac
		if grep -qi '^Types:.*\bdeb\b' "$f" && grep -qi 'debian' "$f"; then
			sed -e 's/^Types:.*/Types: deb-src/I' "$f" >>"$src.tmp"
			printf '\n' >>"$src.tmp"
			found=1
		fi
	done
	# One-line sources.list entries.
	if [ -e /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list; then
		grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
			>/etc/apt/sources.list.d/aeromancy-deb-src.list
		found=1
	fi
	if [ -e "$src.tmp" ]; then mv "$src.tmp" "$src"; fi
	[ "$found" = 1 ] || { echo "deps: no Debian apt source found to derive deb-src from" >&2; return 1; }
}

packages=(
	build-essential pkg-config file dpkg-dev
	libcurl4-openssl-dev libcjson-dev libseccomp-dev libcap-dev libc-ares-dev
	libssl-dev libgit2-dev zlib1g-dev
	libcmocka-dev python3 python3-pytest
	tini dumb-init util-linux procps
	clang-tidy cppcheck clang-format
)

enable_deb_src
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
