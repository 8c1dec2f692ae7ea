"""analysis/parsing.py: libcst's parser is trusted while it parses (its nodes
are not validated then), and only then."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from bgtask_lint.analysis.parsing import parse_module

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("BGT0*.py")), ids=lambda p: p.name)
def test_the_tree_is_libcsts_own(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    module = parse_module(text)
    assert module.deep_equals(cst.parse_module(text))
    assert module.code == text


def test_nodes_are_validated_after_the_parse_not_during_it(monkeypatch) -> None:
    validated: list[str] = []
    original = cst.Name._validate

    def counting(self: cst.Name) -> None:
        validated.append(self.value)
        original(self)

    monkeypatch.setattr(cst.Name, "_validate", counting)
    parse_module("x = y\n")
    assert validated == []
    cst.parse_module("x = y\n")  # libcst's own parse validates
    assert validated == ["x", "y"]
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")  # a node built afterwards (by a fix) is checked again
