"""The docs pages are the rules' own documentation, and every rule has one."""

from __future__ import annotations

import re

from conftest import ROOT

from bgtask_lint.rules import ALL_RULES
from bgtask_lint.rules.docs import expected_pages

SECTIONS = (
    "## What it does",
    "## Why is this bad?",
    "## Example",
    "## Use instead",
    "## Fix safety",
    "## References",
)


def test_pages_are_in_sync_with_the_rules():
    for name, text in expected_pages().items():
        page = ROOT / "docs" / "rules" / name
        assert page.exists(), f"{page} is missing: run python -m bgtask_lint.rules.docs"
        assert page.read_text(encoding="utf-8") == text, (
            f"{page} is stale: run python -m bgtask_lint.rules.docs docs/rules"
        )


def test_every_rule_page_has_ruffs_sections():
    for rule in ALL_RULES:
        doc = rule.documentation()
        positions = [doc.index(section) for section in SECTIONS]
        assert positions == sorted(positions), rule.code


def test_readme_commands_are_the_ones_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = re.search(r"```(?:bash|sh)\n(.*pytest.*)\n```", readme).group(1)
    assert test_command.strip() in ci
    assert "bgtask-lint check docs/examples" in readme


def test_pre_commit_hooks_file():
    text = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    for needle in (
        "id: bgtask-lint",
        "language: python",
        "types_or: [python, pyi]",
        "require_serial: true",
        "entry: bgtask-lint check",
    ):
        assert needle in text


def test_light_code_list_matches_the_registry():
    from bgtask_lint.rules import RULE_CODES, RULE_NAMES

    assert tuple(rule.code for rule in ALL_RULES) == RULE_CODES
    # A rule's module is named after it: bgtNNN_<name>.py.
    assert {rule.code: rule.name for rule in ALL_RULES} == RULE_NAMES


def test_every_python_code_block_of_the_docs_compiles():
    """What a reader copies must at least be Python (fragments with `...`
    are fine; a signature Python rejects is not)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    blocks = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for index, block in enumerate(re.findall(r"```python\n(.*?)```", text, re.S)):
            compile(block, f"{page.name} block {index + 1}", "exec")
            blocks += 1
    assert blocks > 2 * len(ALL_RULES)  # every rule page has an example and a fix
