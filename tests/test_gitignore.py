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


def test_plain_names_and_globs_keep_the_last_match_winning(tmp_path):
    from bgtask_lint.run import gitignore

    (tmp_path / ".gitignore").write_text("*.log\n!keep.log\nkeep.log\ncache\n!cache\nbuild/\n")
    rules = gitignore.load(str(tmp_path))
    assert rules is not None

    def ignored(relative: str, is_dir: bool = False) -> bool:
        return gitignore.is_ignored(str(tmp_path / relative), is_dir, (rules,))

    assert ignored("a/b.log") and ignored("keep.log")  # `keep.log` comes last
    assert not ignored("a/cache", is_dir=True)  # `!cache` comes after `cache`
    assert ignored("x/build", is_dir=True) and not ignored("x/build")  # a file named build
    assert not ignored("app.py")


def test_verdicts_agree_with_git_itself(tmp_path):
    """The matcher against `git check-ignore` on the same tree."""

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text(
        "__pycache__/\n*.py[cod]\nbuild/\n/site\n**/gen/*.py\n!gen/keep.py\n"
        "docs/_build/\n*.log\n!important.log\n.venv\nnode_modules/\n"
    )
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / ".gitignore").write_text("local_*.py\n!local_ok.py\n/only_here.py\n")
    paths = [
        "app.py",
        "app.pyc",
        "pkg/local_x.py",
        "pkg/local_ok.py",
        "pkg/only_here.py",
        "only_here.py",
        "sub/only_here.py",
        "gen/a.py",
        "x/gen/b.py",
        "gen/keep.py",
        "site",
        "pkg/site",
        "a.log",
        "important.log",
        "docs/_build",
        "pkg/docs/_build",
        "build",
        "pkg/build",
        ".venv",
        "pkg/.venv",
        "node_modules",
        "__pycache__",
    ]
    directories = {
        "build",
        "pkg/build",
        "docs/_build",
        "pkg/docs/_build",
        "node_modules",
        "__pycache__",
        ".venv",
        "pkg/.venv",
    }
    assert_agrees_with_git(tmp_path, paths, directories)


def test_plain_paths_and_endings_agree_with_git_itself(tmp_path):
    """The rules answered without an expression (plain names, anchored
    plain paths, `*` and `*.ending`), mixed with negations, against
    `git check-ignore`."""

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text(
        "*.tmp\n!keep.tmp\n/out/report.py\nlib/generated.py\n*~\n*.tar.gz\nnotes\n"
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".gitignore").write_text("*\n!*.py\n")
    paths = [
        "a.tmp",
        "x/b.tmp",
        "keep.tmp",
        "x/keep.tmp",
        "out/report.py",
        "x/out/report.py",
        "lib/generated.py",
        "x/lib/generated.py",
        "generated.py",
        "edit.py~",
        "dist.tar.gz",
        "dist.gz",
        "notes",
        "x/notes",
        "sub/a.py",
        "sub/a.txt",
        "tmp",
    ]
    directories = {"x/notes"}
    assert_agrees_with_git(tmp_path, paths, directories, "--no-index")


def assert_agrees_with_git(root, paths, directories, *options):
    """Make `paths` under the work tree `root` (those in `directories` as
    directories), then ask the matcher and `git check-ignore` about each."""
    from bgtask_lint.run import gitignore

    for relative in paths:
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if relative in directories:
            target.mkdir(exist_ok=True)
        else:
            target.write_text("")
    for relative in paths:
        is_dir = relative in directories
        ours = gitignore.is_ignored(
            str(root / relative), is_dir, gitignore.inherited(str((root / relative).parent))
        )
        git = subprocess.run(
            ["git", "check-ignore", "-q", *options, relative + ("/" if is_dir else "")], cwd=root
        )
        assert ours == (git.returncode == 0), relative
