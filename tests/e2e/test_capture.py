"""aero-init capture against real trees: a debootstrapped Debian root checked
against dpkg-query and pip, fixtures from real machines, the running system."""
import json
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def capture(aero_init, *args, env=None, check=True):
    r = subprocess.run([aero_init, "capture", *args], capture_output=True, text=True,
                       env={**os.environ, **(env or {})}, timeout=60)
    if check:
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout), r
    return None, r


@pytest.fixture(scope="session")
def rootfs():
    path = os.environ.get("AERO_TEST_ROOTFS")
    if not path or not os.path.exists(os.path.join(path, ".complete")):
        pytest.fail("AERO_TEST_ROOTFS must name a debootstrapped tree: run 'make test' "
                    "(it runs mk/rootfs.sh)")
    return path


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def test_dpkg_list_equals_dpkg_query(aero_init, rootfs):
    manifest, _ = capture(aero_init, "--root", rootfs)
    captured = {(p["name"], p["architecture"], p["version"])
                for p in manifest["packages"]["dpkg"]["packages"]}
    out = subprocess.run(["dpkg-query", "-W", "--admindir=" + rootfs + "/var/lib/dpkg", "-f",
                          "${Package}\t${Architecture}\t${Version}\n"],
                         capture_output=True, text=True, check=True).stdout
    expected = {tuple(line.split("\t")) for line in out.splitlines()}
    assert len(expected) > 50
    assert captured == expected
    assert manifest["packages"]["dpkg"]["count"] == len(expected)


