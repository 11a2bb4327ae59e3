"""Seeds and determinism: one base seed per run, derived seeds exported,
user settings kept, the manifest written before the experiment starts."""
import json
import os
import subprocess

import pytest

from conftest import clean_env

PRINT = ["sh", "-c", "echo $AERO_SEED $PYTHONHASHSEED $PL_GLOBAL_SEED"]


def run(aero_init, args, env=None):
    return subprocess.run([aero_init] + args, capture_output=True, text=True, timeout=60,
                          env=clean_env(env))


def test_seed_option_is_exported_and_derivation_is_stable(aero_init):
    first = run(aero_init, ["--seed", "42", "--"] + PRINT)
    second = run(aero_init, ["--"] + PRINT, env={"AERO_SEED": "42"})
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    base, python_hash, global_seed = first.stdout.split()
    assert base == "42"
    assert 0 <= int(python_hash) < 2 ** 32 and 0 <= int(global_seed) < 2 ** 32
    assert python_hash != global_seed
    other = run(aero_init, ["--seed", "43", "--"] + PRINT).stdout.split()
    assert other[1] != python_hash and other[2] != global_seed


def test_python_sees_the_hash_seed(aero_init):
    code = "print(hash('aeromancy'))"
    a = run(aero_init, ["-s", "7", "--", "python3", "-c", code]).stdout
    b = run(aero_init, ["-s", "7", "--", "python3", "-c", code]).stdout
    c = run(aero_init, ["-s", "8", "--", "python3", "-c", code]).stdout
    assert a == b and a != c


def test_without_a_seed_one_is_drawn_and_recorded(aero_init, tmp_path):
    r = run(aero_init, ["--run-dir", str(tmp_path), "--"] + PRINT)
    base = r.stdout.split()[0]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["seed"]["base"] == base and manifest["seed"]["source"] == "random"
    assert any("no seed given" in w for w in manifest["determinism"]["warnings"])
    assert run(aero_init, ["--"] + PRINT).stdout.split()[0] != base


def test_the_users_variable_is_kept_and_recorded(aero_init, tmp_path):
    r = run(aero_init, ["-s", "1", "--run-dir", str(tmp_path), "--"] + PRINT,
            env={"PYTHONHASHSEED": "123"})
    assert r.stdout.split()[1] == "123"
    derived = json.loads((tmp_path / "manifest.json").read_text())["seed"]["derived"]
    assert derived["PYTHONHASHSEED"] == {"value": "123", "source": "user"}
    assert derived["PL_GLOBAL_SEED"]["source"] == "aero-init"


def test_task_changes_the_derived_seeds(aero_init):
    a = run(aero_init, ["-s", "5", "--"] + PRINT, env={"AERO_TASK": "train-a"}).stdout.split()
    b = run(aero_init, ["-s", "5", "--"] + PRINT, env={"AERO_TASK": "train-b"}).stdout.split()
    assert a[0] == b[0] and a[1] != b[1]


def test_deterministic_mode(aero_init, tmp_path):
    show = ["sh", "-c", "echo $CUBLAS_WORKSPACE_CONFIG $NVIDIA_TF32_OVERRIDE $OMP_NUM_THREADS "
            "$MKL_CBWR $TF_DETERMINISTIC_OPS; echo $XLA_FLAGS"]
    r = run(aero_init, ["-s", "1", "--deterministic", "--run-dir", str(tmp_path), "--"] + show,
            env={"XLA_FLAGS": "--xla_dump_to=/tmp/x", "MKL_CBWR": "AVX2"})
    first, xla = r.stdout.splitlines()
    cublas, tf32, omp, mkl, tf = first.split()
    assert (cublas, tf32, mkl, tf) == (":4096:8", "0", "AVX2", "1")
    assert int(omp) == len(os.sched_getaffinity(0))
    assert xla == "--xla_dump_to=/tmp/x --xla_gpu_deterministic_ops=true"
    section = json.loads((tmp_path / "manifest.json").read_text())["determinism"]
    assert section["enabled"] is True
    assert section["set"]["MKL_CBWR"] == {"value": "AVX2", "source": "user"}
    assert section["set"]["NVIDIA_TF32_OVERRIDE"] == {"value": "0", "source": "aero-init"}
    assert section["set"]["XLA_FLAGS"]["source"] == "user, appended by aero-init"
    assert not any("not pinned" in w for w in section["warnings"])


def test_deterministic_by_environment_and_off_by_default(aero_init, tmp_path):
    show = ["sh", "-c", "echo ${CUBLAS_WORKSPACE_CONFIG:-unset}"]
    assert run(aero_init, ["--"] + show).stdout == "unset\n"
    assert run(aero_init, ["--"] + show, env={"AERO_DETERMINISTIC": "1"}).stdout == ":4096:8\n"


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs several CPUs")
def test_unpinned_threads_are_warned_about(aero_init, tmp_path):
    run(aero_init, ["-s", "1", "--run-dir", str(tmp_path), "--", "true"])
    warnings = json.loads((tmp_path / "manifest.json").read_text())["determinism"]["warnings"]
    assert any("not pinned" in w for w in warnings)


def test_manifest_is_written_before_the_experiment_starts(aero_init, tmp_path):
    run_dir = tmp_path / "runs" / "r1"
    r = run(aero_init, ["-s", "3", "--run-dir", str(run_dir), "--", "sh", "-c",
                        "cat %s/manifest.json" % run_dir, "--api-key=hunter2"])
    assert r.returncode == 0, r.stderr
    manifest = json.loads(r.stdout)
    assert manifest["run"]["argv"][:2] == ["sh", "-c"]
    assert manifest["run"]["argv"][3] == "--api-key=<redacted>"
    assert "hunter2" not in r.stdout
    assert manifest["seed"]["base"] == "3"
    assert manifest["packages"]["dpkg"]["count"] > 10
    assert "AERO_SEED" not in manifest["env"]


def test_no_capture(aero_init, tmp_path):
    run(aero_init, ["--no-capture", "-s", "3", "--run-dir", str(tmp_path), "--", "true"])
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    # No environment sections; what aero-init itself applied stays recorded.
    assert set(manifest) == {"schema", "seed", "determinism", "run"}
    assert set(manifest["run"]) == {"privileges"}


@pytest.mark.parametrize("args,env,message", [
    (["--seed", "abc", "--", "true"], {}, "--seed: 'abc' is not a seed"),
    (["--", "true"], {"AERO_SEED": "-1"}, "AERO_SEED: '-1' is not a seed"),
    (["--", "true"], {"AERO_SEED": "18446744073709551616"}, "is not a seed (a whole number "
                                                             "from 0 to 18446744073709551615)"),
    (["--", "true"], {"AERO_DETERMINISTIC": "perhaps"}, "AERO_DETERMINISTIC: 'perhaps'"),
])
def test_bad_seed_settings_do_not_start_the_experiment(aero_init, tmp_path, args, env, message):
    marker = tmp_path / "started"
    args = [a for a in args if a != "true"] + ["touch", str(marker)]
    r = run(aero_init, args, env=env)
    assert r.returncode == 125
    assert message in r.stderr
    assert not marker.exists()


def test_unwritable_run_dir_does_not_start_the_experiment(aero_init, tmp_path):
    marker = tmp_path / "started"
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = run(aero_init, ["--run-dir", str(blocker / "sub"), "--", "touch", str(marker)])
    assert r.returncode == 125
    assert "cannot record the run in %s, so it is not started" % (blocker / "sub") in r.stderr
    assert "--no-record" in r.stderr  # the way out, named
    assert not marker.exists()
