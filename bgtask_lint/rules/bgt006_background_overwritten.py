from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.model import HTTP, BackgroundAssignment, CallSite, FunctionInfo, Model
from bgtask_lint.analysis.syntax import is_none
from bgtask_lint.analysis.walk import own_nodes, walk
from bgtask_lint.config.options import RuleOptions
from bgtask_lint.config.versions import LOST_IN_MIDDLEWARE
from bgtask_lint.diagnostic import SAFE
from bgtask_lint.rules.base import FIX_SOMETIMES, FixPlan, Rule, RuleContext, Violation
from bgtask_lint.rules.rewrite import (
    Edits,
    append_item,
    fit_call,
    inject_background_tasks,
    line_column,
    lone_statement,
    remove_item,
    statement_with_call,
)

# A file without `.background =` cannot have an overwrite (the text screen);
# nor can one that only sets `self.background` (a Response subclass's
# `__init__`, or any class with such an attribute: `self` never holds a
# response built in the same function).
TRIGGERS = (r"\.background(?<!\bself\.background)\s*=(?!=)", "get_route_handler")


@dataclass(frozen=True)
class _Origin:
    """How a response variable got its background before being overwritten."""

    kind: str  # "constructor", "assigned" or "endpoint"
    node: Optional[cst.CSTNode] = None  # the `background=` Arg or the Assign
    statement: Optional[cst.CSTNode] = None  # the assignment that gave it