def test_python_distributions_equal_pip_list(aero_init, rootfs):
    manifest, _ = capture(aero_init, "--root", rootfs)
    captured = {(norm(d["name"]), d["version"])
                for env in manifest["packages"]["python"]["environments"]
                for d in env["distributions"]}
    pip = subprocess.run(["/usr/sbin/chroot", rootfs, "python3", "-m", "pip", "list", "--format=freeze"],
                         capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    expected = {(norm(line.split("==")[0]), line.split("==")[1])
                for line in pip.stdout.splitlines()}
    assert len(expected) >= 5
    assert captured == expected


def test_root_facts_come_from_the_tree(aero_init, rootfs):
    manifest, _ = capture(aero_init, "--root", rootfs)
    system = manifest["system"]
    assert system["os"]["ID"] == "debian"
    assert system["libc"]["family"] == "glibc"
    assert re.fullmatch(r"\d+\.\d+", system["libc"]["version"])
    assert "not captured" in system["kernel"]["error"]
    assert manifest["gpu"] == {"present": False}


def test_two_captures_of_a_tree_share_the_fingerprint(aero_init, rootfs):
    first, _ = capture(aero_init, "--root", rootfs)
    second, _ = capture(aero_init, "--root", rootfs)
    assert first["fingerprint"] == second["fingerprint"]
    assert first["run"]["id"] != second["run"]["id"]


def test_a_package_change_changes_the_fingerprint(aero_init, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(os.path.join(FIXTURES, "distroless"), tree)
    before, _ = capture(aero_init, "--root", str(tree))
    status = tree / "var/lib/dpkg/status.d/base-files"
    status.write_text(status.read_text().replace("12.4+deb12u10", "12.4+deb12u11"))
    after, _ = capture(aero_init, "--root", str(tree))
    assert before["fingerprint"] != after["fingerprint"]


def test_output_is_canonical(aero_init):
    manifest, r = capture(aero_init, "--root", os.path.join(FIXTURES, "h200"))
    assert r.stdout == json.dumps(manifest, sort_keys=True, separators=(",", ":"),
                                  ensure_ascii=False) + "\n"


def test_h200_fixture(aero_init):
    manifest, _ = capture(aero_init, "--root", os.path.join(FIXTURES, "h200"))
    gpu = manifest["gpu"]
    assert gpu["present"] is True
    assert gpu["driver_version"] == "580.159.04"
    assert gpu["count"] == 1
    device = gpu["devices"][0]
    assert device["model"] == "NVIDIA H200"
    assert device["uuid"] == "GPU-bc50992a-b5f2-7f4d-0697-048aa4d27c74"
    assert device["bus"] == "0000:00:06.0"
    assert gpu["libraries"] == {"cublas": "13.1.0.3", "cudart": "13", "libcuda": "580.159.04"}
    assert gpu["wheels"] == {"cuda_runtime": "13.0.96", "cudnn": "9.19.0.56",
                             "nccl": "2.28.9", "cublas": "13.1.0.3"}
    libc = manifest["system"]["libc"]
    assert libc["version"] == "2.39" and "Ubuntu GLIBC 2.39-0ubuntu8.9" in libc["banner"]
    cpu = manifest["system"]["cpu"]
    assert cpu["logical_cpus"] == 3 and cpu["physical_cores"] == 2
    assert "amx_tile" in cpu["fp_relevant"] and "avx512f" in cpu["fp_relevant"]
    assert "sse2" in cpu["flags"] and "sse2" not in cpu["fp_relevant"]
    assert manifest["system"]["memory"]["total_bytes"] == 2113373184 * 1024
    envs = manifest["packages"]["python"]["environments"]
    assert [e["path"] for e in envs] == ["/opt/app/.venv/lib/python3.12/site-packages"]
    assert envs[0]["kind"] == "venv"
    names = {d["name"]: d for d in envs[0]["distributions"]}
    assert names["torch"]["version"] == "2.11.0+cu130"
    assert names["torch"]["installer"] == "pip"
    assert manifest["system"]["os"]["VERSION_ID"] == "24.04"


def test_h100_fixture_and_a_capture_from_that_machine(aero_init):
    """The tree holds /proc files copied from an H100 machine; the manifest
    beside it was captured there by aero-init itself (with nvidia-smi)."""
    manifest, _ = capture(aero_init, "--root", os.path.join(FIXTURES, "h100"))
    device = manifest["gpu"]["devices"][0]
    assert device["model"] == "NVIDIA H100 80GB HBM3"
    assert device["uuid"] == "GPU-597f2364-e8c8-caed-3f8d-800bfee1edaa"
    assert manifest["system"]["os"]["VERSION_ID"] == "24.04"
    with open(os.path.join(FIXTURES, "manifests", "h100-capture.json")) as f:
        real = json.load(f)
    real_device = real["gpu"]["devices"][0]
    assert real_device["uuid"] == device["uuid"]
    assert real_device["memory_total_mib"] == 81559
    assert real_device["compute_capability"] == "9.0"
    assert real["gpu"]["cuda_driver_version"] == "13.0"
    assert real["gpu"]["libraries"]["cudnn"] == "9.14.0"
    assert real["gpu"]["wheels"]["cudnn"] == "9.19.0.56"


def test_cgroup_v2_limits(aero_init):
    manifest, _ = capture(aero_init, "--root", os.path.join(FIXTURES, "h200"))
    assert manifest["system"]["cgroup"] == {
        "version": 2, "path": "/", "cpu_max": "150000 100000", "cpu_limit": 1.5,
        "memory_max": 2147483648, "cpuset": "0-3", "cpus_allowed": "0-3"}
    assert "not captured" in manifest["system"]["rlimits"]["error"]


def test_container_and_kubernetes_facts(aero_init):
    r = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", aero_init, "capture"],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "KUBERNETES_SERVICE_HOST": "10.96.0.1",
                            "AERO_POD_NAME": "train-0", "AERO_POD_NAMESPACE": "ml"})
    manifest = json.loads(r.stdout)
    container = manifest["system"]["container"]
    assert container["in_container"] is True
    assert "pid namespace" in container["evidence"]
    assert manifest["k8s"] == {"in_kubernetes": True, "pod_name": "train-0", "namespace": "ml"}


def test_rlimits_of_the_running_system(aero_init):
    import resource
    manifest, _ = capture(aero_init)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert manifest["system"]["rlimits"]["nofile"] == {"soft": soft, "hard": hard}


def test_conda_environments(aero_init):
    manifest, _ = capture(aero_init, "--root", os.path.join(FIXTURES, "h200"))
    envs = manifest["packages"]["conda"]["environments"]
    assert [e["prefix"] for e in envs] == ["/opt/conda", "/opt/conda/envs/train"]
    assert envs[1]["packages"] == [{"name": "pytorch", "version": "2.5.1",
                                    "build": "cuda12_py312", "channel": "pytorch"}]


def test_rpm_is_said_to_be_not_captured(aero_init):
    manifest, _ = capture(aero_init, "--root", os.path.join(FIXTURES, "fedora"))
    assert manifest["packages"]["rpm"] == {
        "database": "/var/lib/rpm/rpmdb.sqlite",
        "not_captured": "reading RPM databases is not supported yet"}
    assert manifest["packages"]["dpkg"] == {"absent": "no dpkg database"}


FAKE_SMI = """#!/bin/sh
# nvidia-smi's output on the H200 machine of shared/reference/gpu-facts.md
if [ "$1" = "--query-gpu=pci.bus_id,name,memory.total,compute_cap" ]; then
    echo "00000000:00:06.0, NVIDIA H200, 143771, 9.0"
    exit 0
fi
echo "| NVIDIA-SMI 580.159.04   Driver Version: 580.159.04     CUDA Version: 13.0     |"
"""


