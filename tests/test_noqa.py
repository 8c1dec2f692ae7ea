from __future__ import annotations

import pytest
from conftest import FIXTURES, selecting

from bgtask_lint.api import check_source
from bgtask_lint.text.noqa import comment_map

WITH_BGT100, _ = selecting("BGT100")

BUG = "from fastapi import BackgroundTasks\ndef f():\n    BackgroundTasks().add_task(print){}\n"


@pytest.mark.parametrize(
    "comment, suppressed",
    [
        ("", False),
        ("  # noqa", True),
        ("  # NOQA", True),
        ("  # noqa: BGT001", True),
        ("  # noqa:BGT003,BGT001", True),
        ("  # noqa: BGT003 BGT001", True),
        ("  # noqa: BGT003", False),
        ("  # noqa: E501  # something else", False),
        ("  # type: ignore  # noqa: BGT001", True),
    ],
)
def test_noqa_on_the_reported_line(comment, suppressed):
    # BGT100 (a code that suppresses nothing) is tested on its own below.
    codes = [
        d.code for d in check_source(BUG.format(comment), "a.py", WITH_BGT100) if d.code != "BGT100"
    ]
    assert (codes == []) is suppressed


def test_noqa_on_another_line_does_not_suppress():
    source = "# noqa: BGT001\n" + BUG.format("")
    assert [d.code for d in check_source(source, "a.py", WITH_BGT100)] == ["BGT100", "BGT001"]


def test_is_suppressed_ignores_similar_words():
    assert not comment_map("x = 'noqa'\n").is_suppressed(1, "BGT001")
    assert not comment_map("x = '# noqa'\n").is_suppressed(1, "BGT001")
    assert comment_map("x = '# noqa: BGT002'  # noqa: BGT001\n").is_suppressed(1, "BGT001")


UNUSED = (
    "from fastapi import BackgroundTasks\n"
    "def f(bt: BackgroundTasks):\n"
    "    bt.add_task(print)  # noqa: BGT004, E501\n"
    "    BackgroundTasks().add_task(print)  # noqa: BGT001\n"
    "x = 1  # noqa\n"
)


def test_unused_noqa_codes_are_reported_with_a_fix():
    [unused] = [d for d in check_source(UNUSED, "a.py", WITH_BGT100) if d.code == "BGT100"]
    assert unused.location.row == 3 and unused.location.column == 25
    assert "`BGT004`" in unused.message
    assert _fixed_line(UNUSED, unused) == "    bt.add_task(print)  # noqa: E501"


def test_unused_noqa_in_a_file_that_cannot_report_anything():
    [unused] = check_source("x = 1  # noqa: BGT003\n", "a.py", WITH_BGT100)
    assert unused.code == "BGT100"
    assert _fixed_line("x = 1  # noqa: BGT003\n", unused) == "x = 1"


def _fixed_line(source, diagnostic):
    """The reported line once the diagnostic's fix is applied."""
    from bgtask_lint.engine.fix import apply_fixes

    fixed, _ = apply_fixes(source, [diagnostic])
    return fixed.splitlines()[diagnostic.location.row - 1]


def test_without_and_with_codes():
    from bgtask_lint.text.noqa import with_codes, without_codes

    def comment(line):
        return comment_map(line + "\n").by_row.get(1)

    assert without_codes("# noqa: BGT001, BGT002", ["BGT001"]) == "# noqa: BGT002"
    assert without_codes("# noqa: BGT001", ["BGT001"]) == ""
    assert without_codes("# noqa: BGT003 - legacy", ["BGT003"]) == "# - legacy"
    assert with_codes("x", ["BGT002", "BGT001"], None) == "x  # noqa: BGT001, BGT002"
    line = "x  # noqa: E501"
    assert with_codes(line, ["BGT001"], comment(line)) == "x  # noqa: BGT001, E501"
    assert with_codes("x  # noqa", ["BGT001"], comment("x  # noqa")) == "x  # noqa"
    line = "x = '# noqa: E501'"
    assert with_codes(line, ["BGT001"], comment(line)) == "x = '# noqa: E501'  # noqa: BGT001"


