#!/usr/bin/env bash
# The pristine check on a generated repository of 100,000 files: aero-launch
# check (libgit2) against `git status --porcelain --untracked-files=all`, each
# once after a warm-up, in the same run. Target: at most 1.5x git's time.
# Usage: bench/git.sh build/aero-launch [FILES]
set -euo pipefail
launch=$(realpath "$1")
files=${2:-100000}
work=$(mktemp -d /var/tmp/aero-bench-git.XXXXXX)
trap 'rm -rf "$work" 2>/dev/null || true' EXIT
export HOME=$work GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=b \
	GIT_COMMITTER_EMAIL=b@b GIT_CONFIG_NOSYSTEM=1
repo=$work/repo
git init -q -b main "$repo"
python3 - "$repo" "$files" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%03d" % (i % 1000), "e%02d" % (i // 1000 % 10))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d.py" % i), "w") as f:
        f.write("x = %d\n" % i)
PY
git -C "$repo" add -A
git -C "$repo" commit -q -m bench
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
# Warm the page cache and the index's stat data for both.
git -C "$repo" status --porcelain --untracked-files=all >/dev/null
"$launch" check -C "$repo" --allow-unpushed >/dev/null
g=$(seconds git -C "$repo" status --porcelain --untracked-files=all)
a=$(seconds "$launch" check -C "$repo" --allow-unpushed)
printf 'pristine check, %d files: git status %.3f s, aero-launch check %.3f s, ratio %.2f (target <= 1.5)\n' \
	"$files" "$g" "$a" "$(echo "$a / $g" | bc -l)"