class BackgroundOverwritten(Rule):
    """
    ## What it does
    Flags an assignment to `response.background` that throws away a background
    the response already had, and `.background` set on the `response: Response`
    parameter FastAPI injects into a route. In the handler of an
    `APIRoute.get_route_handler` override (`original =
    super().get_route_handler()`), also a new response made from the one the
    route returned (its status, body or headers) without its background.

    ## Why is this bad?
    A response has one `background`. Assigning it again replaces the earlier
    task or tasks, which then never run: with
    `JSONResponse(..., background=BackgroundTask(f))` followed by
    `response.background = BackgroundTask(g)`, only `g` runs. A decorator or
    route wrapper that sets the background of the response the endpoint
    returned does the same to the endpoint's tasks; so does a route class
    whose handler returns `JSONResponse(..., status_code=response.status_code)`
    in place of the route's response, for every route of its routers.

    On the injected `response: Response` parameter, FastAPI copies only headers,
    cookies and the status code to the real response: a background set there is
    silently ignored.

    Not flagged: `BaseHTTPMiddleware.dispatch` (or an `@app.middleware("http")`
    function) setting it on the response of `call_next`: it always starts out
    as `None`, and from Starlette 0.38.5 it runs before the endpoint's own
    tasks. Except on Starlette 0.38.3 and 0.38.4, where it never runs: when
    `target-starlette` or the pin nearest the file (`pyproject.toml`,
    `requirements*.txt`, a lock file) allows only those, it is reported as an
    error; with `portability = true`, as a warning when the pin allows them
    among others or no version is known. Also not flagged: code
    that chains the previous background (`BackgroundTasks([response.background,
    ...])`), code that merges it first (`tasks.add_task(response.background)`,
    then `response.background = tasks`: a `BackgroundTask` is callable), and a
    Response subclass setting `self.background` in `__init__`.

    ## Example
    ```python
    @app.post("/orders/{order_id}")
    def update(order_id: int):
        response = JSONResponse({}, background=BackgroundTask(audit, order_id))
        response.background = BackgroundTask(notify, order_id)   # audit never runs
        return response
    ```

    ## Use instead
    ```python
    @app.post("/orders/{order_id}")
    def update(order_id: int, background_tasks: BackgroundTasks):
        background_tasks.add_task(audit, order_id)
        background_tasks.add_task(notify, order_id)
        return JSONResponse({})
    ```

    ## Fix safety
    Safe in an HTTP route when every background involved is an inline
    `BackgroundTask(f, ...)`: each becomes `background_tasks.add_task(f, ...)` on
    the injected object (added if needed), so all of them run. No fix in
    decorators and wrappers, where no injected object is in reach. Safe for a
    route class's new response of fastapi's or starlette's own classes:
    `background=response.background` is passed on (a subclass of your own
    may not take it: no fix).

    ## Options
    - `target-starlette`: the Starlette version the project runs on, for
      example `"0.38.5"`.

    ## References
    - [FastAPI: Response parameter](https://fastapi.tiangolo.com/advanced/response-change-status-code/)
    - [Starlette: Background Tasks](https://www.starlette.io/background/)
    """

    code = "BGT006"
    name = "background-overwritten"
    summary = "`.background` assignment discards an earlier background, or is ignored"
    fix_availability = FIX_SOMETIMES

    MUST_FLAG = (
        """
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
def view():
    response = JSONResponse({}, background=BackgroundTask(print, 1))
    response.background = BackgroundTask(print, 2)
    return response
""",
    )
    MUST_NOT_FLAG = (
        """
from starlette.background import BackgroundTask
from starlette.middleware.base import BaseHTTPMiddleware
class Audit(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        response = await call_next(request)
        response.background = BackgroundTask(print, 1)
        return response
""",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        model = context.model
        assignments = {a.node: a for a in model.background_assignments}
        functions = {a.function for a in model.background_assignments if a.function}
        for function in sorted(functions, key=model.functions.index):
            yield from self._overwrites(model, function, assignments, context.options)
        for function in model.functions:
            if function.parent is not None and function.parent.name == "get_route_handler":
                yield from _rebuilt(model, function)
        for assignment in model.background_assignments:
            owner, target = assignment.function, assignment.target.value
            if (
                owner is not None
                and owner.route_kind == HTTP
                and isinstance(target, cst.Name)
                and target.value in model.response_parameters(owner)
                # A route that returns the injected Response sends it: its
                # background is kept (BGT005 judges whether it drops tasks).
                and not model.returns_name(owner, target.value)
            ):
                yield Violation(
                    assignment.node,
                    f"`{target.value}` is the `Response` parameter FastAPI injects: it "
                    "copies only headers, cookies and status code from it, so this "
                    "background is silently ignored; use `add_task` on an injected "
                    "`BackgroundTasks`",
                    _replace_with_add_task(model, owner, [assignment]),
                )

    def _overwrites(
        self,
        model: Model,
        function: FunctionInfo,
        assignments: dict[cst.Assign, BackgroundAssignment],
        options: RuleOptions,
    ) -> Iterator[Violation]:
        origins: dict[str, _Origin] = {}
        for node in own_nodes(function.node):
            assigned = _assigned(node)
            if assigned is None:
                continue
            target, value = assigned
            if isinstance(target, cst.Name):
                origin = _origin_of(model, function, value) if value is not None else None
                if origin is None:
                    origins.pop(target.value, None)
                else:
                    origins[target.value] = replace(origin, statement=node)
                continue
            if not (
                isinstance(node, cst.Assign)
                and isinstance(target, cst.Attribute)
                and target.attr.value == "background"
                and isinstance(target.value, cst.Name)
            ):
                continue
            name = target.value.value
            if is_none(node.value):
                origins.pop(name, None)
                continue
            earlier = origins.get(name)
            if earlier is not None and earlier.kind == "call_next":
                lost = _lost_in_middleware(options)
                if lost is not None:
                    yield Violation(
                        node,
                        f"a background set on the response of `call_next` in a middleware "
                        f"never runs on Starlette 0.38.3 and 0.38.4{lost[1]}: upgrade "
                        "Starlette to 0.38.5 or later, or run the work in the endpoint's "
                        "`BackgroundTasks`",
                        severity=lost[0],
                    )
                origins[name] = _Origin("assigned", node, node)
                continue
            if (
                earlier is not None
                and not _keeps_previous(model, function, node, name)
                and not (earlier.statement and model.scopes.exclusive(earlier.statement, node))
                and not _only_when_none(model, node, name)
            ):
                yield Violation(
                    node,
                    _overwrite_message(name, earlier),
                    _overwrite_fix(model, function, earlier, assignments[node], assignments),
                )
            origins[name] = _Origin("assigned", node, node)


def _overwrite_message(name: str, earlier: _Origin) -> str:
    if earlier.kind == "endpoint":
        return (
            f"this replaces the background of the response the endpoint returned "
            f"(`{name}`): the endpoint's own tasks, injected ones included, never run; "
            "chain it instead: `BackgroundTasks([response.background, ...])`"
        )
    return (
        f"`{name}.background` already holds a background task: this assignment "
        "replaces it, so the earlier task never runs; add both to one "
        "`BackgroundTasks` with `add_task`"
    )


def _rebuilt(model: Model, function: FunctionInfo) -> Iterator[Violation]:
    """A route handler of an `APIRoute.get_route_handler` override that returns
    a new response made from the one the route's own handler returned (its
    status, body or headers) without that response's background."""
    endpoint_responses: set[str] = set()
    for node in own_nodes(function.node):
        assigned = _assigned(node)
        if assigned is not None:
            target, value = assigned
            if isinstance(target, cst.Name) and value is not None:
                origin = _origin_of(model, function, value)
                if origin is not None and origin.kind == "endpoint":
                    endpoint_responses.add(target.value)
                else:
                    endpoint_responses.discard(target.value)
            continue
        call = node.value if isinstance(node, cst.Return) else None
        if not isinstance(call, cst.Call) or not model.is_response_class(call.func):
            continue
        if _may_pass_background(model, call):
            continue
        read = sorted(
            {n.value for n, entering in walk(call) if entering and isinstance(n, cst.Name)}
            & endpoint_responses
        )
        if read:
            yield Violation(
                call,
                f"this new response is made from the one the route returned (`{read[0]}`) "
                "but not its background: the route's tasks, injected ones included, never "
                f"run; pass it on: `background={read[0]}.background`",
                _pass_background_fix(model, node, call, read[0]),
            )


def _may_pass_background(model: Model, call: cst.Call) -> bool:
    """Whether the response built by `call` may get a background: by keyword,
    in `**options`, or by position (the fifth parameter of Starlette's
    responses, the fourth of `RedirectResponse`)."""
    if any(arg.star == "**" for arg in call.args):
        return True
    if any(arg.keyword is not None and arg.keyword.value == "background" for arg in call.args):
        return True
    name = (model.qualified_name(call.func) or "").rpartition(".")[2]
    position = 3 if name == "RedirectResponse" else 4
    positional = [arg for arg in call.args if arg.keyword is None]
    return len(positional) > position or any(arg.star == "*" for arg in positional)


def _assigned(
    node: cst.CSTNode,
) -> Optional[tuple[cst.BaseExpression, Optional[cst.BaseExpression]]]:
    """(target, value) of `target = value` and `target: T = value`."""
    if isinstance(node, cst.Assign) and len(node.targets) == 1:
        return node.targets[0].target, node.value
    if isinstance(node, cst.AnnAssign):
        return node.target, node.value
    return None


def _pass_background_fix(
    model: Model, statement: cst.CSTNode, call: cst.Call, name: str
) -> Optional[FixPlan]:
    """`return JSONResponse(...)` → `return JSONResponse(..., background=<name>.background)`:
    only for fastapi's and starlette's own classes (a subclass may not take it)."""
    qualname = model.qualified_name(call.func) or ""
    if not qualname.startswith(("fastapi.", "starlette.")):
        return None
    no_space = cst.SimpleWhitespace("")
    background = cst.Arg(
        keyword=cst.Name("background"),
        value=cst.Attribute(value=cst.Name(name), attr=cst.Name("background")),
        equal=cst.AssignEqual(whitespace_before=no_space, whitespace_after=no_space),
    )

    def rewrite(module: cst.Module) -> Edits:
        edits = Edits()
        passed = call.with_changes(args=append_item(list(call.args), background))
        edits.replace[call] = fit_call(model, passed, line_column(model, statement), "return ")
        return edits

    return FixPlan(SAFE, "Pass the route's background on to the new response", rewrite)


def _origin_of(
    model: Model, function: FunctionInfo, value: cst.BaseExpression
) -> Optional[_Origin]:
    """Whether `name = value` gives `name` a background: a response built with
    `background=`, or the result of the endpoint a wrapper wraps (a parameter
    of the enclosing decorator, called in the wrapper; in a `get_route_handler`
    override, the local holding `super().get_route_handler()`)."""
    call = value.expression if isinstance(value, cst.Await) else value
    if not isinstance(call, cst.Call):
        return None
    if _is_call_next(function, call):
        return _Origin("call_next")
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "background":
            return None if is_none(arg.value) else _Origin("constructor", arg)
    enclosing = function.parent
    if enclosing is not None and isinstance(call.func, cst.Name):
        if call.func.value in {p.name.value for p in enclosing.parameters()}:
            return _Origin("endpoint")
        if enclosing.name == "get_route_handler" and _holds_route_handler(
            model, enclosing, call.func.value
        ):
            return _Origin("endpoint")
    return None


def _holds_route_handler(model: Model, function: FunctionInfo, name: str) -> bool:
    """`name = super().get_route_handler()` in `function`: the route's own
    handler, which calls the endpoint and builds its response."""
    scope = model.scopes.scope_of(function.node)
    for binding in scope.bindings.get(name, []) if scope is not None else []:
        value = binding.value
        if (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and value.func.attr.value == "get_route_handler"
        ):
            return True
    return False


def _is_call_next(function: FunctionInfo, call: cst.Call) -> bool:
    """`call_next(request)` in a middleware: `BaseHTTPMiddleware.dispatch`, or
    a function registered with `@app.middleware("http")` (which Starlette
    wraps in one)."""
    func = call.func
    if not isinstance(func, cst.Name):
        return False
    names = [p.name.value for p in function.parameters()]
    if func.value not in names:
        return False
    return func.value == "call_next" or (function.name == "dispatch" and names[-1:] == [func.value])


def _keeps_previous(
    model: Model, function: FunctionInfo, assignment: cst.Assign, name: str
) -> bool:
    """Chaining, not an overwrite: the new value reads the previous background
    (`BackgroundTasks([response.background, ...])`), or a local holding it
    (`previous = response.background`) is read by the new value or after it
    (`BackgroundTask(previous.func, *previous.args, **previous.kwargs)`, or
    `response.background.add_task(previous.func, ...)` on the next line), or
    the previous background was added to another object first
    (`tasks.add_task(response.background)`, then `response.background = tasks`)."""
    if _is_background_of(assignment.value, name, deep=True):
        return True
    order = model.scopes.order_of(assignment)
    if any(_merges(site, name) and _before(model, site, order) for site in function.calls):
        return True
    scope = model.scopes.scope_of(function.node)
    holders = {
        binding.name
        for bindings in (scope.bindings.values() if scope is not None else ())
        for binding in bindings
        if binding.value is not None and _is_background_of(binding.value, name, deep=False)
    }
    return any(
        order is None or use.order >= order
        for holder in sorted(holders)
        for use in model.local_uses(function.node, holder)
    )


# Calls that take the previous background in: `tasks.add_task(response.background)`
# (a `BackgroundTask` is callable, so it runs as one of the tasks) or
# `tasks.tasks.append(response.background)`.
MERGES = frozenset({"add_task", "append", "extend", "insert"})


def _merges(site: CallSite, name: str) -> bool:
    """`site` hands `<name>.background` to a method that keeps it."""
    func = site.node.func
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value in MERGES
        and any(_is_background_of(arg.value, name, deep=False) for arg in site.node.args)
    )


