from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.model import HTTP, FunctionInfo, Model
from bgtask_lint.analysis.scopes import CLASS, MODULE, Binding
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
    while the request adds background tasks, and a `BackgroundTasks()` made
    once, at module level or as a class attribute, that routes add tasks to
    or attach as a response's `background`.

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

    For the shared `BackgroundTasks()` (module-level, or a class attribute
    read as `Class.attr`), safe for each route whose every use of it is an
    `add_task` receiver or a response's `background=`: the route gets
    FastAPI's own per-request `BackgroundTasks` as a parameter
    (`background_tasks`, or the one it has) and uses that instead. When some
    response runs the shared list, every route's tasks ran with it, so the
    routes are fixed together or not at all: none is when one use anywhere
    is something else (handed to a helper, read outside a route). Nor is any
    when another module imports the list.

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


@dataclass(frozen=True)
class _Use:
    """One read of a shared task list: the expression (`tasks`, or
    `Service.queue`), the route whose own body holds it, and whether it is
    one the fix can hand the route's injected tasks instead: an `add_task`
    receiver, or the `background=` of a response."""

    expression: cst.BaseExpression
    route: Optional[FunctionInfo]
    replaceable: bool
    attaches: bool  # `background=`: the list's tasks run with this response


def _shared_task_lists(model: Model) -> Iterator[Violation]:
    """`NAME = BackgroundTasks()` at module level, or as a class attribute
    (`Service.queue`), used by routes: reported at its first use in each
    route."""
    for name, uses in _shared_lists(model):
        by_route: dict[FunctionInfo, list[_Use]] = {}
        for use in uses:
            if use.route is not None:
                by_route.setdefault(use.route, []).append(use)
        # The fix moves each route to its own tasks. When some response runs
        # the list (`background=`), every route's tasks ran with it, so the
        # routes move together or not at all; a list another module may
        # share is left alone.
        attached = any(use.attaches for use in uses)
        every_use_fixable = all(use.replaceable and use.route is not None for use in uses)
        project = model.project
        shared_elsewhere = project is not None and project.mentioned_elsewhere(
            model, name.split(".")[0]
        )
        for route, route_uses in by_route.items():
            fixable = all(use.replaceable for use in route_uses) and not shared_elsewhere
            if attached and not every_use_fixable:
                fixable = False
            fix = _inject_fix(model, route, [use.expression for use in route_uses])
            yield Violation(
                route_uses[0].expression,
                f"`{name}` is one `BackgroundTasks` shared by every request: tasks added to "
                "it pile up across requests (none run unless it is attached to a response, "
                "and then every earlier request's run again); take FastAPI's per-request "
                "`BackgroundTasks` as a parameter",
                fix if fixable else None,
            )


def _shared_lists(model: Model) -> Iterator[tuple[str, list[_Use]]]:
    scopes = model.scopes
    for name, bindings in sorted(scopes.module.bindings.items()):
        if len(bindings) == 1 and _makes_tasks(model, bindings[0]):
            uses = [_use_of(model, n, n, 1) for n in scopes.uses(bindings[0])]
            yield name, uses
    for binding in scopes.all_bindings():
        scope = binding.scope
        if scope.kind != CLASS or scope.parent is not scopes.module:
            continue
        if not _makes_tasks(model, binding) or len(scope.bindings[binding.name]) != 1:
            continue
        assert isinstance(scope.node, cst.ClassDef)
        class_name = scope.node.name.value
        classes = scopes.module.bindings.get(class_name, [])
        if len(classes) != 1:
            continue  # rebound: which object a route sees is not clear
        uses = []
        for use in scopes.uses(classes[0]):
            reference = scopes.reference(use)
            parent = reference.parent if reference is not None else None
            if isinstance(parent, cst.Attribute) and parent.attr.value == binding.name:
                uses.append(_use_of(model, use, parent, 2))
        if uses and _reached_otherwise(model, binding.name, classes[0]):
            # `self.queue`, `cls.queue`, an instance's: a use the fix cannot
            # see, which may run the list, so no route is moved off it.
            uses.append(_Use(uses[0].expression, None, False, True))
        if uses:
            yield f"{class_name}.{binding.name}", uses


def _reached_otherwise(model: Model, attribute: str, class_binding: Binding) -> bool:
    """Whether `.attribute` is read off anything but the class's own name."""
    for binding in model.scopes.all_bindings():
        if binding is class_binding:
            continue
        for reference in binding.references:
            parent = reference.parent
            if isinstance(parent, cst.Attribute) and parent.attr.value == attribute:
                return True
    return False


def _makes_tasks(model: Model, binding: Binding) -> bool:
    value = binding.value
    return isinstance(value, cst.Call) and model.is_background_tasks_call(value)


def _use_of(model: Model, name: cst.Name, expression: cst.BaseExpression, depth: int) -> _Use:
    """The use of a shared list whose reference is `name` and whose whole
    expression (`depth` levels up from it: 1 the name itself, 2 an
    attribute of it) is `expression`."""
    reference = model.scopes.reference(name)
    if reference is None:
        return _Use(expression, None, False, False)
    route = _route_of(model, reference.scope.node)
    # What holds the expression: the reference's parents, one level up for
    # an attribute (the Call of an `add_task` is then out of sight: a read
    # of `.add_task` is taken as its call).
    above = reference.parent if depth == 1 else reference.grandparent
    queues = isinstance(above, cst.Attribute) and above.attr.value == "add_task"
    if depth == 1:
        queues = queues and isinstance(reference.grandparent, cst.Call)
    attaches = (
        isinstance(above, cst.Arg)
        and above.keyword is not None
        and above.keyword.value == "background"
    )
    return _Use(expression, route, queues or attaches, attaches)


def _route_of(model: Model, scope_node: cst.CSTNode) -> Optional[FunctionInfo]:
    """The HTTP route whose own body `scope_node` (a function) is."""
    function = model.function_of(scope_node)
    return function if function is not None and function.route_kind == HTTP else None


def _inject_fix(
    model: Model, route: FunctionInfo, uses: list[cst.BaseExpression]
) -> Optional[FixPlan]:
    def rewrite(module: cst.Module) -> Edits:
        edits = Edits()
        injected = inject_background_tasks(model, route, edits)
        for use in uses:
            edits.replace[use] = cst.Name(injected)
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
