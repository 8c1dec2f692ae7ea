"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit (installed
from the registry) with `pre-commit try-repo` against a temporary repository.

Slow (pre-commit builds the hook's environment): `pytest -m 'not slow'` skips
it; .ci/run runs it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow

BUGGY = (
    "from fastapi import BackgroundTasks, FastAPI\n\n"
    "app = FastAPI()\n\n\n"
    "def send(to):\n    print(to)\n\n\n"
    '@app.post("/signup")\n'
    "def signup(email: str):\n"
    "    tasks = BackgroundTasks()\n"
    "    tasks.add_task(send, email)\n"
    "    return {}\n"
)


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    if shutil.which("git") is None:
        pytest.skip("git is needed by pre-commit")
    home = tmp_path_factory.mktemp("pre-commit-home")
    return {
        **os.environ,
        "PRE_COMMIT_HOME": str(home),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }


def repository(path, files, env):
    path.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=path, check=True, env=env)
    for name, text in files.items():
        (path / name).write_text(text)
    subprocess.run(["git", "add", "."], cwd=path, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "start"], cwd=path, check=True, env=env)
    return path


def try_repo(hook, cwd, env):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(ROOT),
            hook,
            "--all-files",
            "--color",
            "never",
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_check_hook_fails_and_names_the_finding(tmp_path, environment):
    repo = repository(tmp_path / "buggy", {"app.py": BUGGY}, environment)
    result = try_repo("bgtask-lint", repo, environment)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BGT001" in result.stdout and "app.py" in result.stdout
    assert (repo / "app.py").read_text() == BUGGY


def test_fix_hook_rewrites_the_file(tmp_path, environment):
    repo = repository(tmp_path / "to-fix", {"app.py": BUGGY}, environment)
    result = try_repo("bgtask-lint-fix", repo, environment)
    assert result.returncode == 1, result.stdout + result.stderr  # files were changed
    fixed = (repo / "app.py").read_text()
    assert "def signup(email: str, tasks: BackgroundTasks):" in fixed
    assert "tasks = BackgroundTasks()" not in fixed
    assert try_repo("bgtask-lint", repo, environment).returncode == 0


def test_clean_repository_passes(tmp_path, environment):
    clean = BUGGY.replace(
        "def signup(email: str):", "def signup(email: str, tasks: BackgroundTasks):"
    )
    clean = clean.replace("    tasks = BackgroundTasks()\n", "")
    repo = repository(tmp_path / "clean", {"app.py": clean}, environment)
    result = try_repo("bgtask-lint", repo, environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout


def readme_snippets() -> list[str]:
    """The YAML blocks of the README's pre-commit section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## pre-commit", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, re.S)


def run_pre_commit(repo, env):
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_readme_snippet_with_a_commit_runs_as_written(tmp_path, environment):
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: there is no commit to point at")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, env=environment)
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout.strip()
    snippet = readme_snippets()[0]
    assert "REPLACE-WITH-A-COMMIT-SHA" in snippet
    config = snippet.replace("https://github.com/bgtask-lint/bgtask-lint", str(clone))
    config = config.replace("REPLACE-WITH-A-COMMIT-SHA", sha)
    repo = repository(
        tmp_path / "user", {"app.py": BUGGY, ".pre-commit-config.yaml": config}, environment
    )
    result = run_pre_commit(repo, environment)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BGT001" in result.stdout and "app.py" in result.stdout


def test_readme_local_hook_snippet_runs_as_written(tmp_path, environment):
    snippet = readme_snippets()[1]
    assert "repo: local" in snippet
    # `language: system` runs the bgtask-lint of the environment: this one.
    env = {
        **environment,
        "PATH": os.path.dirname(sys.executable) + os.pathsep + environment["PATH"],
    }
    repo = repository(tmp_path / "user", {"app.py": BUGGY, ".pre-commit-config.yaml": snippet}, env)
    result = run_pre_commit(repo, env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BGT001" in result.stdout and "app.py" in result.stdout
