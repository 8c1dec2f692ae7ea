from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.model import FunctionInfo, Model
from bgtask_lint.analysis.teardown import runs_in_teardown
from bgtask_lint.config.versions import Pin, tears_down_before_response
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
    down. On FastAPI before 0.106, and on 0.118 and later, that is after the
    response was sent and its background tasks ran: a task added there is
    never run, without any error.

    Measured with real FastAPI versions (`bench/fastapi_versions.py`, also run
    by the test suite):

    | FastAPI | Starlette | task added after `yield` | with `scope="function"` |
    |---|---|---|---|
    | 0.105.0 | 0.27.0 | never runs | (no `scope`) |
    | 0.106.0 | 0.27.0 | runs | (no `scope`) |
    | 0.115.0 | 0.38.6 | runs | (no `scope`) |
    | 0.117.1 | 0.48.0 | runs | (no `scope`) |
    | 0.118.0 | 0.48.0 | never runs | (no `scope`) |
    | 0.121.0 | 0.49.3 | never runs | runs |
    | 0.165.0 | 1.10.0 | never runs | runs |

    So the rule reports nothing when every version `target-fastapi` or the
    pin nearest the file allows is 0.106 to 0.117, where teardown ran before
    the response was sent (with `portability = true`, a warning), and
    nothing for a dependency this module uses only as
    `Depends(dep, scope="function")`, which is torn down when the endpoint
    returns. With the version unknown it reports: the loss is what the
    current releases do.

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

    ## Options
    - `target-fastapi`: the FastAPI version the project runs on (else the pin
      nearest the file: `pyproject.toml`, `requirements*.txt`, a lock file).
    - `portability`: report it as a warning where the versions make it safe.

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
        pin = context.options.fastapi
        # Teardown runs before the response: the task runs with the others.
        safe = tears_down_before_response(pin)
        if safe and not context.options.portability:
            return
        for function in model.functions:
            injected = set(model.injected_tasks(function))
            if not function.yields or not injected or _function_scoped_only(model, function):
                continue
            for site in function.calls:
                # After a yield that can have run: later in the code and not on
                # an exclusive branch (the `else` of the `if` that yields).
                if site.in_lambda or not _is_add_task_on(site.node, injected):
                    continue
                if site.statement is None or not runs_in_teardown(
                    model.scopes, function, site.statement
                ):
                    continue
                yield Violation(
                    site.node,
                    f"`add_task` after `yield` in dependency `{function.name}` runs "
                    "during teardown, after the response's tasks ran"
                    f"{_on(pin)}: this task never runs; add it before `yield`",
                    severity="warning" if safe else "error",
                )


def _function_scoped_only(model: Model, function: FunctionInfo) -> bool:
    """Every `Depends` of this module that names `function` says
    `scope="function"` (and there is one): it is torn down before the
    response, and a task it adds then runs."""
    uses = model.depends_on(function)
    return bool(uses) and all(model.is_function_scoped(call) for call in uses)


def _on(pin: Optional[Pin]) -> str:
    if pin is None:
        return " (FastAPI before 0.106 and from 0.118)"
    safe = tears_down_before_response(pin)
    if safe:
        return f" on FastAPI before 0.106 and from 0.118, not on {pin.named()}"
    if safe is None:
        return f" on FastAPI before 0.106 and from 0.118, which {pin.named()} allows"
    return f" on {pin.named()}"


def _is_add_task_on(node: cst.CSTNode, names: set[str]) -> bool:
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "add_task"
        and isinstance(node.func.value, cst.Name)
        and node.func.value.value in names
    )
