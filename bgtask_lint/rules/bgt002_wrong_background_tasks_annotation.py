from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import libcst as cst

from bgtask_lint.model import Model
from bgtask_lint.names import DEPENDS
from bgtask_lint.rule import FIX_NEVER, Rule, RuleContext, Violation


class WrongBackgroundTasksAnnotation(Rule):
    """
    ## What it does
    Flags route and dependency parameters that were meant to receive FastAPI's
    injected `BackgroundTasks` but are declared in a way FastAPI does not inject:

    - annotated `BackgroundTask` (singular, Starlette's single task);
    - `Optional[BackgroundTasks]`, `Union[BackgroundTasks, None]`,
      `BackgroundTasks | None`;
    - `background_tasks: BackgroundTasks = Depends()`;
    - no annotation, with a `BackgroundTasks()` default;
    - annotated with a subclass of `BackgroundTasks`;

    and `from fastapi import BackgroundTask`, which does not exist.

    ## Why is this bad?
    FastAPI recognises the background-tasks parameter by its annotation being
    exactly `BackgroundTasks` (or `Annotated[BackgroundTasks, ...]`). Measured
    with FastAPI 0.165:

    - the singular `BackgroundTask`, the `Optional` / `| None` forms and
      `= Depends()` raise `FastAPIError` when the route is declared, so the
      application does not even import;
    - an unannotated `bt=BackgroundTasks()` becomes a query parameter: the tasks
      added to the default object never run, and `?bt=x` gives a 500;
    - a subclass annotation still gets a plain `BackgroundTasks` injected, so
      the subclass's own methods are missing at run time;
    - `from fastapi import BackgroundTask` is an `ImportError`.

    A `BackgroundTask` that is your own model, or another framework's type, is
    not flagged: the name is resolved through the module's imports first.

    ## Example
    ```python
    from starlette.background import BackgroundTask

    @app.post("/orders")
    async def create_order(order: Order, tasks: BackgroundTask):
        tasks.add_task(send_receipt, order.id)
    ```

    ## Use instead
    ```python
    from fastapi import BackgroundTasks

    @app.post("/orders")
    async def create_order(order: Order, tasks: BackgroundTasks):
        tasks.add_task(send_receipt, order.id)
    ```

    ## Fix safety
    Detection only in this version; the rewrite to `BackgroundTasks` is
    described in the project's design notes.

    ## References
    - [FastAPI: Background Tasks](https://fastapi.tiangolo.com/tutorial/background-tasks/)
    - [FastAPI: Dependencies with BackgroundTasks](https://fastapi.tiangolo.com/tutorial/background-tasks/#dependency-injection)
    """

    code = "BGT002"
    name = "wrong-background-tasks-annotation"
    summary = (
        "Parameter meant for injected `BackgroundTasks` is declared so FastAPI cannot inject it"
    )
    fix_availability = FIX_NEVER

    MUST_FLAG = (
        """
from fastapi import FastAPI
from starlette.background import BackgroundTask
app = FastAPI()
@app.get("/")
def view(tasks: BackgroundTask):
    return {}
""",
        """
from typing import Optional
from fastapi import BackgroundTasks, FastAPI
app = FastAPI()
@app.get("/")
def view(tasks: Optional[BackgroundTasks] = None):
    return {}
""",
        "from fastapi import BackgroundTask\n",
    )
    MUST_NOT_FLAG = (
        """
from typing import Annotated
from fastapi import BackgroundTasks, FastAPI
app = FastAPI()
@app.get("/")
def view(tasks: Annotated[BackgroundTasks, "x"]):
    return {}
""",
        """
from fastapi import FastAPI
from pydantic import BaseModel
app = FastAPI()
class BackgroundTask(BaseModel):
    name: str
@app.post("/jobs")
def create(job: BackgroundTask):
    return job
""",
        """
from starlette.background import BackgroundTask
def schedule(task: BackgroundTask) -> None:
    ...
""",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        model = context.model
        for alias in model.misspelled_imports:
            yield Violation(
                alias,
                "`fastapi` has no `BackgroundTask`: this import raises ImportError; "
                "import `BackgroundTasks` and inject it as a parameter",
            )
        for function in model.functions:
            if function.route_kind is None and not function.is_dependency:
                continue
            kind = "route" if function.route_kind else "dependency"
            where = f"{kind} `{function.name}`"
            for param in function.parameters():
                message = _problem(model, param, where)
                if message:
                    node = param.annotation.annotation if param.annotation else param
                    yield Violation(node, message)


def _problem(model: Model, param: cst.Param, where: str) -> Optional[str]:
    name = param.name.value
    info = model.annotation_info(param.annotation)
    if info.kind == "task":
        return (
            f"`{name}` is annotated `BackgroundTask` (a single task) in {where}: "
            "FastAPI injects only `BackgroundTasks` and rejects this at import time"
        )
    if info.kind == "tasks-subclass":
        return (
            f"`{name}` is annotated with a subclass of `BackgroundTasks` in {where}: "
            "FastAPI injects a plain `BackgroundTasks`, so the subclass's methods are "
            "missing"
        )
    if info.kind == "tasks" and info.optional:
        return (
            f"`{name}` is an optional `BackgroundTasks` in {where}: FastAPI rejects "
            "`Optional` / `| None` here at import time; annotate `BackgroundTasks`"
        )
    if info.kind == "tasks" and _is_depends_call(model, param.default):
        return (
            f"`{name}: BackgroundTasks = Depends()` in {where}: FastAPI rejects this "
            "at import time; drop the `Depends()` default"
        )
    if param.annotation is None and model.is_background_tasks_call(param.default):
        return (
            f"unannotated `{name}=BackgroundTasks()` in {where} is a query parameter, "
            "not injected: its tasks never run; annotate it `BackgroundTasks`"
        )
    return None


def _is_depends_call(model: Model, default: Optional[cst.BaseExpression]) -> bool:
    return isinstance(default, cst.Call) and model.qualified_name(default.func) in DEPENDS
