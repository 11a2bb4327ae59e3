"""The pristine check's fast paths (`aero-launch check -v` says which one
answered): the index file read without libgit2, its cache-tree against HEAD's
tree, the stat scan of the working tree against the index, and the submodule
check skipped when there can be none. Each test first lets the checkout settle (no index entry racy), as a
checkout is some seconds after its last change; otherwise the scan defers to
libgit2's status walk, which other tests cover."""
import hashlib
import os
import subprocess
import time

from helpers.gitrepo import git, git_env, make_project

DIRTY = 65
FILES = {"train.py": "print('hello')\n", "lib/model.py": "W = 1\n",
         "lib/deep/er/data.py": "D = 2\n", "run.sh": ("#!/bin/sh\n", 0o755),
         ".gitignore": "*.log\nbuild/\n"}


def check(aero_launch, repo, env):
    return subprocess.run([aero_launch, "check", "-v", "-C", str(repo)], env=env,
                          capture_output=True, text=True, timeout=60)


# Each settle backdates to a second of its own: git compares whole seconds
# only, so a second settle within the same second would leave the index with
# the first one's nanoseconds (and ctime), which the scan does compare.
SETTLED = iter(range(int(time.time()) - 1000, 0, -1))


def settle(repo, env):
    """Backdates every file of the working tree and lets git record the new
    stat data, so that no entry is as new as the index."""
    past = next(SETTLED)
    for top, dirs, files in os.walk(repo):
        if top == str(repo):
            dirs.remove(".git")
        for name in files + [d for d in dirs if os.path.islink(os.path.join(top, d))]:
            os.utime(os.path.join(top, name), (past, past), follow_symlinks=False)
    git(repo, "update-index", "-q", "--refresh", env=env, check=False)


def write(repo, path, text):
    full = os.path.join(repo, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)


def refused(r):
    """The (kind, path) pairs of a refusal."""
    assert r.returncode == DIRTY, r.stderr
    lines = [line for line in r.stderr.splitlines() if not line.startswith("aero-launch: ")]
    return {tuple(line.strip().rsplit(None, 1)) for line in lines}


def project(tmp_path, env, files=FILES):
    repo = make_project(tmp_path, env, files)
    os.symlink("train.py", os.path.join(repo, "link.py"))
    git(repo, "add", "link.py", env=env)
    git(repo, "commit", "-q", "-m", "A link", env=env)
    git(repo, "push", "-q", env=env)
    settle(repo, env)
    return repo


