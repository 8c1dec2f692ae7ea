from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from bgtask_lint.analysis.model import HTTP, Model
from bgtask_lint.analysis.scopes import MODULE
from bgtask_lint.rules.base import FIX_NEVER, Rule, RuleContext, Violation

# A file without these words cannot have a finding of this rule (the text screen).
TRIGGERS = ("BackgroundTask",)


class SharedResponseInstance(Rule):
    """
    ## What it does
    Flags a route that returns a Response object created once at module level
    while the request adds background tasks.

    ## Why is this bad?
    FastAPI attaches the injected tasks to the response it gets back when that
    response has no background yet. A module-level response object is the same
    object on every request: the first request's tasks stay attached to it, and
    run again, with the first request's arguments, after every later request —
    a cross-request leak. The tasks of later requests are dropped.

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
    No fix: building the response per request may need arguments only the
    author knows.

    ## References
    - [FastAPI: Background Tasks](https://fastapi.tiangolo.com/tutorial/background-tasks/)
    """

    code = "BGT010"
    name = "shared-response-instance"
    summary = "Module-level Response returned by a route that adds tasks"
    fix_availability = FIX_NEVER

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


def _is_module_response(model: Model, name: cst.Name) -> bool:
    """The returned name reads a module-level `NAME = SomeResponse(...)` (the
    model resolves it: a local of the same name is another object)."""
    return any(
        binding.scope.kind == MODULE
        and isinstance(binding.value, cst.Call)
        and model.is_response_class(binding.value.func)
        for binding in model.scopes.bindings_of(name)
    )
