from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.model import HTTP, FunctionInfo, Model
from bgtask_lint.analysis.project import handles_http_exceptions
from bgtask_lint.analysis.syntax import call_argument
from bgtask_lint.analysis.teardown import runs_in_teardown
from bgtask_lint.analysis.walk import walk
from bgtask_lint.diagnostic import UNSAFE
from bgtask_lint.rules.base import FIX_SOMETIMES, FixPlan, Rule, RuleContext, Violation
from bgtask_lint.rules.rewrite import (
    Edits,
    class_reference,
    fit_call,
    line_column,
    trailing_width,
)

# A file without these words cannot have a finding of this rule (the text screen).
TRIGGERS = ("BackgroundTasks",)

HTTP_EXCEPTIONS = frozenset(
    {
        "fastapi.HTTPException",
        "fastapi.exceptions.HTTPException",
        "starlette.exceptions.HTTPException",
    }
)
JSON_RESPONSES = ("fastapi.responses.JSONResponse", "starlette.responses.JSONResponse")
# Nodes whose `return` / `raise` belong to another function.
_OWN_SCOPE = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


class TasksDroppedByRaise(Rule):
    """
    ## What it does
    Flags a `raise` that follows an `add_task` on the injected
    `BackgroundTasks` on every path of the same block: the route (or
    dependency) queues a task, then always ends the request with an exception.

    ## Why is this bad?
    FastAPI runs the injected background tasks only with the response the
    route returns. When the route raises — `HTTPException`, a custom
    exception, anything — the error response is built by an exception handler
    and the injected tasks are dropped without a trace. Returning an error
    response instead (`return JSONResponse(..., status_code=404)`) runs them.

    A `raise` on only some paths after the `add_task` is not reported: it is
    often the intended "only on success". Nor is an `add_task` in a
    dependency's teardown (after its `yield`): that task is lost whatever
    follows, and BGT008 reports it.

    ## Example
    ```python
    @app.post("/orders/{order_id}/cancel")
    def cancel(order_id: int, background_tasks: BackgroundTasks):
        background_tasks.add_task(audit, order_id, "cancel requested")
        raise HTTPException(status_code=409, detail="already shipped")
    ```

    ## Use instead
    ```python
    @app.post("/orders/{order_id}/cancel")
    def cancel(order_id: int, background_tasks: BackgroundTasks):
        background_tasks.add_task(audit, order_id, "cancel requested")
        return JSONResponse({"detail": "already shipped"}, status_code=409)
    ```

    ## Fix safety
    Unsafe: in a route, `raise HTTPException(status_code=s, detail=d[,
    headers=h])` becomes `return JSONResponse({"detail": d}, status_code=s[,
    headers=h])`, the body FastAPI's default handler would send. Middleware
    that watches for the exception no longer sees it. Not offered when a
    module of the project registers its own handler for `HTTPException` or
    for a status code (`exception_handler`, `add_exception_handler`,
    `exception_handlers=`): the returned response would bypass it. Other
    exceptions, and raises in dependencies, are only reported.

    ## References
    - [FastAPI: Handling errors](https://fastapi.tiangolo.com/tutorial/handling-errors/)
    - [FastAPI issue #2604: background tasks not run when an exception is raised](https://github.com/fastapi/fastapi/issues/2604)
    """

    code = "BGT012"
    name = "tasks-dropped-by-raise"
    summary = "A `raise` after `add_task` on every path: the injected tasks never run"
    fix_availability = FIX_SOMETIMES

    MUST_FLAG = (
        """
from fastapi import BackgroundTasks, FastAPI, HTTPException
app = FastAPI()
def audit(x): ...
@app.post("/")
def route(bt: BackgroundTasks):
    bt.add_task(audit, 1)
    raise HTTPException(status_code=400, detail="no")
""",
    )
    MUST_NOT_FLAG = (
        """
from fastapi import BackgroundTasks, FastAPI, HTTPException
app = FastAPI()
def audit(x): ...
@app.post("/")
def route(bt: BackgroundTasks, ok: bool):
    bt.add_task(audit, 1)
    if not ok:
        raise HTTPException(status_code=400, detail="no")
    return {}
""",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        model = context.model
        reported: set[cst.CSTNode] = set()
        for submission in model.task_submissions():
            site = submission.site
            function = site.function
            receiver = submission.receiver
            if (
                function is None
                or site.in_lambda
                or site.statement is None
                or not (function.route_kind == HTTP or function.is_dependency)
                or not isinstance(receiver, cst.Name)
                or receiver.value not in model.injected_tasks(function)
            ):
                continue
            if any(arm == "try" for _, arm in model.scopes.enclosing_branches(site.statement)):
                continue  # a handler may catch the exception and return
            if runs_in_teardown(model.scopes, function, site.statement):
                continue  # queued in a teardown: BGT008's finding
            raised = _raise_on_every_path_after(function.node, site.statement)
            if raised is None or raised in reported:
                continue
            reported.add(raised)
            what = "route" if function.route_kind == HTTP else "dependency"
            message = (
                f"`{receiver.value}.add_task(...)` is followed by a `raise` on every path: the "
                f"{what} ends with an exception, so FastAPI never runs the injected background "
                "tasks; return an error response instead, or add the tasks after the checks"
            )
            fix = _return_instead(model, function, raised) if function.route_kind == HTTP else None
            yield Violation(raised, message, fix)


def _raise_on_every_path_after(
    function: cst.FunctionDef, statement: cst.CSTNode
) -> Optional[cst.Raise]:
    """The `raise` that every path from `statement` (in its own block) reaches
    before any `return`, if there is one."""
    block = _block_holding(function.body, statement)
    if block is None:
        return None
    position = next(i for i, s in enumerate(block) if s is statement)
    later = list(block)[position + 1 :]
    for candidate in later:
        raised = _always_raises(candidate)
        if raised is not None:
            return raised
        if _may_leave(candidate):
            return None  # a path returns (or breaks out) first
    return None


def _block_holding(
    suite: cst.BaseSuite, statement: cst.CSTNode
) -> Optional[Sequence[cst.BaseStatement]]:
    """The statement list that directly holds `statement`, below `suite`."""
    for node, entering in walk(suite):
        if not entering or isinstance(node, _OWN_SCOPE):
            continue
        if isinstance(node, (cst.IndentedBlock, cst.Module)) and any(
            s is statement for s in node.body
        ):
            return node.body
    return None


def _always_raises(statement: cst.CSTNode) -> Optional[cst.Raise]:
    """The `raise` a statement ends with on every path, if it does."""
    if isinstance(statement, cst.SimpleStatementLine):
        for small in statement.body:
            if isinstance(small, cst.Raise):
                return small
        return None
    if isinstance(statement, cst.If) and statement.orelse is not None:
        body = _suite_always_raises(statement.body)
        other = statement.orelse
        rest = (
            _always_raises(other) if isinstance(other, cst.If) else _suite_always_raises(other.body)
        )
        return body if body is not None and rest is not None else None
    if isinstance(statement, cst.With):
        return _suite_always_raises(statement.body)
    return None


def _suite_always_raises(suite: cst.BaseSuite) -> Optional[cst.Raise]:
    statements = suite.body if isinstance(suite, cst.IndentedBlock) else [suite]
    for statement in statements:
        raised = _always_raises(statement)
        if raised is not None:
            return raised
        if _may_leave(statement):
            return None
    return None


def _may_leave(statement: cst.CSTNode) -> bool:
    """The statement holds a `return`, `break` or `continue` of this function
    (some path may leave the block before a later `raise`)."""
    if isinstance(statement, _OWN_SCOPE):
        return False  # a definition: its body runs later, if ever
    stack = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.Return, cst.Break, cst.Continue)):
            return True
        if isinstance(node, _OWN_SCOPE) and node is not statement:
            continue  # another function's
        stack.extend(node.children)
    return False


