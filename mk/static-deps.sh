#!/usr/bin/env bash
# Builds the static archives that Debian does not ship in a usable form, from
# Debian's own source packages (apt-get source), into a cache directory:
#   libcurl.a  - HTTP(S) only, OpenSSL for TLS, c-ares for DNS (no NSS needed)
#   libcjson.a - Debian ships cJSON as a shared library only
# OpenSSL, c-ares, libseccomp and libcap come from Debian's -dev packages as is.
# Usage: mk/static-deps.sh DEPS_DIR   (skips what is already built)
set -euo pipefail

deps=$(realpath -m "${1:?usage: static-deps.sh DEPS_DIR}")
prefix=$deps/prefix
jobs=$(nproc 2>/dev/null || echo 2)
mkdir -p "$deps/src" "$prefix/lib" "$prefix/include"

fetch_source() { # PACKAGE -> prints the unpacked directory
	local pkg=$1 dir
	dir=$(find "$deps/src" -maxdepth 1 -type d -name "$pkg-*" | head -n 1)
	if [ -z "$dir" ]; then
		if ! (cd "$deps/src" && apt-get source -qq "$pkg" >"$deps/src/$pkg.log" 2>&1); then
			cat "$deps/src/$pkg.log" >&2
			echo "static-deps: 'apt-get source $pkg' failed; enable deb-src entries" \
				"(.ci/deps.sh does) and run 'apt-get update'" >&2
			exit 1
		fi
		dir=$(find "$deps/src" -maxdepth 1 -type d -name "$pkg-*" | head -n 1)
	fi
	printf '%s\n' "$dir"
}

build_cjson() {
	[ -e "$prefix/lib/libcjson.a" ] && return 0
	local src
	src=$(fetch_source cjson)
	echo "static-deps: building libcjson.a from $(basename "$src")"
	mkdir -p "$prefix/include/cjson"
	cc -O2 -fno-strict-aliasing -c "$src/cJSON.c" -o "$deps/cJSON.o"
	ar rcs "$prefix/lib/libcjson.a" "$deps/cJSON.o"
	cp "$src/cJSON.h" "$prefix/include/cjson/cJSON.h"
}

build_curl() {
	[ -e "$prefix/lib/libcurl.a" ] && return 0
	local src
	src=$(fetch_source curl)
	echo "static-deps: building libcurl.a from $(basename "$src") (HTTP(S), OpenSSL, c-ares)"
	rm -rf "$deps/curl-build"
	mkdir -p "$deps/curl-build"
	(
		cd "$deps/curl-build"
		"$src/configure" --quiet --prefix="$prefix" \
			--disable-shared --enable-static --disable-dependency-tracking \
			--with-openssl --enable-ares --enable-http --enable-ipv6 \
			--disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp \
			--disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap \
			--disable-smb --disable-smtp --disable-gopher --disable-mqtt \
			--disable-manual --disable-docs --disable-ntlm --disable-ntlm-wb \
			--disable-netrc --disable-alt-svc --without-libpsl --without-brotli \
			--without-zstd --without-nghttp2 --without-nghttp3 --without-ngtcp2 \
			--without-libidn2 --without-librtmp --without-libssh --without-libssh2 \
			--without-gssapi --without-zlib --without-libgsasl \
			--with-ca-fallback >"$deps/curl-configure.log" 2>&1 ||
			{ tail -n 30 "$deps/curl-configure.log" >&2; exit 1; }
		make -s -j"$jobs" -C lib >"$deps/curl-make.log" 2>&1 ||
			{ tail -n 30 "$deps/curl-make.log" >&2; exit 1; }
		make -s -C lib install >/dev/null
		make -s -C include install >/dev/null
	)
}

build_cjson
build_curl
echo "static-deps: ready in $prefix"
