from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.model import (
    HTTP,
    CallSite,
    FunctionInfo,
    FunctionRef,
    Model,
    TaskSubmission,
    bound_parameter,
)
from bgtask_lint.analysis.names import DEPENDS, PARTIAL
from bgtask_lint.analysis.origins import INJECTED
from bgtask_lint.analysis.provenance import origins_of
from bgtask_lint.analysis.resolution import entry_function, injected_kind
from bgtask_lint.diagnostic import UNSAFE
from bgtask_lint.rules.base import FIX_SOMETIMES, FixPlan, Rule, RuleContext, Violation
from bgtask_lint.rules.rewrite import Edits

# A file without these words cannot have a finding of this rule (the text screen).
TRIGGERS = ("BackgroundTask",)

# The methods of a Request that read its body from the client.
BODY_READS = frozenset({"body", "json", "form", "stream"})
# Parameter markers that make FastAPI read the body before the endpoint runs.
BODY_MARKERS = frozenset(
    {
        "fastapi.Body",
        "fastapi.Form",
        "fastapi.File",
        "fastapi.params.Body",
        "fastapi.params.Form",
        "fastapi.params.File",
        "fastapi.param_functions.Body",
        "fastapi.param_functions.Form",
        "fastapi.param_functions.File",
    }
)
# Markers of parameters FastAPI takes from elsewhere than the body.
NOT_BODY_MARKERS = frozenset(
    {
        *DEPENDS,
        *(
            f"{module}.{name}"
            for module in ("fastapi", "fastapi.params", "fastapi.param_functions")
            for name in ("Query", "Path", "Header", "Cookie", "Security")
        ),
    }
)
# Annotations of parameters FastAPI reads from the path or the query string
# (anything else may be a body model: then FastAPI has read the body).
SCALAR_TYPES = frozenset(
    {
        "builtins.int",
        "builtins.float",
        "builtins.str",
        "builtins.bool",
        "builtins.bytes",
        "uuid.UUID",
        "datetime.date",
        "datetime.datetime",
        "datetime.time",
        "datetime.timedelta",
        "decimal.Decimal",
    }
)
# Wrappers whose arguments are the types (`Optional[int]`, `list[str]`).
TYPE_WRAPPERS = frozenset(
    {
        "typing.Optional",
        "typing.Union",
        "typing.List",
        "typing.Sequence",
        "builtins.list",
        "builtins.set",
        "typing.Set",
        "typing.Annotated",
        "typing_extensions.Annotated",
    }
)


