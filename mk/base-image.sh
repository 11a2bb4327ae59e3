#!/usr/bin/env bash
# Builds aeromancy/base with the Docker engine of DOCKER_HOST, with no registry:
# debian:SUITE-slim is imported from a tarball made here (mk/debian-slim.sh) when
# the engine lacks it, and the builder's apt uses this machine's own mirror.
#   mk/base-image.sh [KEY=VALUE...]
#     MODE=prebuilt|compile   prebuilt (default): the static aero-init given by
#                             AERO_INIT_BINARY (default build/static/aero-init);
#                             compile: built in the builder stage (needs the mirror)
#     TAG=aeromancy/base      BASE_IMAGE=debian:SUITE-slim
#     SLIM_TARBALL=/var/tmp/aeromancy/debian-SUITE-slim.tar
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
MODE=prebuilt TAG=aeromancy/base BASE_IMAGE=debian:$suite-slim
AERO_INIT_BINARY=$root/build/static/aero-init
SLIM_TARBALL=/var/tmp/aeromancy/debian-$suite-slim.tar
for arg in "$@"; do
	case "$arg" in
	MODE=* | TAG=* | BASE_IMAGE=* | AERO_INIT_BINARY=* | SLIM_TARBALL=*) declare "$arg" ;;
	*) echo "base-image: unknown setting '$arg'" >&2; exit 2 ;;
	esac
done

if ! docker image inspect "debian:$suite-slim" >/dev/null 2>&1; then
	"$root/mk/debian-slim.sh" "$SLIM_TARBALL" "$suite"
	echo "base-image: docker import $SLIM_TARBALL debian:$suite-slim"
	docker import "$SLIM_TARBALL" "debian:$suite-slim" >/dev/null
fi

# The context: what Dockerfile.base copies, and nothing else.
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
(cd "$root" && cp -r Dockerfile.base .dockerignore Makefile mk lib shim image "$context/")
args=(--build-arg "AERO_INIT=$MODE" --build-arg "BASE_IMAGE=$BASE_IMAGE"
	--build-arg "VERSION=$(sed -n 's/^VERSION := //p' "$root/Makefile")")
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || true)
[ -n "$revision" ] && args+=(--build-arg "REVISION=$revision")
if [ "$MODE" = prebuilt ]; then
	[ -x "$AERO_INIT_BINARY" ] ||
		{ echo "base-image: no $AERO_INIT_BINARY: run 'make static' first" >&2; exit 1; }
	mkdir -p "$context/build/static"
	cp "$AERO_INIT_BINARY" "$context/build/static/aero-init"
else
	# The builder reaches the mirror through the host's network.
	args+=(--network host --build-arg "APT_MIRROR=$("$root/mk/debian-mirror.py" "$suite")")
fi
docker build -q -f "$context/Dockerfile.base" -t "$TAG" "${args[@]}" "$context"
