"""System metrics: CPU, memory and GPU use sampled into system.jsonl."""
import json
import os
import subprocess
import sys

from conftest import clean_env, memcheck

BUSY = "import time\nend = time.time() + 1.3\nwhile time.time() < end: pass\n"


def run(aero_init, run_dir, *args, env=None, code=BUSY):
    return subprocess.run([aero_init, "--run-dir", str(run_dir), *args, "--", sys.executable,
                           "-c", code], capture_output=True, text=True, timeout=60,
                          env=clean_env(env))


def samples(run_dir):
    path = os.path.join(run_dir, "system.jsonl")
    with open(path) as f:
        return [json.loads(line) for line in f]


@memcheck
def test_cpu_and_memory_are_sampled(aero_init, tmp_path):
    r = run(aero_init, tmp_path, "--system-interval", "200ms")
    assert r.returncode == 0, r.stderr
    got = samples(tmp_path)
    assert len(got) >= 4
    assert all(s["memory_bytes"] > 0 and s["_runtime"] >= 0 for s in got)
    # A busy loop is one CPU's worth (whatever else the machine does).
    assert max(s["cpu_cores"] for s in got) >= 0.5
    assert [s["_timestamp"] for s in got] == sorted(s["_timestamp"] for s in got)


def test_off_by_environment(aero_init, tmp_path):
    r = run(aero_init, tmp_path, env={"AERO_SYSTEM_INTERVAL": "0"}, code="pass")
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "system.jsonl").exists()


def test_too_short_an_interval_is_refused(aero_init, tmp_path):
    r = run(aero_init, tmp_path, "--system-interval", "50ms", code="pass")
    assert r.returncode == 125
    assert "shorter than the shortest interval, 100ms" in r.stderr


def fake_smi(tmp_path, body):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text(body)
    (bin_dir / "nvidia-smi").chmod(0o755)
    return {"PATH": "%s:%s" % (bin_dir, os.environ["PATH"])}


def test_gpu_use_from_nvidia_smi(aero_init, tmp_path):
    env = fake_smi(tmp_path, '#!/bin/sh\necho "00000000:00:06.0, 87, 40960"\n')
    run_dir = tmp_path / "run"
    r = run(aero_init, run_dir, "--system-interval", "200ms", "--no-capture", env=env)
    assert r.returncode == 0, r.stderr
    gpus = samples(run_dir)[0]["gpus"]
    assert gpus == [{"bus": "0000:00:06.0", "utilization_percent": 87, "memory_used_mib": 40960}]


def test_a_failing_nvidia_smi_is_asked_once(aero_init, tmp_path):
    count = tmp_path / "count"
    env = fake_smi(tmp_path, "#!/bin/sh\necho x >> %s\nexit 9\n" % count)
    run_dir = tmp_path / "run"
    r = run(aero_init, run_dir, "--system-interval", "200ms", "--no-capture", env=env)
    assert r.returncode == 0, r.stderr
    got = samples(run_dir)
    assert "failed" in got[0]["gpu_error"]
    assert len(got) >= 3 and all("gpu_error" not in s for s in got[1:])
    assert count.read_text() == "x\n"
