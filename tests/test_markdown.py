"""Python code blocks in Markdown: checked when asked for (`extend-include`
or a named file), reported at their place in the file, fixed in place."""

from __future__ import annotations

import shutil

import pytest
from conftest import FIXTURES, expectations, run_cli

TUTORIAL = FIXTURES / "markdown" / "tutorial.md"


@pytest.fixture
def docs(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.bgtask-lint]\nextend-include = ["*.md"]\n')
    shutil.copy(TUTORIAL, tmp_path / "tutorial.md")
    (tmp_path / "app.py").write_text("x = 1\n")
    return tmp_path


def reported(output: str) -> set[tuple[int, int, str]]:
    found = set()
    for line in output.splitlines():
        _path, row, column, rest = line.split(":", 3)
        found.add((int(row), int(column), rest.split()[0]))
    return found


def test_findings_at_their_place_in_the_markdown_file(docs):
    result = run_cli("check", "--output-format", "concise", ".", cwd=docs)
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("tutorial.md:")]
    # `# expect:` inside the blocks; the noqa'd block, the fragment, and the
    # blocks in other languages report nothing.
    assert reported("\n".join(lines)) == expectations(TUTORIAL.read_text(encoding="utf-8"))


def test_markdown_is_checked_only_when_asked_for(docs):
    (docs / "pyproject.toml").write_text("")
    walked = run_cli("check", "--output-format", "concise", ".", cwd=docs)
    assert "tutorial.md" not in walked.stdout
    named = run_cli("check", "--output-format", "concise", "tutorial.md", cwd=docs)
    assert "tutorial.md:16:13: BGT001" in named.stdout
    flag = run_cli(
        "check",
        "--config",
        "extend-include = ['*.md']",
        "--output-format",
        "concise",
        ".",
        cwd=docs,
    )
    assert "tutorial.md:16:13: BGT001" in flag.stdout


def test_fix_rewrites_the_block_in_place(docs):
    result = run_cli("check", "--fix", ".", cwd=docs)
    assert "Traceback" not in result.stderr
    expected = TUTORIAL.with_name("tutorial.md.fixed").read_text(encoding="utf-8")
    assert (docs / "tutorial.md").read_text(encoding="utf-8") == expected
    # Fixing twice changes nothing, and the fixed block still reports what remains.
    again = run_cli("check", "--fix", "--output-format", "concise", ".", cwd=docs)
    assert (docs / "tutorial.md").read_text(encoding="utf-8") == expected
    assert "BGT001" in again.stdout and ":16:" not in again.stdout


def test_full_output_quotes_the_markdown_lines(docs):
    result = run_cli("check", "tutorial.md", cwd=docs)
    assert "16 |     tasks = BackgroundTasks()  # expect: BGT001:13" in result.stdout
