"""Real Git repositories for the launcher's tests, made with the git CLI."""
import os
import subprocess


def git_env(home):
    """An environment whose Git (and libgit2) read only home's configuration."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AERO_") and not k.startswith("GIT_")}
    env.update({"HOME": str(home), "XDG_CONFIG_HOME": os.path.join(str(home), ".config"),
                "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.org",
                "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.org",
                "GIT_CONFIG_NOSYSTEM": "1"})
    return env


def git(repo, *args, env, check=True):
    return subprocess.run(["git", "-C", str(repo), *args], env=env, check=check,
                          capture_output=True, text=True)


def make_project(root, env, files=None, push=True):
    """A checkout at root/project with one commit of files (path -> text, or
    (text, mode) ), cloned from a bare origin at root/origin.git and pushed."""
    origin = os.path.join(str(root), "origin.git")
    repo = os.path.join(str(root), "project")
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", origin], env=env, check=True)
    subprocess.run(["git", "clone", "-q", origin, repo], env=env, check=True,
                   capture_output=True)
    git(repo, "checkout", "-q", "-b", "main", env=env)
    for path, content in (files or {"train.py": "print('hello')\n"}).items():
        mode = None
        if isinstance(content, tuple):
            content, mode = content
        full = os.path.join(repo, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(content)
        if mode is not None:
            os.chmod(full, mode)
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-q", "-m", "First experiment\n\nWith a body.", env=env)
    if push:
        git(repo, "push", "-q", "-u", "origin", "main", env=env)
    return repo
