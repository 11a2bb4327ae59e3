#!/bin/sh
# Start-up cost of aero-init against Debian's tini, tini-static and dumb-init:
# each runs /bin/true, interleaved, many rounds. Ratios are to tini-static,
# the target being aero-init as a plain init (static, --no-record: no run
# directory, no capture) within 1.2x of it. "aero+record" is aero-init's
# default, recording the run: capturing the whole environment and writing the
# manifest to a run directory before it starts the command.
# Usage: bench/startup.sh [AERO_INIT] [ITERATIONS]
set -eu
aero_init=${1:-build/static/aero-init}
iterations=${2:-2000}
harness=${HARNESS:-build/bench/startup}
for peer in /usr/bin/tini /usr/bin/tini-static /usr/bin/dumb-init; do
	[ -x "$peer" ] || { echo "bench: $peer is missing: apt-get install tini dumb-init" >&2; exit 2; }
done
run_dir=$(mktemp -d)
trap 'rm -rf "$run_dir"' EXIT
echo "bench/startup: $iterations rounds, each init running /bin/true (not PID 1; tini with -s)"
# tini's only way to be quiet when not PID 1 is to be a subreaper, as aero-init is.
"$harness" "$iterations" \
	"tini-static=/usr/bin/tini-static -s -- /bin/true" \
	"aero-init=$(realpath "$aero_init") --no-record -- /bin/true" \
	"tini=/usr/bin/tini -s -- /bin/true" \
	"dumb-init=/usr/bin/dumb-init /bin/true" \
	"direct=/bin/true" \
	"aero+record=$(realpath "$aero_init") --run-dir $run_dir -- /bin/true"
