#!/usr/bin/env bash
# Installs every Debian package that building and testing Aeromancy needs, and
# enables source packages so that `make static` can `apt-get source` the
# libraries it builds itself. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
	build-essential pkg-config file dpkg-dev ca-certificates
	libcurl4-openssl-dev libcjson-dev libseccomp-dev libcap-dev libc-ares-dev
	libssl-dev libcmocka-dev libgit2-dev
	python3 python3-pytest bash util-linux procps groff-base curl
	tini dumb-init debootstrap time docker.io
	clang-tidy cppcheck clang-format clang libclang-rt-14-dev libyaml-dev
	docker-registry apache2-utils python3-yaml
	openssl valgrind faketime graphviz
)
# The store tests (tests/e2e/test_store.py) and bench/store.py also need
# moto_server and the aws CLI, which come with the machine image's Python (no
# pip here: PyPI is out of reach); without them those tests are skipped.
# The Kubernetes schema checker (tests/k8s) runs on Node.js; Debian's, unless
# the machine has one already.
command -v npm >/dev/null || packages+=(nodejs npm)

mk/enable-deb-src.sh
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "deps: installed ${#packages[@]} packages"