def _before(model: Model, site: CallSite, order: Optional[int]) -> bool:
    at = model.scopes.order_of(site.statement) if site.statement is not None else None
    return order is None or at is None or at < order


def _is_background_of(value: cst.BaseExpression, name: str, *, deep: bool) -> bool:
    """`value` is (`deep`: contains) `<name>.background`."""
    nodes = (n for n, entering in walk(value) if entering) if deep else iter((value,))
    return any(
        isinstance(node, cst.Attribute)
        and node.attr.value == "background"
        and isinstance(node.value, cst.Name)
        and node.value.value == name
        for node in nodes
    )


def _only_when_none(model: Model, assignment: cst.Assign, name: str) -> bool:
    """The assignment runs only when there was no background yet: it is in the
    body of `if <name>.background is None:` (or `if not <name>.background:`)."""
    for branch, arm in model.scopes.enclosing_branches(assignment):
        if not isinstance(branch, cst.If) or arm != "body":
            continue
        test = branch.test
        if (
            isinstance(test, cst.Comparison)
            and len(test.comparisons) == 1
            and isinstance(test.comparisons[0].operator, cst.Is)
            and is_none(test.comparisons[0].comparator)
            and _is_background_of(test.left, name, deep=False)
        ):
            return True
        if (
            isinstance(test, cst.UnaryOperation)
            and isinstance(test.operator, cst.Not)
            and _is_background_of(test.expression, name, deep=False)
        ):
            return True
    return False


