"""The programs' front doors (--help, --version, errors), the docs that must
stay true to them, and the README's example experiment."""
import os
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return f.read()


def help_options(aero_init):
    text = subprocess.run([aero_init, "--help"], capture_output=True, text=True).stdout
    return set(re.findall(r"--[a-z][a-z-]+", text)) - {"--"}


def test_man_page_documents_every_option(aero_init):
    man = read("man", "aero-init.1").replace("\\-", "-")
    options = help_options(aero_init)
    assert len(options) >= 10
    for opt in options:
        assert opt in man, opt
    for env in re.findall(r"AERO_[A-Z_]+", subprocess.run(
            [aero_init, "--help"], capture_output=True, text=True).stdout):
        assert env in man, env


def test_man_pages_render_without_warnings():
    for page in ("aero-init.1", "aero-launch.1"):
        r = subprocess.run(["groff", "-man", "-ww", "-z", os.path.join(ROOT, "man", page)],
                           capture_output=True, text=True)
        assert r.returncode == 0 and r.stderr == "", r.stderr


def test_readme_starts_with_setup_and_test_commands():
    readme = read("README.md")
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    assert blocks[0].strip() == ("sudo bash .ci/deps.sh && make static && "
                                 "examples/quickstart.sh")
    assert blocks[1].strip() == "make test"


def test_launch_help_and_version(aero_launch):
    r = subprocess.run([aero_launch, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("Usage: aero-launch")
    r = subprocess.run([aero_launch, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and re.fullmatch(r"aero-launch version \d+\.\d+\.\d+\n", r.stdout)


def test_launch_refuses_what_it_cannot_do(aero_launch):
    r = subprocess.run([aero_launch, "frobnicate", "--", "true"], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.startswith("aero-launch: unknown command 'frobnicate'")
    r = subprocess.run([aero_launch], capture_output=True, text=True)
    assert r.returncode == 2 and "Usage" in r.stderr
    r = subprocess.run([aero_launch, "--frobnicate"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown option '--frobnicate'" in r.stderr


def test_example_experiment_runs_to_the_end(aero_init, tmp_path):
    r = subprocess.run([aero_init, "--", sys.executable, os.path.join(ROOT, "examples",
                        "train.py"), "--epochs", "60", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "epoch   60" in r.stdout
    assert (tmp_path / "model.json").exists()


def test_example_experiment_checkpoints_on_sigterm(aero_init, tmp_path):
    proc = subprocess.Popen([aero_init, "--", sys.executable, "-u",
                             os.path.join(ROOT, "examples", "train.py"), "--epochs", "1000000",
                             "--out", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("epoch    1")
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "got SIGTERM, checkpointing" in err
    assert (tmp_path / "checkpoint.json").exists()
