"""Positions from the top-level statements that hold the nodes (rows from
Python's parser) are the positions libcst's own provider gives."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from bgtask_lint.analysis import positions
from bgtask_lint.analysis.walk import walk

TRICKY = '''\
#!/usr/bin/env python
"""Docstring."""
# a comment before the imports

import os; import sys
x = 1;


@decorator(
    "arg",
)
# between decorator and def
@other
def f(a,
      b):
    return (a +
            b)


class C(
    Base,
):
    """Doc."""

    def method(self):  # trailing
        return [
            i for i in range(3)
        ]
if x:
    pass
elif os:
    pass
else:
    y = \\
        2
try:
    z = 3
except Exception:
    z = 4
(a) = (
    5
)
'''

FIXTURES = Path(__file__).parent / "fixtures"


def _samples() -> list[str]:
    texts = [TRICKY]
    texts.extend(p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("BGT00*.py"))[:6])
    return texts


@pytest.mark.parametrize("text", _samples(), ids=lambda t: t.splitlines()[0][:30])
def test_ranges_match_libcsts_provider(text: str) -> None:
    module = cst.parse_module(text)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    expected = wrapper.resolve(PositionProvider)
    nodes = [node for node, entering in walk(module) if entering and node is not module]
    # Every node at once, and one at a time (the last one costs the most).
    fast = positions.node_ranges(module, nodes, text)
    assert {n: fast[n] for n in nodes} == {n: expected[n] for n in nodes}
    for node in nodes[-3:]:
        assert positions.node_ranges(module, [node], text)[node] == expected[node]


def test_without_rows_from_pythons_parser_the_whole_module_is_generated() -> None:
    text = "x = 1\ny = f(\n  2)\n"
    module = cst.parse_module(text)
    call = module.body[1].body[0].value  # type: ignore[attr-defined]
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)[call]
    assert positions.node_ranges(module, [call]) == {call: expected}
    # A text Python's parser refuses (here: not this module's text at all).
    assert positions.node_ranges(module, [call], "def (:\n") == {call: expected}
    assert positions.node_ranges(module, [call], "only_one = 1\n") == {call: expected}