def _return_instead(model: Model, function: FunctionInfo, raised: cst.Raise) -> Optional[FixPlan]:
    """`raise HTTPException(status_code=s, detail=d[, headers=h])` in a route's
    own body -> `return JSONResponse({"detail": d}, status_code=s[, headers=h])`."""
    call = raised.exc
    if (
        raised.cause is not None
        or not isinstance(call, cst.Call)
        or model.qualified_name(call.func) not in HTTP_EXCEPTIONS
        or any(arg.star for arg in call.args)
        or function.yields
        or _handled_by_the_app(model)
    ):
        return None
    status = call_argument(call, 0, "status_code")
    detail = call_argument(call, 1, "detail")
    headers = call_argument(call, 2, "headers")
    if status is None or detail is None or len(call.args) != 2 + (headers is not None):
        return None

    def rewrite(module: cst.Module) -> Edits:
        edits = Edits()
        response = class_reference(
            model, edits, "fastapi.responses", "JSONResponse", JSON_RESPONSES
        )
        code = module.code_for_node
        extra = f", headers={code(headers.value)}" if headers is not None else ""
        value = cst.parse_expression(
            f'{response}({{"detail": {code(detail.value)}}}, '
            f"status_code={code(status.value)}{extra})"
        )
        assert isinstance(value, cst.Call)
        column = line_column(model, raised)
        value = fit_call(model, value, column, "return ", trailing_width(model, raised))
        edits.replace[raised] = cst.Return(value=value)
        return edits

    return FixPlan(UNSAFE, "Return the error response instead of raising", rewrite)


def _handled_by_the_app(model: Model) -> bool:
    """The app registers its own HTTPException handler (in any module): its
    response, not the default `{"detail": ...}`, is what clients get, and a
    returned JSONResponse would bypass it."""
    if handles_http_exceptions(model.parsed_text or model.module.code):
        return True
    return model.project is not None and model.project.handles_http_exceptions()
