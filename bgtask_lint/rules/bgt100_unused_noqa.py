from __future__ import annotations

from collections.abc import Iterator

from bgtask_lint.diagnostic import SAFE, Diagnostic, Edit, Fix, Location
from bgtask_lint.rules.base import FIX_ALWAYS, Rule, RuleContext, SuppressionContext, Violation
from bgtask_lint.text.noqa import directives, unused_codes, without_codes

# Only a file that names one of our codes can have an unused one (the text screen).
# As ruff's RUF100: it runs when selected (`select`, `extend-select`, `ALL`).
ENABLED_BY_DEFAULT = False

TRIGGERS = (r"BGT\d",)
# Found where `noqa` codes are: in comments.
TRIGGERS_IN_COMMENTS = True


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

    ## Options
    Off by default, as ruff's `RUF100`: select it (`extend-select =
    ["BGT100"]`, `--extend-select BGT100`, or `select = ["ALL"]`).

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

    judges_suppressions = True

    def check(self, context: RuleContext) -> Iterator[Violation]:
        return iter(())  # nothing to say before suppression: see below

    def check_suppressions(self, context: SuppressionContext) -> Iterator[Diagnostic]:
        """The `# noqa: BGT...` codes that suppressed nothing on their line. The
        fix edits the comment only; a comment left empty goes with the spaces
        before it."""
        comments = context.comments
        for row in comments.rows_with_directives():
            comment = comments.by_row[row]
            unused = unused_codes(comment.text, context.suppressed.get(row, ()), context.codes)
            if not unused:
                continue
            first = next(d for d in directives(comment.text) if set(d.codes or ()) & set(unused))
            line = context.lines[row - 1]
            comment_end = comment.column + len(comment.text)
            kept = without_codes(comment.text, unused)
            edit_start = comment.column if kept else len(line[: comment.column].rstrip())
            edit = Edit(kept, Location(row, edit_start + 1), Location(row, comment_end + 1))
            names = ", ".join(f"`{code}`" for code in unused)
            yield Diagnostic(
                code=self.code,
                name=self.name,
                message=f"unused `noqa` directive: {names} suppresses nothing here",
                filename=context.filename,
                location=Location(row, comment.column + first.start + 1),
                end_location=Location(row, comment_end + 1),
                fix=Fix(SAFE, "Remove the unused codes", (edit,)),
                noqa_row=row,
                source_lines=tuple(context.lines),
            )