def fake_smi(tmp_path, body):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text(body)
    smi.chmod(0o755)
    return {"PATH": "%s:%s" % (bin_dir, os.environ["PATH"])}


def test_nvidia_smi_facts(aero_init, tmp_path):
    manifest, _ = capture(aero_init, env=fake_smi(tmp_path, FAKE_SMI))
    gpu = manifest["gpu"]
    assert gpu["cuda_driver_version"] == "13.0"
    device = [d for d in gpu["devices"] if d["bus"] == "0000:00:06.0"][0]
    assert device["memory_total_mib"] == 143771 and device["compute_capability"] == "9.0"


def test_a_hanging_nvidia_smi_is_killed_in_time(aero_init, tmp_path):
    import time
    pid_file = tmp_path / "pid"
    env = fake_smi(tmp_path, "#!/bin/sh\nsleep 60 &\necho $! > %s\nwait\n" % pid_file)
    began = time.monotonic()
    manifest, _ = capture(aero_init, env={**env, "AERO_GPU_TIMEOUT": "300ms"})
    assert time.monotonic() - began < 5
    assert "did not answer in time and was killed" in manifest["gpu"]["smi_error"]
    sleeper = int(pid_file.read_text())
    time.sleep(0.2)
    try:
        with open("/proc/%d/stat" % sleeper) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        state = None
    assert state in (None, "Z"), "the helper's own child survived"


def test_interpreters_on_path_are_found_anywhere(aero_init, tmp_path):
    venv = tmp_path / "deep" / "er" / "env"
    prefix = tmp_path / "prefix"
    for root, name in ((venv, "in-venv"), (prefix, "in-prefix")):
        (root / "bin").mkdir(parents=True)
        info = root / "lib/python3.12/site-packages" / (name + "-1.0.dist-info")
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Name: %s\nVersion: 1.0\n" % name)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    manifest, _ = capture(aero_init, env={
        "PATH": "%s/bin:%s/bin:%s" % (venv, prefix, os.environ["PATH"])})
    found = {e["path"]: e for e in manifest["packages"]["python"]["environments"]}
    in_venv = found[str(venv / "lib/python3.12/site-packages")]
    in_prefix = found[str(prefix / "lib/python3.12/site-packages")]
    assert in_venv["kind"] == "venv" and in_venv["distributions"][0]["name"] == "in-venv"
    assert in_prefix["kind"] == "interpreter"


def test_alpine_fixture(aero_init):
    manifest, _ = capture(aero_init, "--root", os.path.join(FIXTURES, "alpine"))
    apk = manifest["packages"]["apk"]
    assert apk["count"] == 3
    assert apk["packages"][1] == {"name": "musl", "version": "1.2.5-r0",
                                  "architecture": "x86_64", "origin": "musl"}
    assert manifest["system"]["libc"] == {"family": "musl", "loader": "ld-musl-x86_64.so.1"}
    assert manifest["packages"]["dpkg"] == {"absent": "no dpkg database"}


def test_distroless_fixture(aero_init):
    manifest, _ = capture(aero_init, "--root", os.path.join(FIXTURES, "distroless"))
    dpkg = manifest["packages"]["dpkg"]
    assert dpkg["database"] == "/var/lib/dpkg/status.d"
    assert [(p["name"], p["source"]) for p in dpkg["packages"]] == [
        ("base-files", "base-files"), ("libc6", "glibc")]


def test_env_allow_list_and_redaction(aero_init):
    secret = "s3cr3t-value-that-must-not-leak"
    manifest, r = capture(aero_init, "--env", "MY_SETTING", env={
        "OMP_NUM_THREADS": "4", "MY_SETTING": "x", "UNLISTED_THING": "y",
        "WANDB_API_KEY": secret, "TF_AUTH_TOKEN": secret, "AERO_REDACT_SALT": "salt"})
    env = manifest["env"]
    assert env["OMP_NUM_THREADS"] == "4"
    assert env["MY_SETTING"] == "x"
    assert "UNLISTED_THING" not in env
    assert "WANDB_API_KEY" not in env  # not allow-listed at all
    import hashlib
    assert env["TF_AUTH_TOKEN"] == {
        "redacted": True,
        "salted_sha256": hashlib.sha256(("salt:" + secret).encode()).hexdigest()}
    assert secret not in r.stdout