def _overwrite_fix(
    model: Model,
    function: FunctionInfo,
    earlier: _Origin,
    overwrite: BackgroundAssignment,
    assignments: dict[cst.Assign, BackgroundAssignment],
) -> Optional[FixPlan]:
    if function.route_kind != HTTP:
        return None
    if earlier.kind == "assigned" and isinstance(earlier.node, cst.Assign):
        return _replace_with_add_task(model, function, [assignments[earlier.node], overwrite])
    if earlier.kind != "constructor" or not isinstance(earlier.node, cst.Arg):
        return None
    arg = earlier.node
    task = model.inline_background_task(arg.value)
    constructor = next((s for s in function.calls if any(a is arg for a in s.node.args)), None)
    plan = _replace_with_add_task(model, function, [overwrite])
    if task is None or constructor is None or plan is None:
        return None
    statement = lone_statement(constructor.statement)
    if statement is None:
        return None

    def rewrite(module: cst.Module) -> Edits:
        edits = _replacements(model, function, [overwrite])
        name = inject_background_tasks(model, function, edits)
        edits.before[statement].append(
            statement_with_call(task, name, model=model, anchor=statement)
        )
        edits.replace[constructor.node] = constructor.node.with_changes(
            args=remove_item(constructor.node.args, arg)
        )
        return edits

    return FixPlan(SAFE, "Add both tasks to the injected `BackgroundTasks`", rewrite)