def test_add_noqa_silences_every_finding(tmp_path):
    import shutil

    from conftest import FIXTURES, run_cli

    for name in ("BGT001.py", "BGT003.py", "BGT005.py"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    before = run_cli("check", "--output-format", "concise", ".", cwd=tmp_path)
    assert before.returncode == 1
    added = run_cli("check", "--add-noqa", ".", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    count = int(added.stderr.split()[1])
    assert count == before.stdout.count("\n") - 2  # minus the two summary lines
    after = run_cli("check", ".", cwd=tmp_path)
    assert after.returncode == 0, after.stdout
    assert "# noqa: BGT001" in (tmp_path / "BGT001.py").read_text()


def test_add_noqa_skips_a_line_ending_inside_a_string(tmp_path):
    from bgtask_lint.engine.noqa_writer import add_directives

    path = tmp_path / "a.py"
    path.write_text('x = """a\nb"""\ny = 1\n')
    assert add_directives(path, {1: {"BGT001"}, 3: {"BGT001"}}) == (1, None)
    assert path.read_text() == 'x = """a\nb"""\ny = 1  # noqa: BGT001\n'


TWO_FINDINGS = (
    "import time\n"
    "from fastapi import BackgroundTasks\n"
    "{}\n"
    "async def task():\n"
    "    time.sleep(1)\n"
    "def route(bt: BackgroundTasks):\n"
    "    BackgroundTasks().add_task(print)\n"
    "    bt.add_task(task)\n"
)


@pytest.mark.parametrize(
    "directive, left",
    [
        ("# bgtask-lint: noqa", []),
        ("# bgtask-lint: noqa: BGT001", ["BGT003"]),
        ("# BGTASK-LINT: NOQA: BGT001, BGT003", []),
        ("# ruff: noqa: BGT003", ["BGT001"]),
        ("# ruff: noqa: E501, BGT001", ["BGT003"]),
        ("# ruff: noqa", ["BGT001", "BGT003"]),  # ruff's own rules: left to ruff
        ("# flake8: noqa", []),  # every plugin's, ours too (ruff reads it so)
        ("# flake8: noqa: BGT003", ["BGT001"]),
        ("x = '# bgtask-lint: noqa'", ["BGT001", "BGT003"]),  # a string, not a comment
    ],
)
def test_file_level_directives(directive, left):
    found = check_source(TWO_FINDINGS.format(directive), "a.py")
    assert sorted(d.code for d in found) == left


TRICKY = (
    "# a header comment\n"
    "import os  # noqa: F401\n"
    "\n"
    "# a comment above the function, # noqa in it\n"
    "@decorator  # noqa: BGT002\n"
    "def f(tasks):\n"
    '    text = """\n'
    "    # noqa: BGT001 inside a string\n"
    '    """  # noqa: BGT003\n'
    "    value = 1 + \\\n"
    "        2  # noqa: BGT004\n"
    "    tasks.add_task(print, 'a', 'b' \\\n"
    "        'c')  # noqa\n"
    "\n"
    "\n"
    "x = f'''\n"
    "{1}'''  # noqa: BGT005\n"
    "class C:\n"
    "    pass  # trailing\n"
    "    # a comment after the body\n"
    "y = 2\r\n"
    "z = 3  # noqa: BGT006\r\n"
)


@pytest.mark.parametrize(
    "text",
    [TRICKY, *(path.read_text() for path in sorted(FIXTURES.glob("BGT*.py")))],
    ids=lambda text: text.splitlines()[0][:30],
)
def test_the_comments_of_a_statement_read_alone_are_the_files(text):
    """engine/check.py reads a finding's directive from its statement alone
    (comment_map_within): on every row of every statement, that says what
    the whole file's comment_map says."""
    import libcst as cst

    from bgtask_lint.analysis.positions import statement_spans
    from bgtask_lint.text.noqa import comment_map_within

    module = cst.parse_module(text)
    whole = comment_map(text)
    checked = 0
    for row in range(1, text.count("\n") + 2):
        spans = statement_spans(module, text, [row])
        if spans is None:
            continue  # the module's header comments: the whole file is read then
        (span,) = spans
        assert span[0] <= row <= span[1]
        checked += 1
        alone = comment_map_within(text, [span])
        assert alone.noqa_row(row) == whole.noqa_row(row), row
        target = whole.noqa_row(row)
        assert alone.directives(target) == whole.directives(target), row
        assert alone.by_row.get(row) == whole.by_row.get(row), row
    assert checked >= text.count("\n") // 2
