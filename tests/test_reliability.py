"""Regressions from the stress run: fixes that changed what code means or broke
it, inputs that crashed or hung a run, and stale cache results. Each test names
the item of the reliability issue it holds."""

from __future__ import annotations

import textwrap
from pathlib import Path

from bgtask_lint import api
from bgtask_lint.api import FixMode, check_paths, check_source, check_stdin


def _write(path: Path, source: str) -> Path:
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def _fix(path: Path, *, unsafe: bool = False) -> api.RunResult:
    return check_paths([path], fix=FixMode(unsafe=unsafe))


# -- 1. noqa directives are comments, not text -------------------------------

NOQA_TEXT = '''\
from fastapi import BackgroundTasks

TIMEOUT = 1
budget = TIMEOUT  # noqa: BGT003 - legacy
MARKER = "# noqa: BGT001"
spill = TIMEOUT  # noqa: BGT003 ) (


def documented():
    """Explains a directive:
    # noqa: BGT001
    """
'''


def test_unused_noqa_fix_edits_only_the_comment(tmp_path):
    path = tmp_path / "a.py"
    path.write_text(NOQA_TEXT)
    result = _fix(path)
    assert result.errors == []
    assert path.read_text() == NOQA_TEXT.replace("# noqa: BGT003 - legacy", "# - legacy").replace(
        "# noqa: BGT003 ) (", "# ) ("
    )


def test_noqa_inside_a_string_suppresses_nothing():
    source = (
        "from fastapi import BackgroundTasks\n"
        "def f():\n"
        "    BackgroundTasks().add_task(print, '# noqa')\n"
    )
    assert [d.code for d in check_source(source, "a.py")] == ["BGT001"]
    result = check_stdin(source.encode(), "a.py")
    assert [d.code for d in result.diagnostics] == ["BGT001"]


def test_noqa_on_the_last_line_of_a_continued_line_covers_it():
    source = (
        "from fastapi import BackgroundTasks\n"
        "def f():\n"
        "    BackgroundTasks().add_task(print, \\\n"
        "        1)  # noqa: BGT001\n"
    )
    assert check_source(source, "a.py") == []


def test_add_noqa_ignores_directive_text_in_strings_and_continuations(tmp_path):
    path = _write(
        tmp_path / "a.py",
        """\
        from fastapi import BackgroundTasks
        def f():
            BackgroundTasks().add_task(print, "# noqa: E501")
            BackgroundTasks().add_task(print, \\
                2)
        """,
    )
    added, result = api.add_noqa([path])
    assert result.errors == [] and added == 2
    text = path.read_text()
    assert 'add_task(print, "# noqa: E501")  # noqa: BGT001\n' in text
    assert "add_task(print, \\\n        2)  # noqa: BGT001\n" in text
    assert check_paths([path]).diagnostics == []
