#!/bin/sh
# The builder stage of Dockerfile.base, in two steps so that the slow one is cached:
#   image-builder.sh setup compile|prebuilt [APT_MIRROR]
#       compile: apt sources (APT_MIRROR when given), the toolchain and the static
#       libraries from Debian's sources (mk/static-deps.sh); prebuilt: nothing
#   image-builder.sh aero-init compile|prebuilt
#       puts the static aero-init at /out/aero-init: built from /src, or taken from
#       /src/prebuilt (build/static/aero-init of the context)
set -eu
step=$1
mode=$2
case "$mode" in compile | prebuilt) ;; *)
	echo "image-builder: AERO_INIT must be 'compile' or 'prebuilt', not '$mode'" >&2
	exit 2
	;;
esac
mkdir -p /out
if [ "$step" = setup ]; then
	[ "$mode" = compile ] || exit 0
	mirror=${3:-}
	if [ -n "$mirror" ]; then
		. /etc/os-release
		rm -f /etc/apt/sources.list.d/*.sources
		printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$VERSION_CODENAME" \
			"$mirror" "$VERSION_CODENAME" >/etc/apt/sources.list
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		bash build-essential pkg-config dpkg-dev ca-certificates libssl-dev libc-ares-dev \
		libseccomp-dev libcap-dev libcurl4-openssl-dev libcjson-dev >/dev/null
	mk/enable-deb-src.sh
	apt-get update -qq
	mk/static-deps.sh build/deps
	touch build/deps/.ready
	rm -rf /var/lib/apt/lists/*
	exit 0
fi
if [ "$mode" = compile ]; then
	make -j"$(nproc)" build/static/aero-init
	cp build/static/aero-init /out/aero-init
	exit 0
fi
if [ ! -x prebuilt/aero-init ]; then
	echo "image-builder: AERO_INIT=prebuilt takes build/static/aero-init from the context," \
		"and there is none: run 'make static' first" >&2
	exit 1
fi
cp prebuilt/aero-init /out/aero-init
# It must run here, with no library of the builder's: a static binary does.
/out/aero-init --version
