from __future__ import annotations

import pytest

from bgtask_lint.api import check_source
from bgtask_lint.noqa import is_suppressed

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
    codes = [d.code for d in check_source(BUG.format(comment), "a.py")]
    assert (codes == []) is suppressed


def test_noqa_on_another_line_does_not_suppress():
    source = "# noqa: BGT001\n" + BUG.format("")
    assert [d.code for d in check_source(source, "a.py")] == ["BGT001"]


def test_is_suppressed_ignores_similar_words():
    assert not is_suppressed("x = 'noqa'", "BGT001")
