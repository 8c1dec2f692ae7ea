from __future__ import annotations

from collections.abc import Iterator

from bgtask_lint.rules.base import FIX_ALWAYS, Rule, RuleContext, Violation

# Only a file that names one of our codes can have an unused one (the text screen).
TRIGGERS = (r"BGT\d",)


class UnusedNoqa(Rule):
    """
    ## What it does
    Flags `# noqa: BGT...` codes that suppress nothing on their line.

    ## Why is this bad?
    A suppression outlives the finding it was written for: the code was fixed,
    or moved to another line. Left in place, it silently hides the next real
    finding on that line. Bare `# noqa` and other tools' codes are not judged
    (they may be for another linter), nor codes of rules that are not enabled.

    ## Example
    ```python
    tasks.add_task(send, email)  # noqa: BGT004
    ```

    ## Use instead
    ```python
    tasks.add_task(send, email)
    ```

    ## Fix safety
    Safe: the unused codes are removed, and the whole directive when none is
    left.

    ## References
    - [ruff: unused-noqa (RUF100)](https://docs.astral.sh/ruff/rules/unused-noqa/)
    """

    code = "BGT100"
    name = "unused-noqa"
    summary = "`# noqa: BGT...` that suppresses nothing"
    fix_availability = FIX_ALWAYS

    MUST_FLAG = ("x = 1  # noqa: BGT001\nBackgroundTasks = None\n",)
    MUST_NOT_FLAG = (
        "x = 1  # noqa\nBackgroundTasks = None\n",
        "x = 1  # noqa: E501\nBackgroundTasks = None\n",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        return iter(())
