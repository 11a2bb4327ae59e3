"""The build context: a tar of the HEAD tree (`aero-launch context`, the same
stream `run` sends to the engine), compared with `git archive`."""
import io
import os
import subprocess
import tarfile

from helpers.gitrepo import git, git_env, make_project

LONG = "deep/" + "d" * 60 + "/" + "n" * 120 + ".py"


def members(data):
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar.getmembers():
            name = m.name.rstrip("/")
            kind = "dir" if m.isdir() else "link" if m.issym() else "file"
            content = tar.extractfile(m).read() if m.isfile() else None
            out[name] = (kind, m.mode & 0o111 != 0 if m.isfile() else None,
                         m.linkname if m.issym() else None, content)
    return out


def context(aero_launch, repo, env, *args):
    return subprocess.run([aero_launch, "context", "-C", repo, *args], env=env,
                          capture_output=True, timeout=60)


def test_context_is_the_committed_tree(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = make_project(tmp_path, env, {
        ".gitignore": "*.log\n", "train.py": "print(1)\n", "run.sh": ("#!/bin/sh\n", 0o755),
        LONG: "long\n", "big.bin": "x" * 1_000_003})
    os.symlink("train.py", os.path.join(repo, "main.py"))
    os.symlink("../" + "t" * 150, os.path.join(repo, "far"))
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-q", "-m", "links", env=env)
    # Neither an uncommitted change nor an ignored file nor an untracked one enters.
    with open(os.path.join(repo, "train.py"), "w") as f:
        f.write("print('uncommitted')\n")
    for name in ("debug.log", "untracked.py"):
        with open(os.path.join(repo, name), "w") as f:
            f.write("secret\n")
    r = context(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    ours = members(r.stdout)
    theirs = members(subprocess.run(["git", "-C", repo, "archive", "HEAD"], env=env,
                                    check=True, capture_output=True).stdout)
    assert ours == theirs
    assert ours["train.py"][3] == b"print(1)\n"
    assert "debug.log" not in ours and "untracked.py" not in ours
    assert ours["run.sh"][1] is True and ours["train.py"][1] is False
    assert ours["main.py"][:3] == ("link", None, "train.py")
    assert ours["far"][2] == "../" + "t" * 150
    assert ours[LONG][3] == b"long\n"
    assert len(ours["big.bin"][3]) == 1_000_003


def test_context_to_a_file(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = make_project(tmp_path, env)
    out = tmp_path / "ctx.tar"
    r = context(aero_launch, repo, env, "-o", str(out))
    assert r.returncode == 0 and r.stdout == b""
    assert set(members(out.read_bytes())) == {"train.py"}


def test_context_holds_submodules_committed_tree(aero_launch, tmp_path):
    env = git_env(tmp_path)
    lib = make_project(tmp_path / "lib", env, {"lib.py": "x = 1\n"})
    repo = make_project(tmp_path, env)
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", lib, "vendor/lib",
        env=env)
    git(repo, "commit", "-q", "-m", "Add lib", env=env)
    with open(os.path.join(repo, "vendor", "lib", "lib.py"), "w") as f:
        f.write("x = 'uncommitted'\n")
    ours = members(context(aero_launch, repo, env).stdout)
    assert ours["vendor/lib/lib.py"][3] == b"x = 1\n"


def test_context_of_an_unborn_head(aero_launch, tmp_path):
    env = git_env(tmp_path)
    subprocess.run(["git", "init", "-q", str(tmp_path / "fresh")], env=env, check=True)
    r = context(aero_launch, str(tmp_path / "fresh"), env)
    assert r.returncode == 66 and r.stdout == b""
