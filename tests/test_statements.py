"""A module put together from its statements' pieces (the language server's
incremental parse) is the module a whole parse gives: the same tree, node for
node, the same text, the same findings and the same fixes, on every fixture,
every test package and the project's own code; and an edit reuses the
statements it did not touch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

from bgtask_lint.analysis import parsing, statements
from bgtask_lint.api import check_source
from bgtask_lint.config.settings import ALL_CODES, Settings
from bgtask_lint.engine.fix import fix_text

SOURCES = sorted(
    {
        *FIXTURES.rglob("*.py"),
        *(ROOT / "tests").glob("*.py"),
        *(ROOT / "bgtask_lint").rglob("*.py"),
        *(ROOT / "bench").glob("*.py"),
    }
)
FIXTURE_FILES = sorted(FIXTURES.glob("*.py"))


@pytest.fixture
def reusing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(statements, "MIN_CUT_SIZE", 0)  # cut even the small fixtures
    statements.reuse_statements(True)
    yield
    statements.reuse_statements(False)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.mark.usefixtures("reusing")
def test_the_pieces_make_the_whole_module():
    pieced = 0
    for path in SOURCES:
        text = _text(path)
        try:
            whole = parsing.parse_module(text)
        except Exception:
            assert statements.parse_in_pieces(text) is None, path
            continue
        module = statements.parse_in_pieces(text)
        if module is None:
            continue
        pieced += 1
        assert module.code == text, path
        assert module.deep_equals(whole), path
        assert statements.module_code(module) == text, path
    assert pieced > 0.8 * len(SOURCES)  # the rest: one statement, form feeds...


@pytest.mark.usefixtures("reusing")
@pytest.mark.parametrize(
    "text",
    [
        "def f():\n    x = 1\n    # the block's\n\n# the next one's\n\ny = 2\n",
        "def f():\n    x = 1\n    \ny = 2\n",  # a line of spaces: the block's
        "#!/usr/bin/env python\n# top\nimport a\n\n\n# lead\ndef g(): pass\n",
        "import a; import b\nx = 1\n",
        "if x:\n  y = 1\n\ndef f():\n    return 2\n",  # two indentations
        "x = 1\r\ny = 2\n",  # two line breaks
        "class A:\n    pass\n# end, no newline",
        "@decorator\n# between\n@other\ndef f():\n    pass\nx = (\n    1,\n)\n",
        "match x:\n    case 1:\n        pass\ny = 1\n",
    ],
)
def test_the_places_where_a_whole_parse_gives_lines_away(text: str):
    whole = parsing.parse_module(text)
    module = statements.parse_in_pieces(text)
    if module is not None:
        assert module.code == text
        assert module.deep_equals(whole)
        assert statements.module_code(module) == text


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_findings_and_fixes_are_the_same_from_pieces(path: Path, monkeypatch: pytest.MonkeyPatch):
    text = _text(path)
    settings = Settings(root=FIXTURES)
    codes = frozenset(ALL_CODES)
    before = check_source(text, path.name, settings)
    fixed_before = fix_text(text, path.name, codes, unsafe=True).text
    monkeypatch.setattr(statements, "MIN_CUT_SIZE", 0)
    statements.reuse_statements(True)
    try:
        for _ in range(2):  # parsed, then from the cache
            assert check_source(text, path.name, settings) == before
            assert fix_text(text, path.name, codes, unsafe=True).text == fixed_before
    finally:
        statements.reuse_statements(False)


@pytest.mark.usefixtures("reusing")
def test_an_edit_reuses_the_statements_it_did_not_touch():
    text = _text(FIXTURES / "BGT003.py")
    first = statements.parse_in_pieces(text)
    assert first is not None
    edited = text.replace("time.sleep(", "time.sleep(0 + ", 1)
    second = statements.parse_in_pieces(edited)
    assert second is not None and second.code == edited
    same = [a is b for a, b in zip(first.body, second.body)]
    assert same.count(False) == 1, "only the edited statement is parsed again"


def test_reuse_is_off_unless_switched_on():
    assert not statements.is_reusing()
    text = "def f():\n    pass\n" * 200
    assert statements.parse_module(text).deep_equals(parsing.parse_module(text))
    assert not statements._pieces  # nothing was cut or cached