def test_env_names_from_the_environment(aero_init):
    manifest, _ = capture(aero_init, env={"AERO_CAPTURE_ENV": "FOO_A,FOO_B", "FOO_A": "1",
                                          "FOO_B": "2", "FOO_C": "3"})
    assert manifest["env"]["FOO_A"] == "1" and manifest["env"]["FOO_B"] == "2"
    assert "FOO_C" not in manifest["env"]


def test_live_capture(aero_init):
    manifest, _ = capture(aero_init)
    assert manifest["schema"] == 1
    assert manifest["system"]["kernel"]["sysname"] == "Linux"
    assert manifest["system"]["kernel"]["release"] == os.uname().release
    assert manifest["system"]["cpu"]["logical_cpus"] == os.cpu_count()
    assert "cpuid" in manifest["system"]["cpu"]
    assert manifest["run"]["uid"] == os.getuid()
    assert re.fullmatch(r"[0-9a-f]{32}", manifest["run"]["id"])
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", manifest["fingerprint"])


def test_output_file_is_written_whole(aero_init, tmp_path):
    out = tmp_path / "manifest.json"
    _, r = capture(aero_init, "-o", str(out), check=False)
    assert r.returncode == 0 and r.stdout == ""
    assert json.loads(out.read_text())["schema"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_a_failing_probe_is_recorded_and_stops_nothing(aero_init, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(os.path.join(FIXTURES, "alpine"), tree)
    os.unlink(tree / "etc/os-release")
    manifest, _ = capture(aero_init, "--root", str(tree))
    assert "os-release" in manifest["system"]["os"]["error"]
    assert manifest["packages"]["apk"]["count"] == 3


@pytest.mark.parametrize("args,message", [
    (["--root", "/no/such/dir"], "--root /no/such/dir: No such file or directory"),
    (["--bogus"], "unknown option '--bogus'"),
    (["-o"], "option '-o' needs a value"),
    (["extra"], "unexpected argument 'extra'"),
    (["-o", "/no/such/dir/m.json"], "cannot create /no/such/dir/m.json"),
])
def test_bad_input(aero_init, args, message):
    _, r = capture(aero_init, *args, check=False)
    assert r.returncode == 125
    assert message in r.stderr and "aero-init capture --help" in r.stderr


def documented_fields():
    text = open(os.path.join(ROOT, "doc", "manifest.md")).read()
    fields = set()
    for cell in re.findall(r"^\| (.*?) \|", text, re.M):
        names = re.findall(r"`([^`]+)`", cell)
        base = None
        for name in names:
            if name.startswith(".") and base:
                fields.add(base + name)
            else:
                fields.add(name)
                base = name.rsplit(".", 1)[0] if "." in name else name
    return fields | {f[:-2] for f in fields if f.endswith("[]")}


def field_paths(value, prefix=""):
    if isinstance(value, dict):
        for key, child in value.items():
            if prefix in ("env", "system.os", "system.rlimits", "seed.derived",
                          "determinism.set", "run.pipeline.config"):
                key = "<KEY>"
            path = prefix + "." + key if prefix else key
            yield path
            yield from field_paths(child, path)
    elif isinstance(value, list):
        for child in value:
            yield from field_paths(child, prefix + "[]")


# What aero-launch pipeline run gives a task (doc/pipelines.md).
PIPELINE_TASK = {"name": "digits", "id": "20261127-000000-0badcafe", "task": "train",
                 "key": "sha256:" + "0" * 64, "config": {"lr": 0.1},
                 "inputs": [{"name": "data", "version": 3, "digest": "sha256:" + "1" * 64,
                             "task": "prepare", "run": "20261127-000000-12345678"}]}


def test_every_field_is_documented(aero_init, rootfs, tmp_path):
    documented = documented_fields()
    paths = set()
    for args in ([], ["--root", rootfs]) + tuple(["--root", os.path.join(FIXTURES, f)]
                                                for f in ("h200", "alpine", "distroless", "fedora")):
        manifest, _ = capture(aero_init, *args, env={"TF_TOKEN_X": "v", "OMP_NUM_THREADS": "1"})
        paths |= set(field_paths(manifest))
    run_dir = tmp_path / "run"
    subprocess.run([aero_init, "--deterministic", "--run-dir", str(run_dir), "--", "true"],
                   check=True, env={**os.environ, "AERO_TASK": "t", "XLA_FLAGS": "--x",
                                    "AERO_PIPELINE": json.dumps(PIPELINE_TASK)})
    paths |= set(field_paths(json.loads((run_dir / "manifest.json").read_text())))
    errors = {p for p in paths if p.endswith(".error")}
    missing = sorted(p for p in paths - errors - documented)
    assert not missing, "fields missing from doc/manifest.md: %s" % missing
