from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.model import HTTP, FunctionInfo, Model
from bgtask_lint.analysis.scopes import MODULE
from bgtask_lint.diagnostic import SAFE
from bgtask_lint.rules.base import FIX_SOMETIMES, FixPlan, Rule, RuleContext, Violation
from bgtask_lint.rules.rewrite import Edits, inject_background_tasks

# A file without these words cannot have a finding of this rule (the text screen).
TRIGGERS = ("BackgroundTask",)


class SharedResponseInstance(Rule):
    """
    ## What it does
    Flags one object shared by every request where each request needs its
    own: a route that returns a Response object created once at module level
    while the request adds background tasks, and a module-level
    `BackgroundTasks()` that routes add tasks to or attach as a response's
    `background`.

    ## Why is this bad?
    FastAPI attaches the injected tasks to the response it gets back when that
    response has no background yet. A module-level response object is the same
    object on every request: the first request's tasks stay attached to it, and
    run again, with the first request's arguments, after every later request —
    a cross-request leak. The tasks of later requests are dropped.

    A module-level `BackgroundTasks()` is one task list for the whole
    process: each request appends to it. Attached to a response, it runs every
    task ever added — the first request's task once, then twice, then three
    times, with the earlier requests' arguments (FastAPI issue #2210); never
    attached, none of them runs and the list only grows.

    ## Example
    ```python
    ACCEPTED = JSONResponse({"status": "accepted"}, status_code=202)

    @app.post("/jobs")
    def submit(job: Job, background_tasks: BackgroundTasks):
        background_tasks.add_task(run_job, job.id)
        return ACCEPTED
    ```

    ## Use instead
    ```python
    @app.post("/jobs")
    def submit(job: Job, background_tasks: BackgroundTasks):
        background_tasks.add_task(run_job, job.id)
        return JSONResponse({"status": "accepted"}, status_code=202)
    ```

    ## Fix safety
    For the shared Response, no fix: building it per request may need
    arguments only the author knows.

    For the shared `BackgroundTasks()`, safe when every use of it in the module
    is an `add_task` in a route: each route gets FastAPI's own per-request
    `BackgroundTasks` as a parameter (`background_tasks`, or the one it has)
    and adds to it (the module-level object is then unused).

    ## References
    - [FastAPI: Background Tasks](https://fastapi.tiangolo.com/tutorial/background-tasks/)
    """

    code = "BGT010"
    name = "shared-response-instance"
    summary = "Module-level Response returned by a route that adds tasks"
    fix_availability = FIX_SOMETIMES

    MUST_FLAG = (
        """
from fastapi import BackgroundTasks, FastAPI
from fastapi.responses import JSONResponse
app = FastAPI()
OK = JSONResponse({})
@app.post("/")
def create(bt: BackgroundTasks):
    bt.add_task(print, 1)
    return OK
""",
    )
    MUST_NOT_FLAG = (
        """
from fastapi import FastAPI
from fastapi.responses import JSONResponse
app = FastAPI()
OK = JSONResponse({})
@app.get("/")
def health():
    return OK
""",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        model = context.model
        yield from _shared_task_lists(model)
        for route in model.functions:
            if route.route_kind != HTTP:
                continue
            adds_tasks = model.uses_injected_tasks(route) or any(
                a.function is route for a in model.background_assignments
            )
            if not adds_tasks:
                continue
            for ret in route.returns:
                if isinstance(ret.value, cst.Name) and _is_module_response(model, ret.value):
                    yield Violation(
                        ret,
                        f"`{ret.value.value}` is one Response object shared by every "
                        "request: the first request's background tasks stay attached "
                        "and re-run after every later request (with the first "
                        "request's arguments); build the response inside the route",
                    )


def _shared_task_lists(model: Model) -> Iterator[Violation]:
    """Module-level `NAME = BackgroundTasks()` used by routes: reported at its
    first use in each route."""
    for name, bindings in sorted(model.scopes.module.bindings.items()):
        shared = [
            b
            for b in bindings
            if isinstance(b.value, cst.Call) and model.is_background_tasks_call(b.value)
        ]
        if not shared or len(bindings) != 1:
            continue  # rebound: which object a route sees is not clear
        uses = model.scopes.uses(shared[0])
        in_routes: dict[FunctionInfo, list[cst.Name]] = {}
        only_add_task = True
        for use in uses:
            reference = model.scopes.reference(use)
            route = _route_of(model, reference.scope.node) if reference is not None else None
            receiver = (
                reference is not None
                and isinstance(reference.parent, cst.Attribute)
                and reference.parent.attr.value == "add_task"
                and isinstance(reference.grandparent, cst.Call)
            )
            only_add_task = only_add_task and receiver and route is not None
            if route is not None:
                in_routes.setdefault(route, []).append(use)
        for route, names in in_routes.items():
            fix = _inject_fix(model, route, name, names) if only_add_task else None
            yield Violation(
                names[0],
                f"`{name}` is one `BackgroundTasks` shared by every request: tasks added to "
                "it pile up across requests (none run unless it is attached to a response, "
                "and then every earlier request's run again); take FastAPI's per-request "
                "`BackgroundTasks` as a parameter",
                fix,
            )


def _route_of(model: Model, scope_node: cst.CSTNode) -> Optional[FunctionInfo]:
    """The HTTP route whose own body `scope_node` (a function) is."""
    function = model.function_of(scope_node)
    return function if function is not None and function.route_kind == HTTP else None


def _inject_fix(
    model: Model, route: FunctionInfo, name: str, uses: list[cst.Name]
) -> Optional[FixPlan]:
    def rewrite(module: cst.Module) -> Edits:
        edits = Edits()
        injected = inject_background_tasks(model, route, edits)
        for use in uses:
            edits.replace[use] = use.with_changes(value=injected)
        return edits

    return FixPlan(SAFE, "Use the route's own injected `BackgroundTasks`", rewrite)


def _is_module_response(model: Model, name: cst.Name) -> bool:
    """The returned name reads a module-level `NAME = SomeResponse(...)` (the
    model resolves it: a local of the same name is another object)."""
    return any(
        binding.scope.kind == MODULE
        and isinstance(binding.value, cst.Call)
        and model.is_response_class(binding.value.func)
        for binding in model.scopes.bindings_of(name)
    )
