from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.model import HTTP, CallSite, FunctionInfo, Model
from bgtask_lint.analysis.syntax import assigned_name
from bgtask_lint.diagnostic import SAFE, UNSAFE
from bgtask_lint.rules.base import FIX_SOMETIMES, FixPlan, Rule, RuleContext, Violation
from bgtask_lint.rules.rewrite import (
    Edits,
    inject_background_tasks,
    lone_statement,
    remove_item,
    replace_local_with_injected,
    statement_with_call,
)

# A file without these words cannot have a finding of this rule (the text screen).
TRIGGERS = ("BackgroundTask",)


class InjectedTasksDropped(Rule):
    """
    ## What it does
    Flags a route that adds tasks to its injected `BackgroundTasks` (directly, or
    through a dependency) and also builds a response with a `background=` of its
    own, or sets `.background` on it.

    ## Why is this bad?
    FastAPI attaches the injected `BackgroundTasks` to the response only when
    the response has no background yet (`fastapi/routing.py`; upstream issues
    #11215 and #15111). A response built with `background=X` keeps X, and every
    task added to the injected object during the request is silently dropped.
    Only X runs.

    Not flagged: `background=None`, `background=<the injected object>`, and
    routes that never use the injected object.

    ## Example
    ```python
    @app.post("/orders")
    async def create(order: Order, background_tasks: BackgroundTasks):
        background_tasks.add_task(send_receipt, order.id)   # dropped
        return JSONResponse({"id": order.id}, background=BackgroundTask(audit, order.id))
    ```

    ## Use instead
    ```python
    @app.post("/orders")
    async def create(order: Order, background_tasks: BackgroundTasks):
        background_tasks.add_task(send_receipt, order.id)
        background_tasks.add_task(audit, order.id)
        return JSONResponse({"id": order.id})
    ```

    ## Fix safety
    Safe for an inline `background=BackgroundTask(f, ...)`: the task moves to
    `injected.add_task(f, ...)` just before the statement that builds the
    response, and the argument is dropped; likewise `resp.background =
    BackgroundTask(f, ...)` becomes `injected.add_task(f, ...)`. Both tasks then
    run, in the order they were added.

    For `background=tasks` with a local `tasks = BackgroundTasks()`, the local
    is merged into the injected object: safe when it is only used with
    `.add_task`, unsafe otherwise (its other uses now act on the injected
    object).

    ## References
    - [FastAPI: Background Tasks](https://fastapi.tiangolo.com/tutorial/background-tasks/)
    - [fastapi/fastapi#11215](https://github.com/fastapi/fastapi/discussions/11215)
    """

    code = "BGT005"
    name = "injected-tasks-dropped"
    summary = "Response `background=` silently drops the route's injected tasks"
    fix_availability = FIX_SOMETIMES

    MUST_FLAG = (
        """
from fastapi import BackgroundTasks, FastAPI
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
app = FastAPI()
@app.post("/")
def create(bt: BackgroundTasks):
    bt.add_task(print, 1)
    return JSONResponse({}, background=BackgroundTask(print, 2))
""",
    )
    MUST_NOT_FLAG = (
        """
from fastapi import BackgroundTasks, FastAPI
from fastapi.responses import JSONResponse
app = FastAPI()
@app.post("/")
def create(bt: BackgroundTasks):
    bt.add_task(print, 1)
    return JSONResponse({}, background=bt)
""",
        """
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
app = FastAPI()
@app.post("/")
def create():
    return JSONResponse({}, background=BackgroundTask(print, 2))
""",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        model = context.model
        for route in model.functions:
            if route.route_kind != HTTP or not model.uses_injected_tasks(route):
                continue
            injected = set(model.injected_tasks(route))
            where = f"`{sorted(injected)[0]}`" if injected else "a dependency's"
            message = (
                f"this background replaces the injected tasks ({where}): FastAPI runs "
                "injected tasks only when the response has no background, so every task "
                "added to them in this request is dropped; add this one to the injected "
                "`BackgroundTasks` instead"
            )
            for site in route.calls:
                arg = _background_argument(site.node)
                if (
                    arg is not None
                    and _replaces(arg.value, injected)
                    and _tasks_can_be_pending(model, route, injected, site.statement)
                ):
                    yield Violation(arg, message, _argument_fix(model, route, site, arg))
            responses = model.response_parameters(route)
            for assignment in model.background_assignments:
                target = assignment.target.value
                if assignment.function is not route or not _replaces(
                    assignment.node.value, injected
                ):
                    continue
                if not _tasks_can_be_pending(model, route, injected, assignment.statement):
                    continue
                if (
                    isinstance(target, cst.Name)
                    and target.value in responses
                    and not model.returns_name(route, target.value)
                ):
                    continue  # the injected Response, not sent: BGT006 reports it
                fix = _assignment_fix(model, route, assignment.node, assignment.statement)
                yield Violation(assignment.node, message, fix)


def _tasks_can_be_pending(
    model: Model, route: FunctionInfo, injected: set[str], statement: Optional[cst.CSTNode]
) -> bool:
    """Whether injected tasks can have been added when `statement` runs: a
    dependency adds some, the injected object is passed on, or one of the
    route's own `add_task` calls can run before it (not only on an exclusive
    path, such as the branch that returns a plain response)."""
    if statement is None:
        return True
    for param in route.parameters():
        dependency = model.dependency_of(param)
        if dependency is not None and dependency.model.uses_injected_tasks(dependency.info):
            return True
    for name in sorted(injected):
        for use in model.local_uses(route.node, name):
            site = model.site_of(use.grandparent)
            is_add_task = (
                isinstance(use.parent, cst.Attribute)
                and use.parent.attr.value == "add_task"
                and site is not None
                and site.node.func is use.parent
            )
            if not is_add_task or site is None or site.statement is None:
                if use.parent is not None and _is_background_keyword_of(use.parent):
                    continue  # `background=bt` itself
                return True  # passed on, stored...: tasks may be added anywhere
            if model.scopes.can_run_after(site.statement, statement) or (
                site.statement is statement
            ):
                return True
    return False


def _is_background_keyword_of(node: cst.CSTNode) -> bool:
    return (
        isinstance(node, cst.Arg)
        and node.keyword is not None
        and (node.keyword.value == "background")
    )


def _background_argument(call: cst.Call) -> Optional[cst.Arg]:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "background":
            return arg
    return None


def _replaces(value: cst.BaseExpression, injected: set[str]) -> bool:
    """Not `None` and not the injected object itself."""
    return not (isinstance(value, cst.Name) and (value.value == "None" or value.value in injected))


def _argument_fix(
    model: Model, route: FunctionInfo, site: CallSite, arg: cst.Arg
) -> Optional[FixPlan]:
    statement = lone_statement(site.statement)
    if site.in_lambda or statement is None:
        return None
    task = model.inline_background_task(arg.value)
    if task is not None:

        def move_task(module: cst.Module) -> Edits:
            edits = Edits()
            name = inject_background_tasks(model, route, edits)
            edits.before[statement].append(
                statement_with_call(task, name, model=model, anchor=statement)
            )
            edits.replace[site.node] = site.node.with_changes(args=remove_item(site.node.args, arg))
            return edits

        message = "Add the task to the injected `BackgroundTasks` and drop `background=`"
        return FixPlan(SAFE, message, move_task)
    local = arg.value.value if isinstance(arg.value, cst.Name) else None
    local_site = _local_background_tasks(model, route, local) if local else None
    if local is None or local_site is None:
        return None
    only_add_task = _only_add_task_uses(model, route, local, arg)

    def merge(module: cst.Module) -> Edits:
        edits = Edits()
        replace_local_with_injected(
            model, route, local_site.statement, local, edits, rename_all=True
        )
        edits.replace[site.node] = site.node.with_changes(args=remove_item(site.node.args, arg))
        return edits

    message = f"Merge `{local}` into the injected `BackgroundTasks` and drop `background=`"
    return FixPlan(SAFE if only_add_task else UNSAFE, message, merge)


def _local_background_tasks(model: Model, route: FunctionInfo, local: str) -> Optional[CallSite]:
    """The `local = BackgroundTasks()` in `route`, when it is the only binding."""
    found = [
        site
        for site in route.calls
        if model.is_background_tasks_call(site.node)
        and not site.node.args
        and assigned_name(site.parent) == local
    ]
    return found[0] if len(found) == 1 else None


def _only_add_task_uses(model: Model, route: FunctionInfo, local: str, background: cst.Arg) -> bool:
    """Every use of the route's local `local` (the model's: not a nested
    function's own parameter of that name) is `local.add_task(...)`, or the
    `background=` argument itself."""
    for use in model.local_uses(route.node, local):
        if use.parent is background:
            continue
        parent, grandparent = use.parent, use.grandparent
        is_add_task = (
            isinstance(parent, cst.Attribute)
            and parent.attr.value == "add_task"
            and isinstance(grandparent, cst.Call)
        )
        if not is_add_task:
            return False
    return True


def _assignment_fix(
    model: Model,
    route: FunctionInfo,
    assignment: cst.Assign,
    statement: Optional[cst.BaseStatement],
) -> Optional[FixPlan]:
    task = model.inline_background_task(assignment.value)
    line = lone_statement(statement)
    if task is None or line is None:
        return None

    def rewrite(module: cst.Module) -> Edits:
        edits = Edits()
        name = inject_background_tasks(model, route, edits)
        edits.replace[line] = statement_with_call(
            task, name, line.leading_lines, model=model, anchor=line
        )
        return edits

    return FixPlan(SAFE, "Add the task to the injected `BackgroundTasks`", rewrite)
