"""aero-launch's Git checks (`aero-launch check`, the same code `run` uses)
on real repositories made with the git CLI."""
import json
import os
import subprocess

from helpers.gitrepo import git, git_env, make_project

DIRTY, UNBORN, UNPUSHED, REPO = 65, 66, 67, 64


def check(aero_launch, repo, env, *args):
    return subprocess.run([aero_launch, "check", "-C", str(repo), *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_clean_pushed_checkout_gives_its_facts(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = make_project(tmp_path, env)
    r = check(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    facts = json.loads(r.stdout)
    head = git(repo, "rev-parse", "HEAD", env=env).stdout.strip()
    assert facts["commit"] == head and facts["short_commit"] == head[:12]
    assert facts["branch"] == "main" and facts["detached"] is False
    assert facts["upstream"] == "origin/main" and facts["remote"] == "origin"
    assert facts["remote_url"] == os.path.join(str(tmp_path), "origin.git")
    assert facts["message"] == "First experiment\n\nWith a body.\n"
    assert facts["pushed"] is True


def test_credentials_in_the_remote_url_are_left_out(aero_launch, tmp_path):
    """A CI checkout's remote often carries a token (https://oauth2:TOKEN@...);
    the URL goes into image labels, manifests and trackers without it."""
    env = git_env(tmp_path)
    repo = make_project(tmp_path, env)
    for url, want in [("https://oauth2:canary-remote-77@git.example/g/p.git",
                       "https://git.example/g/p.git"),
                      ("https://canary-remote-77@git.example/g/p.git",
                       "https://git.example/g/p.git"),
                      ("ssh://git@git.example/g/p.git", "ssh://git@git.example/g/p.git")]:
        git(repo, "remote", "set-url", "origin", url, env=env)
        r = check(aero_launch, repo, env)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["remote_url"] == want
        assert "canary-remote-77" not in r.stdout + r.stderr


def test_modified_staged_untracked_are_each_refused(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = make_project(tmp_path, env, {"a.py": "a\n", "b.py": "b\n", "c.py": "c\n"})
    with open(os.path.join(repo, "a.py"), "a") as f:
        f.write("more\n")
    with open(os.path.join(repo, "b.py"), "a") as f:
        f.write("more\n")
    git(repo, "add", "b.py", env=env)
    os.remove(os.path.join(repo, "c.py"))
    os.makedirs(os.path.join(repo, "data", "deep"))
    with open(os.path.join(repo, "data", "deep", "new.csv"), "w") as f:
        f.write("x\n")
    r = check(aero_launch, repo, env)
    assert r.returncode == DIRTY, r.stderr
    assert r.stdout == ""
    assert "not pristine (4 paths)" in r.stderr and ".gitignore" in r.stderr
    lines = {tuple(line.split()) for line in r.stderr.splitlines()[1:]}
    assert lines == {("modified", "a.py"), ("staged", "b.py"), ("deleted", "c.py"),
                     ("untracked", "data/deep/new.csv")}


def test_ignored_files_are_fine(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = make_project(tmp_path, env, {".gitignore": "*.log\nbuild/\n", "t.py": "t\n"})
    os.makedirs(os.path.join(repo, "build", "x"))
    for p in ("run.log", "build/x/out.bin"):
        with open(os.path.join(repo, p), "w") as f:
            f.write("ignored\n")
    r = check(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(repo, "new.py"), "w") as f:
        f.write("not ignored\n")
    r = check(aero_launch, repo, env)
    assert r.returncode == DIRTY and "untracked    new.py" in r.stderr


def test_long_refusals_are_cut_with_a_count(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = make_project(tmp_path, env)
    for i in range(150):
        with open(os.path.join(repo, "f%03d" % i), "w") as f:
            f.write("x")
    r = check(aero_launch, repo, env)
    assert r.returncode == DIRTY and "(150 paths)" in r.stderr
    assert "... and 50 more" in r.stderr


def test_dirty_submodule_is_refused(aero_launch, tmp_path):
    env = git_env(tmp_path)
    lib = make_project(tmp_path / "lib", env, {"lib.py": "x = 1\n"})
    repo = make_project(tmp_path, env)
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", lib, "vendor/lib",
        env=env)
    git(repo, "commit", "-q", "-m", "Add lib", env=env)
    git(repo, "push", "-q", env=env)
    assert check(aero_launch, repo, env).returncode == 0
    with open(os.path.join(repo, "vendor", "lib", "lib.py"), "a") as f:
        f.write("x = 2\n")
    r = check(aero_launch, repo, env)
    assert r.returncode == DIRTY, r.stderr
    assert "submodule modified vendor/lib" in " ".join(r.stderr.split())
    git(os.path.join(repo, "vendor", "lib"), "checkout", "-q", "lib.py", env=env)
    with open(os.path.join(repo, "vendor", "lib", "new.txt"), "w") as f:
        f.write("new\n")
    r = check(aero_launch, repo, env)
    assert r.returncode == DIRTY and "submodule untracked" in r.stderr


def test_unborn_head_is_refused(aero_launch, tmp_path):
    env = git_env(tmp_path)
    subprocess.run(["git", "init", "-q", str(tmp_path / "fresh")], env=env, check=True)
    r = check(aero_launch, tmp_path / "fresh", env)
    assert r.returncode == UNBORN
    assert "no commit yet" in r.stderr and "git commit" in r.stderr


def test_not_a_repository(aero_launch, tmp_path):
    r = check(aero_launch, tmp_path, git_env(tmp_path))
    assert r.returncode == REPO and "not in a Git repository" in r.stderr


def test_unpushed_commit_is_refused_unless_allowed(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = make_project(tmp_path, env)
    with open(os.path.join(repo, "train.py"), "a") as f:
        f.write("print('more')\n")
    git(repo, "commit", "-q", "-am", "More", env=env)
    r = check(aero_launch, repo, env)
    assert r.returncode == UNPUSHED
    assert "not pushed to 'origin/main'" in r.stderr and "--allow-unpushed" in r.stderr
    r = check(aero_launch, repo, env, "--allow-unpushed")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["pushed"] is False


def test_branch_without_upstream_is_refused(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = make_project(tmp_path, env, push=False)
    r = check(aero_launch, repo, env)
    assert r.returncode == UNPUSHED
    assert "has no upstream" in r.stderr and "git push -u origin main" in r.stderr
    facts = json.loads(check(aero_launch, repo, env, "--allow-unpushed").stdout)
    assert facts["upstream"] is None and facts["pushed"] is False
    assert facts["remote_url"] == os.path.join(str(tmp_path), "origin.git")


def test_detached_head(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = make_project(tmp_path, env)
    git(repo, "checkout", "-q", "--detach", env=env)
    r = check(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    facts = json.loads(r.stdout)
    assert facts["detached"] is True and facts["branch"] is None and facts["pushed"] is True
    assert facts["remote"] == "origin"
    git(repo, "commit", "-q", "--allow-empty", "-m", "Detached work", env=env)
    r = check(aero_launch, repo, env)
    assert r.returncode == UNPUSHED and "detached at" in r.stderr
    facts = json.loads(check(aero_launch, repo, env, "--allow-unpushed").stdout)
    assert facts["pushed"] is False and facts["message"] == "Detached work\n"


def test_repository_owned_by_someone_else(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = make_project(tmp_path, env)
    subprocess.run(["chown", "-R", "12345:12345", repo], check=True)
    r = check(aero_launch, repo, env)
    assert r.returncode == REPO, r.stderr
    assert "owned by uid 12345" in r.stderr
    assert "git config --global --add safe.directory %s" % repo in r.stderr
    git(tmp_path, "config", "--global", "--add", "safe.directory", repo, env=env)
    r = check(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr


def test_extension_libgit2_cannot_read(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = make_project(tmp_path, env)
    git(repo, "config", "core.repositoryformatversion", "1", env=env)
    git(repo, "config", "extensions.worktreeConfig", "true", env=env)
    assert git(repo, "status", env=env).returncode == 0
    r = check(aero_launch, repo, env)
    assert r.returncode == REPO
    assert "worktreeconfig" in r.stderr.lower() and "extensions.worktreeConfig" in r.stderr
