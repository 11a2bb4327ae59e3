#!/usr/bin/env bash
# The README's first command: runs the example experiment (examples/project) the
# way Aeromancy runs experiments, from a pristine Git commit, with local defaults
# and no accounts:
#   - with a Docker engine (DOCKER_HOST, else /var/run/docker.sock): aero-launch
#     builds the image from the commit FROM aeromancy/base (made first with
#     `make base-image` when the engine lacks it: no registry) and runs it with
#     aero-init as PID 1;
#   - without one: a note on stderr, then the same command as a dev run under
#     aero-init on this machine (recorded, but not reproducible).
# Either way it ends by saying where the run is recorded, and exits with the
# experiment's status (or aero-launch's own, see aero-launch(1)).
#   examples/quickstart.sh [ARGS...]      ARGS go to train.py (--epochs N, --lr X)
# AERO_LAUNCH names the aero-launch to use (default: build/aero-launch).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
launch=${AERO_LAUNCH:-$root/build/aero-launch}

say() { echo "quickstart: $*" >&2; }

[ -x "$launch" ] || { say "no $launch: run 'make static' first"; exit 1; }

# Why no engine can be used, or nothing when one answers.
engine_problem() {
	local where=${DOCKER_HOST:-unix:///var/run/docker.sock} err
	if ! command -v docker >/dev/null; then
		echo "the docker client is missing (sudo apt-get install docker.io)"
	elif ! err=$(docker version --format '{{.Server.Version}}' 2>&1 >/dev/null); then
		case $err in
		*"permission denied"*)
			echo "the Docker engine at $where refuses you (permission denied):" \
				"add yourself to the docker group (sudo usermod -aG docker \$USER," \
				"then log in again) or run this as root" ;;
		*)
			echo "no Docker engine answers at $where: start one" \
				"(sudo systemctl start docker, or sudo dockerd &)" ;;
		esac
	fi
}

run_ids() { "$launch" runs ls | awk 'NR > 1 { print $1 }'; }

# The example in a fresh repository with one commit: aero-launch builds from the
# commit, never from the directory. It has no upstream, hence --allow-unpushed.
work=$(mktemp -d "${TMPDIR:-/tmp}/aeromancy-quickstart.XXXXXX")
trap 'rm -rf "$work"' EXIT
repo=$work/aeromancy-example
cp -R "$root/examples/project" "$repo"
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" -c user.name="Aeromancy quickstart" -c user.email=quickstart@localhost \
	-c commit.gpgsign=false commit -q -m "The example experiment"

problem=$(engine_problem)
launch_args=(--allow-unpushed)
if [ -z "$problem" ]; then
	if ! docker image inspect aeromancy/base >/dev/null 2>&1; then
		say "building aeromancy/base (make base-image: a local Debian, no registry)"
		make -C "$root" base-image >&2 || {
			say "could not build aeromancy/base; the first time, 'make base-image'" \
				"debootstraps Debian, which needs root ('sudo make slim' does that part)"
			exit 1
		}
	fi
	# The example's Dockerfile installs Python with apt. An engine without a
	# bridge (dockerd --bridge=none) gives the build no network of its own.
	docker network inspect bridge >/dev/null 2>&1 || launch_args+=(--build-network host)
else
	say "$problem." \
		"Running the example as a dev run instead: under aero-init on this machine," \
		"recorded but not reproducible (no image, no pristine-commit check)."
	launch_args=(--dev)
	# The aeromancy client that aeromancy/base carries, for the host's python3.
	export PYTHONPATH=$root/image/python${PYTHONPATH:+:$PYTHONPATH}
fi

before=$(run_ids)
status=0
(cd "$repo" && "$launch" run "${launch_args[@]}" -- python3 train.py "$@") || status=$?

run=$(run_ids | awk -v before="$before" '
	BEGIN { n = split(before, old, "\n"); for (i = 1; i <= n; i++) seen[old[i]] = 1 }
	!($1 in seen) { print $1; exit }')
if [ -z "$run" ]; then
	say "no run was recorded (aero-launch exited $status; its message above says why)"
	exit "$status"
fi
dir=$("$launch" runs show "$run" | sed -n 's/^dir  *//p')
say "run $run exited $status; recorded in $dir"
say "look at it with: $launch runs show $run   (runs ls lists every run)"
exit "$status"
