from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from bgtask_lint.rules.base import FIX_NEVER, Rule, RuleContext, Violation

# A file without these words cannot have a finding of this rule (the text screen).
TRIGGERS = ("BackgroundTasks",)


class AddTaskAfterYield(Rule):
    """
    ## What it does
    Flags `add_task` on an injected `BackgroundTasks` after the `yield` of a
    yield-dependency (the part that runs during teardown).

    ## Why is this bad?
    The code after `yield` in a dependency runs when FastAPI tears the request
    down, after the response has been built and its background tasks handed
    over. A task added there is never run (measured on FastAPI 0.105 and on
    0.118 and later), without any error.

    ## Example
    ```python
    def get_db(background_tasks: BackgroundTasks):
        db = SessionLocal()
        try:
            yield db
        finally:
            background_tasks.add_task(log_session_closed, db.info)
            db.close()
    ```

    ## Use instead
    ```python
    def get_db(background_tasks: BackgroundTasks):
        db = SessionLocal()
        background_tasks.add_task(log_session_closed, db.info)
        try:
            yield db
        finally:
            db.close()
    ```

    ## Fix safety
    No fix: moving the call before `yield` changes what it sees.

    ## References
    - [FastAPI: Dependencies with yield](https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-with-yield/)
    """

    code = "BGT008"
    name = "add-task-after-yield"
    summary = "`add_task` after the `yield` of a dependency never runs"
    fix_availability = FIX_NEVER

    MUST_FLAG = (
        """
from fastapi import BackgroundTasks
def dep(tasks: BackgroundTasks):
    yield 1
    tasks.add_task(print, 2)
""",
    )
    MUST_NOT_FLAG = (
        """
from fastapi import BackgroundTasks
def dep(tasks: BackgroundTasks):
    tasks.add_task(print, 2)
    yield 1
""",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        model = context.model
        for function in model.functions:
            injected = set(model.injected_tasks(function))
            if not function.yields or not injected:
                continue
            yields = function.yield_statements
            for site in function.calls:
                # After a yield that can have run: later in the code and not on
                # an exclusive branch (the `else` of the `if` that yields).
                if site.in_lambda or not _is_add_task_on(site.node, injected):
                    continue
                if site.statement is None or not any(
                    model.scopes.can_run_after(y, site.statement) for y in yields
                ):
                    continue
                yield Violation(
                    site.node,
                    f"`add_task` after `yield` in dependency `{function.name}` runs "
                    "during teardown, after the response's tasks were handed over: "
                    "this task never runs; add it before `yield`",
                )


def _is_add_task_on(node: cst.CSTNode, names: set[str]) -> bool:
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "add_task"
        and isinstance(node.func.value, cst.Name)
        and node.func.value.value in names
    )
