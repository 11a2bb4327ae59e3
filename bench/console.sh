#!/bin/bash
# Console capture: 1 GiB of text lines (about 90 bytes each, like a training
# log) from a generator into `cat >/dev/null`, once straight through the pipe
# and once under aero-init with a run directory, which passes the bytes on to
# the same pipe and records each line in output.log (time stamp, stream, text).
# Interleaved rounds; the ratio is throughput with capture over throughput
# without (higher is better; target at least 0.8). The run directory is on the
# disk that holds BENCH_DIR (default: build/bench), not on a tmpfs, and
# output.log is synced to disk when aero-init ends, as in a real run. For
# scale, two recorders that keep the bytes unchanged (no time stamp, no
# stream) write into a file on the same disk in the same rounds, synced at
# the end: tee(1), and bench/splice_copy, which passes them on with tee(2)
# and puts them in the file with splice(2), copying nothing through user
# space. splice_copy's ratio is the ceiling: no recorder on this machine can
# do much better than it.
# Usage: bench/console.sh [AERO_INIT] [SPLICE_COPY] [ROUNDS] [BYTES]
set -euo pipefail
aero_init=$(realpath "${1:-build/static/aero-init}")
splice_copy=$(realpath "${2:-build/bench/splice_copy}")
rounds=${3:-5}
bytes=${4:-$((1 << 30))}
bench_dir=${BENCH_DIR:-build/bench}
mkdir -p "$bench_dir"
work=$(mktemp -d "$(realpath "$bench_dir")/console.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Lines of a made-up training log, 1 MiB of them written with each write(2),
# so that the generator costs next to nothing.
cat >"$work/generate.py" <<'PY'
import os, sys
total = int(sys.argv[1])
lines, size, i = [], 0, 0
while size < (1 << 20):
    line = (b"epoch %3d step %7d loss %.6f acc %.6f lr 3.0e-04 grad_norm %.4f %5d samples/s\n"
            % (i // 1000, i, 1 / (i + 1), i % 1000 / 1000, (i * 7919 % 10000) / 1000, 900 + i % 200))
    lines.append(line); size += len(line); i += 1
block = b"".join(lines)
block = block[: block.rfind(b"\n", 0, 1 << 20) + 1]
left = total
while left > 0:
    left -= os.write(1, block if left >= len(block) else block[:left])
PY

fs=$(df -T "$work" | awk 'NR == 2 {print $2 " on " $1}')
echo "bench/console: $((bytes >> 20)) MiB of ~90-byte lines into 'cat >/dev/null', $rounds interleaved rounds"
echo "output.log in $work ($fs)"

now() { date +%s.%N; }
ratios=()
direct_total=0
aero_total=0
tee_total=0
splice_total=0
for round in $(seq 1 "$rounds"); do
	start=$(now)
	python3 "$work/generate.py" "$bytes" | cat >/dev/null
	direct=$(echo "$(now) - $start" | bc)

	rm -rf "$work/run"
	start=$(now)
	"$aero_init" --no-capture --system-interval=0 --run-dir "$work/run" -- \
		python3 "$work/generate.py" "$bytes" | cat >/dev/null
	aero=$(echo "$(now) - $start" | bc)
	log_bytes=$(stat -c %s "$work/run/output.log")
	rm -rf "$work/run"

	# A plain recorder: tee(1) copying the bytes, as they are, into
	# a file on the same disk, synced at the end as output.log is.
	start=$(now)
	python3 "$work/generate.py" "$bytes" | tee "$work/tee.out" | cat >/dev/null
	sync "$work/tee.out"
	tee_time=$(echo "$(now) - $start" | bc)
	rm -f "$work/tee.out"

	start=$(now)
	python3 "$work/generate.py" "$bytes" | "$splice_copy" "$work/splice.out" | cat >/dev/null
	splice_time=$(echo "$(now) - $start" | bc)
	rm -f "$work/splice.out"

	direct_total=$(echo "$direct_total + $direct" | bc)
	aero_total=$(echo "$aero_total + $aero" | bc)
	tee_total=$(echo "$tee_total + $tee_time" | bc)
	splice_total=$(echo "$splice_total + $splice_time" | bc)
	ratio=$(echo "$direct / $aero" | bc -l)
	ratios+=("$ratio")
	printf 'round %d: direct %.3f s, aero-init %.3f s (output.log %d MiB), tee(1) %.3f s, splice_copy %.3f s; ratio %.2f, ceiling %.2f\n' \
		"$round" "$direct" "$aero" $((log_bytes >> 20)) "$tee_time" "$splice_time" "$ratio" \
		"$(echo "$direct / $splice_time" | bc -l)"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{r[NR] = $1} END {print r[int((NR + 1) / 2)]}')
printf 'direct %.0f MiB/s, aero-init %.0f MiB/s, tee(1) into a file %.0f MiB/s, splice_copy %.0f MiB/s\n' \
	"$(echo "$rounds * $bytes / 1048576 / $direct_total" | bc -l)" \
	"$(echo "$rounds * $bytes / 1048576 / $aero_total" | bc -l)" \
	"$(echo "$rounds * $bytes / 1048576 / $tee_total" | bc -l)" \
	"$(echo "$rounds * $bytes / 1048576 / $splice_total" | bc -l)"
printf 'ratio (throughput with capture / without, target >= 0.8): %.2f overall, %.2f median; tee(1): %.2f; ceiling (splice_copy): %.2f; aero-init / splice_copy: %.2f\n' \
	"$(echo "$direct_total / $aero_total" | bc -l)" "$median" \
	"$(echo "$direct_total / $tee_total" | bc -l)" \
	"$(echo "$direct_total / $splice_total" | bc -l)" \
	"$(echo "$splice_total / $aero_total" | bc -l)"
