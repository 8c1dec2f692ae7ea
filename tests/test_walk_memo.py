"""A warm run lists no directory that is as it was, and still finds every
change: a file added, a .gitignore or configuration edited in place."""

from __future__ import annotations

import json
import os
import subprocess

from conftest import run_cli

BUG = "from fastapi import BackgroundTasks\ndef f():\n    BackgroundTasks().add_task(print)\n"


def reported(cwd):
    result = run_cli("check", "--output-format", "json", ".", cwd=cwd, cache=True)
    assert result.returncode in (0, 1), result.stderr
    return sorted(
        item["filename"].replace(str(cwd) + os.sep, "") for item in json.loads(result.stdout)
    )


def make_tree(root, files=("app.py", "sub/other.py", "sub/local.py", "sub/deep/more.py")):
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".gitignore").write_text(".bgtask_lint_cache/\n")
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(BUG)
    (root / "sub" / ".gitignore").write_text("local.py\n")


# Long ago: old enough for the memo to trust, and the same each time, so
# that a directory settled again has the time it had.
PAST = 1_600_000_000


def settle(*paths):
    for path in paths:
        os.utime(path, (PAST, PAST))


def settle_tree(root):
    settle(*(p for p in (root, *root.rglob("*")) if ".git" not in p.parts))


def memo_of(root):
    (memo,) = (root / ".bgtask_lint_cache").glob("walk-*.json")
    return json.loads(memo.read_text())


def listings(monkeypatch):
    """The directories listed from now on (every `os.scandir`)."""
    listed: list[str] = []
    real_scandir = os.scandir

    def scandir(path="."):
        listed.append(os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    return listed


def test_a_file_added_to_a_kept_directory_is_found(tmp_path):
    make_tree(tmp_path)
    settle_tree(tmp_path)
    assert reported(tmp_path) == ["app.py", "sub/deep/more.py", "sub/other.py"]
    assert str(tmp_path / "sub") in memo_of(tmp_path)
    (tmp_path / "sub" / "new.py").write_text(BUG)  # the directory's time moves on
    assert "sub/new.py" in reported(tmp_path)


def test_a_gitignore_edited_in_place_is_read_again(tmp_path):
    make_tree(tmp_path)
    settle_tree(tmp_path)
    assert "sub/local.py" not in reported(tmp_path)
    (tmp_path / "sub" / ".gitignore").write_text("other.py\n")
    settle(tmp_path / "sub")  # only the .gitignore's own stamp tells
    assert reported(tmp_path) == ["app.py", "sub/deep/more.py", "sub/local.py"]


def test_an_exclude_edited_in_place_is_applied(tmp_path):
    make_tree(tmp_path)
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.bgtask-lint]\nextend-exclude = ["deep"]\n')
    settle_tree(tmp_path)
    assert "sub/deep/more.py" not in reported(tmp_path)
    config.write_text('[tool.bgtask-lint]\nextend-exclude = ["other.py"]\n')
    settle(tmp_path)
    assert reported(tmp_path) == ["app.py", "sub/deep/more.py"]


def test_a_directory_changed_just_now_is_not_kept(tmp_path):
    """Its time could stay the same through a second change made within
    the time's granularity."""
    make_tree(tmp_path)
    settle_tree(tmp_path)
    settle(tmp_path / "sub")
    (tmp_path / "sub" / "deep" / "new.py").write_text(BUG)
    reported(tmp_path)
    memo = memo_of(tmp_path)
    assert str(tmp_path / "sub") in memo
    assert str(tmp_path / "sub" / "deep") not in memo


def test_a_directory_holding_a_symbolic_link_is_not_kept(tmp_path):
    """What a link leads to can change while its directory does not."""
    make_tree(tmp_path)
    (tmp_path / "sub" / "link").symlink_to(tmp_path / "sub" / "deep")
    settle_tree(tmp_path)
    settle(tmp_path / "sub")
    reported(tmp_path)
    memo = memo_of(tmp_path)
    assert str(tmp_path / "sub" / "deep") in memo
    assert str(tmp_path / "sub") not in memo


def test_a_warm_run_lists_no_directory_that_is_as_it_was(tmp_path, monkeypatch):
    """Not even the one the run starts in, once the cache made there is
    settled; the command line reads the configuration there first."""
    make_tree(tmp_path)
    reported(tmp_path)
    settle_tree(tmp_path)
    first = reported(tmp_path)
    listed = listings(monkeypatch)
    assert reported(tmp_path) == first
    assert [path for path in listed if path.startswith(str(tmp_path))] == [str(tmp_path)]


def test_a_warm_run_on_one_file_lists_no_directory_of_its_project(tmp_path, monkeypatch):
    """Pre-commit names the changed files: the rest of the project is walked
    for the files that import them, from the memo too."""
    make_tree(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'app'\n")

    def one_file():
        result = run_cli("check", "--output-format", "json", "app.py", cwd=tmp_path, cache=True)
        assert result.returncode == 1, result.stderr
        return result.stdout

    one_file()
    settle_tree(tmp_path)
    first = one_file()
    listed = listings(monkeypatch)
    assert one_file() == first
    assert [path for path in listed if path.startswith(str(tmp_path))] == [str(tmp_path)]