class RequestBodyReadInTask(Rule):
    """
    ## What it does
    Flags a `Request` handed to a background task that reads the request's
    body — `await request.body()`, `.json()`, `.form()` or `.stream()`, in the
    task or in a helper it passes the request to — when the endpoint never
    read the body itself (no body parameter, no read of its own).

    The request is recognised by its annotation (`request: Request`), not by
    its name: many `request` parameters are pydantic models. It is followed
    into other modules as BGT003 follows a task.

    ## Why is this bad?
    The task runs after the response has been sent. By then the server has
    finished the request: under uvicorn, reading the body raises
    `ClientDisconnect`, the task fails, and the client has already got its
    success response. Headers, the path, query parameters and
    `request.state` stay readable; only the body is gone. A body the
    endpoint read (itself, or through a body parameter FastAPI filled) is
    cached on the request and can be read again.

    ## Example
    ```python
    async def store_payload(request: Request):
        payload = await request.json()
        ...

    @app.post("/webhook")
    async def webhook(request: Request, tasks: BackgroundTasks):
        tasks.add_task(store_payload, request)
        return {"ok": True}
    ```

    ## Use instead
    ```python
    async def store_payload(payload: dict):
        ...

    @app.post("/webhook")
    async def webhook(request: Request, tasks: BackgroundTasks):
        tasks.add_task(store_payload, await request.json())
        return {"ok": True}
    ```

    ## Fix safety
    Unsafe, offered in an `async def` endpoint that hands over its own
    `Request` parameter: `await request.body()` is inserted before the
    `add_task`, so the body is read (and cached for the task) while the
    request is still open. The whole body is then held in memory, and a
    client that sends it slowly delays the response: passing the parsed body
    instead of the request is often better, and is the author's choice.

    ## Options
    - `max-call-depth`: how many calls deep the task's helpers are followed.

    ## References
    - [Starlette: Requests, body](https://www.starlette.io/requests/#body)
    - [FastAPI: Using the Request directly](https://fastapi.tiangolo.com/advanced/using-request-directly/)
    """

    code = "BGT013"
    name = "request-body-read-in-task"
    summary = "A background task reads the body of a request that has already ended"
    fix_availability = FIX_SOMETIMES

    MUST_FLAG = (
        """
from fastapi import BackgroundTasks, FastAPI, Request
app = FastAPI()
async def store(request: Request):
    await request.json()
@app.post("/")
async def hook(request: Request, tasks: BackgroundTasks):
    tasks.add_task(store, request)
""",
    )
    MUST_NOT_FLAG = (
        """
from fastapi import BackgroundTasks, FastAPI, Request
app = FastAPI()
async def store(request: Request):
    await request.json()
@app.post("/")
async def hook(request: Request, tasks: BackgroundTasks):
    await request.body()
    tasks.add_task(store, request)
""",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        model = context.model
        depth = context.options.max_call_depth
        fixed: set[FunctionInfo] = set()
        for submission in model.task_submissions():
            site = submission.site
            function = site.function
            if function is None or site.in_lambda or submission.callable_arg is None:
                continue
            task = model.task_function(submission.callable_arg.value, function)
            if task is None:
                continue
            for arg, parameter in _arguments_to(model, submission.site.node, submission, task):
                origins = origins_of(model, arg.value, function, depth)
                requests = [o for o in origins if o.kind == INJECTED and o.type == "Request"]
                if not requests:
                    continue
                entries = [entry_function(model, o) for o in requests]
                if any(
                    entry is None or _body_is_read(entry, o.name)
                    for entry, o in zip(entries, requests)
                ):
                    continue  # the endpoint has read the body, or we cannot tell
                read = _body_read(task, parameter, depth, set())
                if read is None:
                    continue
                chain, method = read
                through = " → ".join(chain)
                message = (
                    f"`{model.module.code_for_node(arg.value)}` is handed to a background task "
                    f"that reads its body (`{through}` calls `.{method}()`), but the task runs "
                    "after the response, when the request is over: the read raises "
                    "`ClientDisconnect`; read the body in the endpoint and pass it instead"
                )
                # One read serves every task of the endpoint: fix the first only.
                fix = None if function in fixed else _read_first(model, function, site, arg.value)
                if fix is not None:
                    fixed.add(function)
                yield Violation(arg.value, message, fix)


def _arguments_to(
    model: Model, call: cst.Call, submission: TaskSubmission, task: FunctionRef
) -> Iterator[tuple[cst.Arg, str]]:
    """The arguments a submission gives the task, with the parameter each binds:
    `add_task(f, request)`, `BackgroundTask(f, request=request)`,
    `add_task(partial(f, request))`."""
    callable_arg = submission.callable_arg
    if callable_arg is None:
        return
    value = callable_arg.value
    args = [a for a in call.args if a is not callable_arg]
    func = value
    if isinstance(value, cst.Call) and model.qualified_name(value.func) in PARTIAL and value.args:
        func = value.args[0].value
        args = [*value.args[1:], *args]
    stand_in = cst.Call(func=func, args=args)
    for arg in args:
        parameter = bound_parameter(task.info, stand_in, arg)
        if parameter is not None:
            yield arg, parameter


def _body_read(
    ref: FunctionRef, parameter: str, depth: int, seen: set[tuple[int, str]]
) -> Optional[tuple[tuple[str, ...], str]]:
    """(the functions on the way, the method) when `ref` reads the body of
    the request its `parameter` holds, itself or through helpers it passes
    the request to, `depth` calls deep at most."""
    key = (id(ref.info), parameter)
    if key in seen:
        return None
    seen.add(key)
    model, function = ref.model, ref.info
    method = _own_body_read(model, function, parameter)
    if method is not None:
        return (function.display_name,), method
    if depth <= 0:
        return None
    for site in function.calls:
        for arg in site.node.args:
            if not _is_parameter(model, arg.value, function, parameter):
                continue
            helper = model.resolve_function(site.node.func, site.function)
            name = bound_parameter(helper.info, site.node, arg) if helper else None
            if helper is None or name is None:
                continue
            below = _body_read(helper, name, depth - 1, seen)
            if below is not None:
                return (function.display_name, *below[0]), below[1]
    return None


def _is_parameter(
    model: Model, expr: cst.BaseExpression, function: FunctionInfo, parameter: str
) -> bool:
    """`expr` is the name of `function`'s own parameter `parameter`."""
    if not isinstance(expr, cst.Name) or expr.value != parameter:
        return False
    return any(
        binding.kind == "parameter" and model.function_of(binding.scope.node) is function
        for binding in model.scopes.bindings_of(expr)
    )


def _body_is_read(entry: FunctionRef, parameter: str) -> bool:
    """The endpoint reads the body itself: a body parameter FastAPI fills
    (a model, `Body()`, `Form()`, `File()`, an upload), or a read of its own
    `Request` (the body is then cached on the request). Not an HTTP route
    (a dependency, a websocket): we cannot tell, so count it as read."""
    model, function = entry.model, entry.info
    if function.route_kind != HTTP:
        return True
    for param in function.parameters():
        if param.name.value != parameter and _may_be_body(model, param):
            return True
    return _own_body_read(model, function, parameter) is not None


def _own_body_read(model: Model, function: FunctionInfo, parameter: str) -> Optional[str]:
    """The body-reading method `function` calls on its own parameter
    `parameter` (`await request.json()`), if any."""
    for site in function.calls:
        func = site.node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in BODY_READS
            and _is_parameter(model, func.value, function, parameter)
        ):
            return func.attr.value
    return None