def test_a_clean_checkout_is_proven_clean_by_the_fast_paths(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = project(tmp_path, env)
    write(repo, "run.log", "ignored\n")
    write(repo, "build/x/out.bin", "ignored\n")
    r = check(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    assert "the stat data of 6 tracked files match the index" in r.stderr
    assert "the index's cache-tree is HEAD's tree" in r.stderr
    assert "no submodule to ask" in r.stderr
    assert "status walk" not in r.stderr


def test_changes_are_found_after_the_scan_defers(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = project(tmp_path, env)
    write(repo, "train.py", "print('changed')\n")
    os.remove(os.path.join(repo, "lib", "model.py"))
    write(repo, "lib/deep/new.py", "new\n")
    r = check(aero_launch, repo, env)
    assert "the working tree scan is unsure" in r.stderr
    assert refused(r) == {("modified", "train.py"), ("deleted", "lib/model.py"),
                          ("untracked", "lib/deep/new.py")}


def test_an_untracked_file_alone_is_found(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = project(tmp_path, env)
    write(repo, "lib/deep/er/notes.txt", "x\n")
    r = check(aero_launch, repo, env)
    assert "lib/deep/er/notes.txt: untracked and not ignored" in r.stderr
    assert refused(r) == {("untracked", "lib/deep/er/notes.txt")}


def test_empty_and_ignored_only_directories_are_not_untracked(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = project(tmp_path, env)
    os.makedirs(os.path.join(repo, "empty", "deeper"))
    write(repo, "logs/a.log", "ignored\n")
    r = check(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    assert "nothing untracked" in r.stderr


def test_a_change_that_keeps_size_and_mtime_is_found(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = project(tmp_path, env)
    path = os.path.join(repo, "lib", "model.py")
    st = os.stat(path)
    write(repo, "lib/model.py", "W = 7\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    r = check(aero_launch, repo, env)
    assert "lib/model.py: its stat data differ" in r.stderr  # the ctime did change
    assert refused(r) == {("modified", "lib/model.py")}


def test_racy_entries_are_left_to_the_status_walk(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = project(tmp_path, env)
    future = time.time() + 100
    os.utime(os.path.join(repo, "train.py"), (future, future))
    git(repo, "update-index", "-q", "--refresh", env=env, check=False)
    r = check(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    assert "train.py: changed in the second the index was written" in r.stderr


def test_a_staged_change_with_a_whole_cache_tree_is_refused(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = project(tmp_path, env)
    write(repo, "lib/model.py", "W = 2\n")
    git(repo, "add", "lib/model.py", env=env)
    git(repo, "write-tree", env=env)  # makes the cache-tree whole again
    settle(repo, env)
    r = check(aero_launch, repo, env)
    assert "the index's cache-tree is not HEAD's tree" in r.stderr
    assert refused(r) == {("staged", "lib/model.py")}


def test_a_staged_change_with_no_whole_cache_tree_is_refused(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = project(tmp_path, env)
    write(repo, "lib/deep/added.py", "A = 1\n")
    git(repo, "add", "lib/deep/added.py", env=env)
    settle(repo, env)
    r = check(aero_launch, repo, env)
    assert "no whole cache-tree; a diff says it is not HEAD's tree" in r.stderr
    assert refused(r) == {("staged", "lib/deep/added.py")}


def test_a_staged_change_reverted_in_the_working_tree_is_refused(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = project(tmp_path, env)
    write(repo, "train.py", "print('staged')\n")
    git(repo, "add", "train.py", env=env)
    write(repo, "train.py", FILES["train.py"])
    settle(repo, env)
    r = check(aero_launch, repo, env)
    assert refused(r) == {("staged", "train.py")}


def test_an_index_with_no_whole_cache_tree_can_still_be_clean(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = project(tmp_path, env)
    # Out of the index and back: the same entry, but the cache-tree of its
    # directories (and of the top) is no longer whole.
    git(repo, "rm", "-q", "--cached", "lib/deep/er/data.py", env=env)
    git(repo, "add", "lib/deep/er/data.py", env=env)
    settle(repo, env)
    r = check(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    assert "no whole cache-tree; a diff says it is HEAD's tree" in r.stderr


def test_an_intent_to_add_entry_is_refused(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = project(tmp_path, env)
    write(repo, "later.py", "")
    git(repo, "add", "-N", "later.py", env=env)
    settle(repo, env)
    r = check(aero_launch, repo, env)
    assert "intent-to-add" in r.stderr
    assert r.returncode == DIRTY, r.stderr


def test_a_dirty_submodule_is_found_when_the_superproject_is_clean(aero_launch, tmp_path):
    env = git_env(tmp_path)
    lib = make_project(tmp_path / "lib", env, {"lib.py": "x = 1\n"})
    repo = make_project(tmp_path, env)
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", lib, "vendor/lib",
        env=env)
    git(repo, "commit", "-q", "-m", "Add lib", env=env)
    git(repo, "push", "-q", env=env)
    settle(repo, env)
    r = check(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    assert "the stat data of 2 tracked files match" in r.stderr
    assert "no submodule to ask" not in r.stderr
    write(repo, "vendor/lib/lib.py", "x = 2\n")
    r = check(aero_launch, repo, env)
    assert "the stat data of 2 tracked files match" in r.stderr
    assert refused(r) == {("submodule modified", "vendor/lib")}


def test_index_versions_3_and_4_are_read(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = project(tmp_path, env)
    git(repo, "update-index", "--index-version", "4", env=env)
    settle(repo, env)
    with open(os.path.join(repo, ".git", "index"), "rb") as f:
        assert f.read(8) == b"DIRC\0\0\0\4"
    r = check(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    assert "the stat data of 6 tracked files match" in r.stderr
    write(repo, "lib/deep/er/new.py", "new\n")
    assert refused(check(aero_launch, repo, env)) == {("untracked", "lib/deep/er/new.py")}
    os.remove(os.path.join(repo, "lib", "deep", "er", "new.py"))
    # An extended flag makes the index version 3 (set after settling: git
    # does not refresh the stat data of a skip-worktree entry).
    git(repo, "update-index", "--index-version", "2", env=env)
    settle(repo, env)
    git(repo, "update-index", "--skip-worktree", "lib/model.py", env=env)
    with open(os.path.join(repo, ".git", "index"), "rb") as f:
        assert f.read(8) == b"DIRC\0\0\0\3"
    r = check(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    assert "the stat data of 6 tracked files match" in r.stderr


def test_a_split_index_goes_to_libgit2_as_before(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = project(tmp_path, env)
    git(repo, "update-index", "--split-index", env=env)
    r = check(aero_launch, repo, env)
    assert "the extension 'link'" in r.stderr
    assert r.returncode == 74 and "unsupported mandatory extension" in r.stderr


def snapshot(gitdir):
    """Every path under gitdir with its type, mode, size, mtime and content."""
    seen = {}
    for top, dirs, files in os.walk(gitdir):
        for name in dirs + files:
            path = os.path.join(top, name)
            st = os.lstat(path)
            digest = None
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            seen[os.path.relpath(path, gitdir)] = (st.st_mode, st.st_size, st.st_mtime_ns,
                                                   digest)
    return seen


def test_the_check_leaves_the_git_directory_untouched(aero_launch, tmp_path):
    env = git_env(tmp_path)
    repo = project(tmp_path, env)
    gitdir = os.path.join(repo, ".git")
    before = snapshot(gitdir)
    assert check(aero_launch, repo, env).returncode == 0  # the fast paths
    assert snapshot(gitdir) == before
    # A cache-tree that is not whole: libgit2's diff of HEAD with the index.
    git(repo, "rm", "-q", "--cached", "train.py", env=env)
    git(repo, "add", "train.py", env=env)
    settle(repo, env)
    before = snapshot(gitdir)
    assert check(aero_launch, repo, env).returncode == 0
    assert snapshot(gitdir) == before
    # Racy and dirty: the status walk.
    write(repo, "train.py", "print('changed')\n")
    write(repo, "new.py", "new\n")
    git(repo, "add", "new.py", env=env)
    before = snapshot(gitdir)
    assert check(aero_launch, repo, env).returncode == DIRTY
    assert snapshot(gitdir) == before