def _replace_with_add_task(
    model: Model, function: FunctionInfo, assignments: list[BackgroundAssignment]
) -> Optional[FixPlan]:
    """`x.background = BackgroundTask(f, ...)` → `injected.add_task(f, ...)`."""
    if function.route_kind != HTTP:
        return None
    for assignment in assignments:
        is_inline = model.inline_background_task(assignment.node.value) is not None
        if not is_inline or lone_statement(assignment.statement) is None:
            return None

    def rewrite(module: cst.Module) -> Edits:
        return _replacements(model, function, assignments)

    return FixPlan(SAFE, "Add the task to the injected `BackgroundTasks`", rewrite)


def _replacements(
    model: Model, function: FunctionInfo, assignments: list[BackgroundAssignment]
) -> Edits:
    edits = Edits()
    name = inject_background_tasks(model, function, edits)
    for assignment in assignments:
        statement = assignment.statement
        task = model.inline_background_task(assignment.node.value)
        assert isinstance(statement, cst.SimpleStatementLine) and task is not None
        edits.replace[statement] = statement_with_call(
            task, name, statement.leading_lines, model=model, anchor=statement
        )
    return edits


def _lost_in_middleware(options: RuleOptions) -> Optional[tuple[str, str]]:
    """(severity, which pin says so) when a middleware's background can be
    lost on the Starlette versions the file runs on; None when it is not
    reported (only `portability` reports the versions that may be)."""
    pin = options.starlette
    lost = None if pin is None else pin.within(LOST_IN_MIDDLEWARE)
    if lost and pin is not None:
        return "error", f", and this project is on {pin.named()}"
    if lost is None and options.portability:
        return "warning", f", which {pin.named()} allows" if pin else " (no version is known)"
    return None
