#!/usr/bin/env bash
# Enables Debian source packages (deb-src) from the machine's own apt mirror,
# so that `apt-get source` works. Reads the mirror from the apt sources that
# are already configured; names no host of its own. Run as root.
set -euo pipefail

out=/etc/apt/sources.list.d/aeromancy-deb-src.sources
[ -e "$out" ] && exit 0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# deb822 files: each Debian stanza again, as deb-src.
for f in /etc/apt/sources.list.d/*.sources; do
	[ -e "$f" ] || continue
	[ "$f" = "$out" ] && continue
	if grep -qiE '^Types:.*\bdeb\b' "$f" && grep -qi 'debian' "$f"; then
		sed -e 's/^Types:.*/Types: deb-src/I' "$f" >>"$tmp"
		printf '\n' >>"$tmp"
	fi
done
# One-line sources.list entries.
if [ -e /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list; then
	grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
		>/etc/apt/sources.list.d/aeromancy-deb-src.list
fi
if [ -s "$tmp" ]; then
	install -m 0644 "$tmp" "$out"
elif [ ! -e /etc/apt/sources.list.d/aeromancy-deb-src.list ]; then
	echo "enable-deb-src: no Debian apt source found to derive deb-src entries from" >&2
	exit 1
fi
