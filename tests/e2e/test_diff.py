"""aero-init diff: each planted change is found and named, identical trees
give nothing, bad input is refused."""
import json
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def capture(aero_init, root, out, env=None):
    subprocess.run([aero_init, "capture", "--root", str(root), "-o", str(out)], check=True,
                   env={**{k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"},
                        **(env or {})})
    return out


def diff(aero_init, a, b, *args):
    return subprocess.run([aero_init, "diff", *args, str(a), str(b)], capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def tree(tmp_path):
    t = tmp_path / "tree"
    shutil.copytree(os.path.join(FIXTURES, "h200"), t)
    shutil.copytree(os.path.join(FIXTURES, "distroless", "var"), t / "var")
    return t


def test_two_captures_of_the_same_tree_are_equivalent(aero_init, tree, tmp_path):
    a = capture(aero_init, tree, tmp_path / "a.json", {"OMP_NUM_THREADS": "4"})
    b = capture(aero_init, tree, tmp_path / "b.json", {"OMP_NUM_THREADS": "4"})
    r = diff(aero_init, a, b)
    assert r.returncode == 0, r.stdout
    assert r.stdout.endswith("are equivalent\n")
    r = diff(aero_init, a, b, "--json")
    assert json.loads(r.stdout) == {"equivalent": True, "changes": []}


def plant(tree, change):
    lib = tree / "usr/local/cuda/targets/x86_64-linux/lib"
    status = tree / "var/lib/dpkg/status.d/libc6"
    if change == "package upgraded":
        status.write_text(status.read_text().replace("2.36-9+deb12u10", "2.36-9+deb12u11"))
    elif change == "package removed":
        os.unlink(tree / "var/lib/dpkg/status.d/base-files")
    elif change == "cpu flag missing":
        cpuinfo = tree / "proc/cpuinfo"
        cpuinfo.write_text(cpuinfo.read_text().replace(" avx512f ", " "))
    elif change == "cuda version file":
        os.rename(lib / "libcublas.so.13.1.0.3", lib / "libcublas.so.13.2.1.0")
        (tree / "usr/local/cuda/version.json").write_text('{"cuda": {"version": "13.1.0"}}')
    elif change == "driver":
        version = tree / "proc/driver/nvidia/version"
        version.write_text(version.read_text().replace("580.159.04", "580.200.01"))
    elif change == "python wheel downgraded":
        meta = tree / ("opt/app/.venv/lib/python3.12/site-packages/"
                       "torch-2.11.0+cu130.dist-info/METADATA")
        meta.write_text(meta.read_text().replace("2.11.0+cu130", "2.10.1+cu130"))
    elif change == "libc":
        libc = tree / "lib/x86_64-linux-gnu/libc.so.6"
        libc.write_bytes(libc.read_bytes().replace(b"2.39", b"2.40"))
    elif change == "conda package added":
        (tree / "opt/conda/envs/train/conda-meta/numpy-2.1.0-py312.json").write_text(
            '{"name": "numpy", "version": "2.1.0", "build": "py312", "channel": "conda-forge"}')
    elif change == "memory limit":
        (tree / "sys/fs/cgroup/memory.max").write_text("max\n")


@pytest.mark.parametrize("change,env_b,expect", [
    ("package upgraded", {}, "packages:\n  dpkg: upgraded libc6 2.36-9+deb12u10 -> "
                             "2.36-9+deb12u11\n"),
    ("package removed", {}, "  dpkg: removed base-files 12.4+deb12u10\n"),
    ("cpu flag missing", {}, "cpu:\n  flags: missing avx512f\n  fp_relevant: missing avx512f\n"),
    ("cuda version file", {}, "gpu:\n  libraries.cublas: changed 13.1.0.3 -> 13.2.1.0\n"
                              "  cuda_toolkit: added 13.1.0\n"),
    ("driver", {}, "  driver_version: changed 580.159.04 -> 580.200.01\n"),
    ("python wheel downgraded", {}, "python /opt/app/.venv/lib/python3.12/site-packages: "
                                    "downgraded torch 2.11.0+cu130 -> 2.10.1+cu130\n"),
    ("libc", {}, "  version: changed 2.39 -> 2.40\n"),
    ("conda package added", {}, "  conda /opt/conda/envs/train: added numpy 2.1.0\n"),
    ("memory limit", {}, "limits:\n  cgroup.memory_max: changed 2147483648 -> max\n"),
    (None, {"OMP_NUM_THREADS": "8"}, "env:\n  OMP_NUM_THREADS: changed 4 -> 8\n"),
])
def test_planted_change_is_found(aero_init, tree, tmp_path, change, env_b, expect):
    a = capture(aero_init, tree, tmp_path / "a.json", {"OMP_NUM_THREADS": "4"})
    if change:
        plant(tree, change)
    b = capture(aero_init, tree, tmp_path / "b.json", {"OMP_NUM_THREADS": "4", **env_b})
    r = diff(aero_init, a, b)
    assert r.returncode == 1, r.stdout + r.stderr
    assert expect in r.stdout, r.stdout
    changes = json.loads(diff(aero_init, a, b, "--json").stdout)["changes"]
    assert changes and all(c["group"] != "other" for c in changes)


@pytest.mark.parametrize("args,message", [
    (["only-one.json"], "need two manifests"),
    (["--bogus", "a", "b"], "unknown option '--bogus'"),
    (["/no/such.json", "/no/such.json"], "cannot open /no/such.json"),
])
def test_bad_input(aero_init, args, message):
    r = subprocess.run([aero_init, "diff", *args], capture_output=True, text=True)
    assert r.returncode == 125
    assert message in r.stderr


def test_not_a_manifest(aero_init, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    r = subprocess.run([aero_init, "diff", str(bad), str(bad)], capture_output=True, text=True)
    assert r.returncode == 125 and "is not a run manifest" in r.stderr


def test_a_different_seed_is_found(aero_init, tmp_path):
    for name, seed in (("a", "1"), ("b", "2")):
        subprocess.run([aero_init, "--seed", seed, "--run-dir", str(tmp_path / name), "--", "true"],
                       check=True, env={k: v for k, v in os.environ.items()
                                        if not k.startswith("AERO_")})
    r = diff(aero_init, tmp_path / "a/manifest.json", tmp_path / "b/manifest.json")
    assert r.returncode == 1
    assert "seed:\n  base: changed 1 -> 2\n" in r.stdout
    assert "derived.PYTHONHASHSEED.value: changed" in r.stdout
    # Same seed, same machine: equivalent, whatever the run ids and times.
    subprocess.run([aero_init, "--seed", "1", "--run-dir", str(tmp_path / "c"), "--", "true"],
                   check=True, env={k: v for k, v in os.environ.items()
                                    if not k.startswith("AERO_")})
    r = diff(aero_init, tmp_path / "a/manifest.json", tmp_path / "c/manifest.json")
    assert r.returncode == 0, r.stdout


def test_ignore_leaves_paths_out_of_both(aero_init, tmp_path):
    base = {"schema": 1, "git": {"commit": "c0ffee", "branch": "main"},
            "env": {"PATH": "/bin", "X": "1"}, "seed": {"base": "7", "source": "random"}}
    other = json.loads(json.dumps(base))
    other["git"].pop("branch")
    other["env"]["X"] = "2"
    other["seed"]["source"] = "AERO_SEED"
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(base))
    b.write_text(json.dumps(other))
    r = diff(aero_init, a, b, "--json", "--ignore", "git.branch", "--ignore", "seed.source")
    assert r.returncode == 1, r.stderr
    assert [c["what"] for c in json.loads(r.stdout)["changes"]] == ["X"]
    r = diff(aero_init, a, b, "--ignore", "git.branch", "--ignore", "seed.source",
             "--ignore", "env.X", "--ignore", "no.such.path")
    assert r.returncode == 0 and r.stdout.endswith("are equivalent\n"), r.stdout + r.stderr


def test_a_number_too_big_for_a_double_equals_itself(aero_init, tmp_path):
    # cJSON reads 1e309 as an infinity; the differ once took it to differ from
    # itself (found by fuzz_diff).
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    a.write_text('{"schema": 1, "cpu": {"mhz": 1e309, "flags": [1e400, -1e309]}}')
    b.write_text('{"schema": 1, "cpu": {"flags": [1e400, -1e309], "mhz": 1e309}}')
    c.write_text('{"schema": 1, "cpu": {"mhz": 1e308, "flags": [1e400, -1e309]}}')
    r = diff(aero_init, a, b)
    assert r.returncode == 0 and r.stdout.endswith("are equivalent\n"), r.stdout + r.stderr
    r = diff(aero_init, a, c)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "mhz" in r.stdout
