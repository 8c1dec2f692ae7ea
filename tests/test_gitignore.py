"""Discovery respects .gitignore inside a git work tree, as ruff does."""

from __future__ import annotations

import json
import subprocess

from conftest import run_cli

BUG = "from fastapi import BackgroundTasks\ndef f():\n    BackgroundTasks().add_task(print)\n"


def files_reported(cwd, *args):
    result = run_cli("check", "--output-format", "json", *args, ".", cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return sorted(
        item["filename"].replace(str(cwd.resolve()) + "/", "") for item in json.loads(result.stdout)
    )


def make_tree(root, *, git):
    if git:
        subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".gitignore").write_text("generated/\n*.gen.py\n!keep.gen.py\n/build_out.py\n")
    for name in (
        "app.py",
        "x.gen.py",
        "keep.gen.py",
        "build_out.py",
        "generated/a.py",
        "sub/build_out.py",
        "sub/local.py",
        "sub/other.py",
    ):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(BUG)
    (root / "sub" / ".gitignore").write_text("local.py\n")


def test_gitignore_is_respected(tmp_path):
    make_tree(tmp_path, git=True)
    assert files_reported(tmp_path) == ["app.py", "keep.gen.py", "sub/build_out.py", "sub/other.py"]


def test_no_respect_gitignore(tmp_path):
    make_tree(tmp_path, git=True)
    assert len(files_reported(tmp_path, "--no-respect-gitignore")) == 8


def test_config_key(tmp_path):
    make_tree(tmp_path, git=True)
    (tmp_path / "pyproject.toml").write_text("[tool.bgtask-lint]\nrespect-gitignore = false\n")
    assert len(files_reported(tmp_path)) == 8
    assert len(files_reported(tmp_path, "--respect-gitignore")) == 4


def test_outside_a_work_tree_gitignore_does_not_apply(tmp_path):
    make_tree(tmp_path, git=False)
    assert len(files_reported(tmp_path)) == 8


def test_a_file_named_on_the_command_line_is_checked(tmp_path):
    make_tree(tmp_path, git=True)
    result = run_cli("check", "--output-format", "concise", "x.gen.py", cwd=tmp_path)
    assert "x.gen.py:3:5: BGT001" in result.stdout