def _may_be_body(model: Model, param: cst.Param) -> bool:
    """FastAPI may fill the parameter from the body: not a path or query
    scalar, not a dependency, not something FastAPI injects by type."""
    markers = [param.default] if param.default is not None else []
    annotation = param.annotation.annotation if param.annotation is not None else None
    if isinstance(annotation, cst.Subscript) and model.qualified_name(annotation.value) in (
        "typing.Annotated",
        "typing_extensions.Annotated",
    ):
        markers += [e.slice.value for e in annotation.slice[1:] if isinstance(e.slice, cst.Index)]
    for marker in markers:
        if isinstance(marker, cst.Call):
            qualname = model.qualified_name(marker.func)
            if qualname in BODY_MARKERS:
                return True
            if qualname in NOT_BODY_MARKERS:
                return False
    if model.depends_call(param) is not None:
        return False
    if annotation is None:
        return False
    kind = injected_kind(model, annotation)
    if kind is not None:
        return kind == "UploadFile"
    return not _is_scalar(model, annotation)


def _is_scalar(model: Model, annotation: cst.BaseExpression) -> bool:
    if isinstance(annotation, cst.BinaryOperation):
        return _is_scalar(model, annotation.left) and _is_scalar(model, annotation.right)
    if isinstance(annotation, cst.Subscript):
        if model.qualified_name(annotation.value) not in TYPE_WRAPPERS:
            return False
        types = [e.slice.value for e in annotation.slice if isinstance(e.slice, cst.Index)]
        if model.qualified_name(annotation.value) in (
            "typing.Annotated",
            "typing_extensions.Annotated",
        ):
            types = types[:1]
        return all(_is_scalar(model, t) for t in types)
    if isinstance(annotation, cst.Name) and annotation.value == "None":
        return True
    return model.qualified_name(annotation) in SCALAR_TYPES


def _read_first(
    model: Model, function: FunctionInfo, site: CallSite, request: cst.BaseExpression
) -> Optional[FixPlan]:
    """`await request.body()` before the `add_task`, in an async endpoint
    handing over its own `Request` parameter."""
    if (
        function.route_kind != HTTP
        or not function.is_async
        or site.statement is None
        or not site.in_function_body
        or not isinstance(request, cst.Name)
        or not _is_parameter(model, request, function, request.value)
    ):
        return None
    name, statement = request.value, site.statement

    def rewrite(module: cst.Module) -> Edits:
        edits = Edits()
        edits.before[statement].append(cst.parse_statement(f"await {name}.body()\n"))
        return edits

    return FixPlan(
        UNSAFE, f"Read the body (`await {name}.body()`) before queuing the task", rewrite
    )
