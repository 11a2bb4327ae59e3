"""aero-init runs the command and reports its fate: exit status, signal deaths,
exec failures, and its own usage errors."""
import re
import subprocess

import pytest

from conftest import EXPERIMENT, memcheck, not_under_valgrind, run

# Under valgrind vfork is a fork: the reason the child's exec failed, which it
# leaves in memory shared with aero-init, never reaches aero-init.
VFORK = not_under_valgrind("vfork is a fork, so an exec failure's reason is not seen")


@pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
@pytest.mark.parametrize("code", [0, 1, pytest.param(3, marks=memcheck), 42, 255])
def test_exit_status_passes_through(aero_init, pid1, code):
    r = run(aero_init, ["--", "sh", "-c", "exit %d" % code], pid1=pid1)
    assert r.returncode == code
    assert r.stderr == b""


@pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
@pytest.mark.parametrize("sig", [9, pytest.param(15, marks=memcheck), 6, 11])
def test_death_by_signal_is_128_plus_n(aero_init, pid1, sig):
    r = run(aero_init, ["--", "sh", "-c", "kill -%d $$" % sig], pid1=pid1)
    assert r.returncode == 128 + sig


def test_stdout_belongs_to_the_experiment(aero_init):
    r = run(aero_init, ["-vvv", "--", "printf", "a\\nb"])
    assert r.stdout == b"a\nb"
    assert b"started 'printf'" in r.stderr  # diagnostics went to stderr


@memcheck
def test_works_without_double_dash(aero_init):
    r = run(aero_init, ["sh", "-c", "echo $0 $1", "x", "y"])
    assert r.returncode == 0 and r.stdout == b"x y\n"


@VFORK
@pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
def test_command_not_found_is_127(aero_init, pid1):
    r = run(aero_init, ["--", "no-such-command-aero"], pid1=pid1)
    assert r.returncode == 127
    lines = r.stderr.decode().splitlines()
    assert lines == ["aero-init: cannot run 'no-such-command-aero': command not found in PATH"]


@VFORK
def test_missing_path_is_127(aero_init, tmp_path):
    r = run(aero_init, ["--", str(tmp_path / "nope")])
    assert r.returncode == 127
    assert "No such file or directory" in r.stderr.decode()


@VFORK
@pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])
def test_not_executable_is_126(aero_init, tmp_path, pid1):
    script = tmp_path / "train.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    r = run(aero_init, ["--", str(script)], pid1=pid1)
    assert r.returncode == 126
    assert r.stderr.decode().splitlines() == [
        "aero-init: cannot run '%s': permission denied (is it executable?)" % script]


@VFORK
def test_directory_is_126(aero_init, tmp_path):
    r = run(aero_init, ["--", str(tmp_path)])
    assert r.returncode == 126
    assert r.stderr.decode().splitlines() == [
        "aero-init: cannot run '%s': is a directory" % tmp_path]


def test_version(aero_init):
    r = run(aero_init, ["--version"])
    assert r.returncode == 0
    assert re.fullmatch(rb"aero-init version \d+\.\d+\.\d+\n", r.stdout)


def test_help_names_every_option_and_its_variable(aero_init):
    r = run(aero_init, ["--help"])
    assert r.returncode == 0
    text = r.stdout.decode()
    for opt, env in [("--grace", "AERO_GRACE_PERIOD"), ("--child-only", "AERO_SIGNAL_CHILD_ONLY"),
                     ("--remap-exit", "AERO_REMAP_EXIT"), ("--pdeathsig", "AERO_PDEATHSIG"),
                     ("--rewrite", "AERO_SIGNAL_REWRITE"), ("--verbose", "AERO_VERBOSITY")]:
        assert re.search(re.escape(opt) + r"\S*\s+\(env " + env + r"\)", text), opt
    for opt in ["--quiet", "--version", "--help", "--build-info"]:
        assert opt in text


@pytest.mark.parametrize("args,env,message", [
    (["--bogus", "--", "true"], {}, "unknown option '--bogus'"),
    (["-Z", "--", "true"], {}, "unknown option '-Z'"),
    (["--grace"], {}, "option '--grace' needs a value"),
    (["--grace=soon", "--", "true"], {}, "--grace: 'soon' is not a duration"),
    (["--", "true"], {"AERO_GRACE_PERIOD": "-1"}, "AERO_GRACE_PERIOD: '-1' is not a duration"),
    (["--", "true"], {"AERO_REMAP_EXIT": "1,x"}, "AERO_REMAP_EXIT: 'x' is not a whole number"),
    (["-e", "256", "--", "true"], {}, "--remap-exit: '256' is not a whole number from 0 to 255"),
    (["-r", "TERM", "--", "true"], {}, "--rewrite: 'TERM' is not FROM:TO"),
    (["-r", "TERM:NOPE", "--", "true"], {}, "--rewrite: unknown signal 'NOPE'"),
    (["-r", "KILL:TERM", "--", "true"], {}, "cannot be rewritten"),
    (["-p", "0", "--", "true"], {}, "--pdeathsig: unknown signal '0'"),
    (["--", "true"], {"AERO_SIGNAL_CHILD_ONLY": "maybe"}, "AERO_SIGNAL_CHILD_ONLY: 'maybe' is not a boolean"),
    (["--", "true"], {"AERO_VERBOSITY": "9"}, "AERO_VERBOSITY: '9' is not a whole number from 0 to 3"),
    ([], {}, "no command given"),
])
def test_bad_settings_exit_125_with_the_fix(aero_init, args, env, message):
    r = run(aero_init, args, env=env)
    assert r.returncode == 125
    err = r.stderr.decode()
    assert message in err
    assert err.startswith("aero-init: ") and "see 'aero-init --help'" in err
    assert err.count("\n") == 1
    assert r.stdout == b""


def test_env_settings_apply(aero_init):
    r = run(aero_init, ["--", "sh", "-c", "exit 7"], env={"AERO_REMAP_EXIT": "3,7"})
    assert r.returncode == 0
    r = run(aero_init, ["--", "sh", "-c", "exit 4"], env={"AERO_REMAP_EXIT": "3,7"})
    assert r.returncode == 4


@memcheck
def test_remap_exit_option_and_signal_status(aero_init):
    assert run(aero_init, ["-e", "3", "--", "sh", "-c", "exit 3"]).returncode == 0
    # 143 is "killed by SIGTERM": mapping it keeps orchestrators from calling it a failure.
    assert run(aero_init, ["-e", "143", "--", "sh", "-c", "kill -TERM $$"]).returncode == 0
    assert run(aero_init, ["-e", "143", "--", "sh", "-c", "exit 2"]).returncode == 2


@VFORK
def test_verbosity_levels(aero_init):
    quiet = run(aero_init, ["--", "true"])
    assert quiet.stderr == b""
    loud = run(aero_init, ["--", "true"], env={"AERO_VERBOSITY": "2"})
    assert b"aero-init: started 'true'" in loud.stderr
    assert b"ended with status 0" in loud.stderr
    silenced = run(aero_init, ["-q", "--", "no-such-command-aero"])
    assert silenced.returncode == 127 and b"cannot run" in silenced.stderr


@memcheck
def test_experiment_output_unchanged(aero_init):
    payload = bytes(range(256)) * 64
    r = subprocess.run([aero_init, "--", "cat"], input=payload, capture_output=True)
    assert r.returncode == 0 and r.stdout == payload


def test_experiment_helper_runs(aero_init, tmp_path):
    out = tmp_path / "state.json"
    r = run(aero_init, ["--"] + EXPERIMENT + ["state", str(out)])
    assert r.returncode == 0, r.stderr
    assert out.exists()
