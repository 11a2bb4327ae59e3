#!/usr/bin/env bash
# Build-context throughput: `aero-launch run --build-only` (the pristine check,
# then HEAD's tree streamed from libgit2 to POST /build) against
# `git archive HEAD | docker build -q -`, on a generated repository of about
# MIB MiB (default 1024): 1-4 MiB files of random bytes plus 3,000 small text
# files. The Dockerfile is `FROM scratch` + `COPY Dockerfile /`: the classic
# builder (both sides use it) unpacks the whole context before the first
# step, so the engine's work beyond receiving it is one tiny layer. Rounds
# alternate which side goes first; images are removed between builds so that
# no cache helps. Target: peer time / ours >= 0.8.
# The engine is DOCKER_HOST's when set, else a private dockerd started here as
# tests/e2e/helpers/dockerd.py starts one (root), its data root on /var/tmp.
# Usage: bench/context.sh build/aero-launch [MIB] [ROUNDS]
set -euo pipefail
shopt -s inherit_errexit
launch=$(realpath "$1")
mib=${2:-1024}
rounds=${3:-3}
for tool in docker git python3; do
	command -v "$tool" >/dev/null ||
		{ echo "bench/context: $tool is missing: apt-get install docker.io git python3" >&2; exit 2; }
done
if [ -z "${DOCKER_HOST:-}" ] && { ! command -v dockerd >/dev/null || [ "$(id -u)" != 0 ]; }; then
	echo "bench/context: starting a private dockerd needs root and dockerd" \
		"(apt-get install docker.io); or set DOCKER_HOST to an engine" >&2
	exit 2
fi
work=$(mktemp -d /var/tmp/aero-bench-context.XXXXXX)
daemon=
cleanup() {
	if [ -n "$daemon" ]; then
		kill -TERM "$daemon" 2>/dev/null || true
		for _ in $(seq 300); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$daemon" 2>/dev/null || true
		wait "$daemon" 2>/dev/null || true
		umount -R "$work/data" 2>/dev/null || true
		umount "$work/exec/netns/default" 2>/dev/null || true
	fi
	rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT
export HOME=$work GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=b \
	GIT_COMMITTER_EMAIL=b@b GIT_CONFIG_NOSYSTEM=1 DOCKER_BUILDKIT=0

if [ -z "${DOCKER_HOST:-}" ]; then
	dockerd --host "unix://$work/docker.sock" --data-root "$work/data" \
		--exec-root "$work/exec" --pidfile "$work/pid" --bridge=none --iptables=false \
		>"$work/dockerd.log" 2>&1 &
	daemon=$!
	export DOCKER_HOST=unix://$work/docker.sock
	for _ in $(seq 300); do
		docker version >/dev/null 2>&1 && break
		kill -0 "$daemon" 2>/dev/null || break
		sleep 0.2
	done
	docker version >/dev/null 2>&1 ||
		{ echo "bench/context: dockerd did not start:" >&2; tail -20 "$work/dockerd.log" >&2; exit 1; }
fi

# The repository. Loose objects stored without compression keep the
# generation quick; the random bytes would not compress anyway.
repo=$work/repo
git init -q -b main "$repo"
git -C "$repo" config core.compression 0
python3 - "$repo" "$mib" <<'PY'
import os, random, sys
root, total = sys.argv[1], int(sys.argv[2]) << 20
rng = random.Random(1)
with open(os.path.join(root, "Dockerfile"), "w") as f:
    f.write("FROM scratch\nCOPY Dockerfile /\n")
done = 0
for i in range(3000):
    d = os.path.join(root, "src", "m%02d" % (i % 50))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%04d.py" % i), "w") as f:
        text = "".join("value_%d = %d\n" % (j, rng.randrange(10**9))
                       for j in range(rng.randrange(30, 600)))
        f.write(text)
        done += len(text)
os.makedirs(os.path.join(root, "data"), exist_ok=True)
i = 0
while done < total:
    size = min(rng.randrange(1 << 20, 4 << 20), total - done)
    with open(os.path.join(root, "data", "shard-%04d.bin" % i), "wb") as f:
        f.write(os.urandom(size))
    done += size
    i += 1
PY
# Files older than the index, so that no entry is racily clean and the
# pristine check need not hash it again.
sleep 1
git -C "$repo" add -A
git -C "$repo" commit -q -m bench
files=$(git -C "$repo" ls-files | wc -l)
big=$(git -C "$repo" ls-files data | wc -l)
# Both contexts are this size within a few KiB (git archive's adds a pax
# header with the commit's id; aero-launch's lists the directories).
bytes=$(git -C "$repo" archive HEAD | wc -c)
size_mib=$(echo "scale=1; $bytes / 1048576" | bc)
echo "bench/context: $files files ($big of 1-4 MiB random bytes, $((files - big)) small)," \
	"a $size_mib MiB context, $rounds rounds, the engine's classic builder"

ours() {
	"$launch" run -q -C "$repo" --allow-unpushed --image aero-bench-context --build-only
}
peer() {
	git -C "$repo" archive HEAD | docker build -q - 2>"$work/peer.err" ||
		{ cat "$work/peer.err" >&2; return 1; }
}
forget() {
	docker image rm -f "$1" >/dev/null
	docker builder prune -f >/dev/null 2>&1 || true
}
rchar() { if [ -n "$daemon" ]; then awk '/^rchar/ {print $2}' "/proc/$daemon/io"; else echo 0; fi; }
# Times one build into $work/SIDE.times and removes its image. With the
# private engine, checks that it read the whole context: its rchar, which
# counts its socket reads, grows by at least the context's size.
seconds() {
	local t0 t1 r0 r1 id
	r0=$(rchar)
	t0=$EPOCHREALTIME
	id=$("$1")
	t1=$EPOCHREALTIME
	r1=$(rchar)
	echo "$t1 - $t0" | bc >>"$work/$1.times"
	if [ -n "$daemon" ] && [ $((r1 - r0)) -lt "$bytes" ]; then
		echo "bench/context: the engine read only $((r1 - r0)) bytes in the $1 build," \
			"less than the $bytes-byte context" >&2
		exit 1
	fi
	forget "$id"
}
# The engine's first build, of the Dockerfile alone, so that neither side
# pays for it.
forget "$(tar -C "$repo" -c Dockerfile | docker build -q - 2>/dev/null)"
for round in $(seq "$rounds"); do
	if [ $((round % 2)) = 1 ]; then seconds ours; seconds peer; else seconds peer; seconds ours; fi
done
median() { sort -n "$work/$1.times" | awk '{t[NR] = $1} END {print (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2}'; }
a=$(median ours)
g=$(median peer)
mibs() { echo "$bytes / 1048576 / $1" | bc -l; }
echo "bench/context: seconds, ours: $(paste -sd' ' "$work/ours.times"); peer: $(paste -sd' ' "$work/peer.times")"
printf 'build context, %s MiB: aero-launch run --build-only %.2f s (%.0f MiB/s), git archive | docker build %.2f s (%.0f MiB/s), ratio %.2f (peer/ours; target >= 0.8)\n' \
	"$size_mib" "$a" "$(mibs "$a")" "$g" "$(mibs "$g")" "$(echo "$g / $a" | bc -l)"
