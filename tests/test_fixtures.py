"""Every fixture reports exactly what its `# expect:` comments say, and every
rule's own MUST_FLAG / MUST_NOT_FLAG examples hold."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, expectations, fixture_code, selecting

from bgtask_lint.api import check_source
from bgtask_lint.rules import ALL_RULES

FIXTURE_FILES = sorted(FIXTURES.glob("*.py"))


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture_reports_exactly_its_expectations(path):
    source = path.read_text(encoding="utf-8")
    expected = expectations(source)
    reported = {
        (d.location.row, d.location.column, d.code)
        for d in check_source(source, str(path), selecting(fixture_code(path), source=source)[0])
    }
    assert_matches(expected, reported)


def assert_matches(expected, reported):
    """An expectation without a column (0) matches any column on its row."""

    def matches(wanted, got):
        return wanted[0] == got[0] and wanted[2] == got[2] and wanted[1] in (0, got[1])

    missing = [w for w in expected if not any(matches(w, g) for g in reported)]
    unexpected = [g for g in reported if not any(matches(w, g) for w in expected)]
    assert not missing, f"not reported (row, column, code): {sorted(missing)}"
    assert not unexpected, f"reported but not expected: {sorted(unexpected)}"


def test_every_rule_has_a_fixture():
    names = {p.name for p in FIXTURE_FILES}
    for rule in ALL_RULES:
        assert f"{rule.code}.py" in names


@pytest.mark.parametrize(
    "rule, example",
    [(rule, example) for rule in ALL_RULES for example in rule.MUST_FLAG],
    ids=lambda value: getattr(value, "code", ""),
)
def test_rule_examples_flag(rule, example):
    codes = [d.code for d in check_source(example, "example.py", selecting(rule.code)[0])]
    assert rule.code in codes


@pytest.mark.parametrize(
    "rule, example",
    [(rule, example) for rule in ALL_RULES for example in rule.MUST_NOT_FLAG],
    ids=lambda value: getattr(value, "code", ""),
)
def test_rule_examples_do_not_flag(rule, example):
    codes = [d.code for d in check_source(example, "example.py", selecting(rule.code)[0])]
    assert rule.code not in codes


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.code)
def test_every_rule_declares_triggers_its_examples_pass(rule):
    """The text screen is built from each rule's TRIGGERS: a rule whose
    examples its own triggers reject could never fire from the command line."""
    from bgtask_lint.rules import screen, triggers

    assert triggers(rule.code)
    for example in rule.MUST_FLAG:
        assert screen(frozenset({rule.code}))(example), example


def test_a_rule_missing_its_trigger_word_fails_its_fixture(monkeypatch):
    """Fixtures go through the same screen as the command line."""
    from bgtask_lint import rules

    source = (FIXTURES / "BGT006.py").read_text(encoding="utf-8")
    assert any(d.code == "BGT006" for d in check_source(source, "BGT006.py"))
    rules.screen.cache_clear()
    monkeypatch.setattr(rules, "triggers", lambda code: ("a trigger no file has",))
    try:
        assert check_source(source, "BGT006.py") == []
    finally:
        rules.screen.cache_clear()


@pytest.mark.parametrize(
    "text, screened_in",
    [
        ("response.background = task\n", True),
        ("myself.background = task\n", True),
        ("response.background == task\n", False),
        # Only a class's own attribute: no overwrite can be found, so the
        # file is not parsed (a 5,000-line module of types was, for this line).
        ("class R:\n    def __init__(self):\n        self.background = None\n", False),
    ],
)
def test_bgt006_screen(text, screened_in):
    from bgtask_lint.rules import screen

    assert screen(frozenset({"BGT006"}))(text) is screened_in


@pytest.mark.parametrize(
    "text, screened_in",
    [
        ("def f(tasks: BackgroundTasks): ...\n", True),
        # Named only in a comment: a 705 KB module of Skyvern, and FastAPI's
        # routing.py, were parsed for one each.
        ("x = 1\n            # (BackgroundTaskExecutor), the run is made\n", False),
        ("# tasks.add_task(send, 1)\n", False),
        ("#response.background = task\n", False),
        # A `#` after a quote may be in a string: the line is taken for code.
        ('url = "/#"; tasks = BackgroundTasks()\n', True),
        ('x = "a"  # BackgroundTasks\n', True),
    ],
)
def test_triggers_count_in_code_only(text, screened_in):
    from bgtask_lint.rules import DEFAULT_CODES, screen

    assert screen(frozenset(DEFAULT_CODES))(text) is screened_in


def test_an_unused_noqa_is_found_in_comments():
    """BGT100's trigger is a code in a `noqa` comment: it counts there."""
    from bgtask_lint.rules import screen

    assert screen(frozenset({"BGT100"}))("x = 1  # noqa: BGT001\n")
    assert not screen(frozenset({"BGT001"}))("x = 1  # noqa: BGT001\n")
