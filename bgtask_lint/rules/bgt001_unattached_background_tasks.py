from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.model import (
    HTTP,
    STARLETTE,
    CallSite,
    FunctionInfo,
    Model,
    bound_parameter,
)
from bgtask_lint.analysis.syntax import assigned_name
from bgtask_lint.diagnostic import SAFE, UNSAFE
from bgtask_lint.rules.base import FIX_SOMETIMES, FixPlan, Rule, RuleContext, Violation
from bgtask_lint.rules.rewrite import (
    Edits,
    append_item,
    inject_background_tasks,
    keyword_argument,
    lone_statement,
    remove_item,
    replace_local_with_injected,
    statement_with_call,
)

# What becomes of a BackgroundTasks object after it is created.
CHAINED = "chained"  # `BackgroundTasks().add_task(f)`: the object is lost at once
DROPPED = "dropped"  # only ever `.add_task`-ed, never handed to anything
RETURNED = "returned"  # handed back to the caller, who decides its fate
ESCAPES = "escapes"  # attached, passed on, stored, awaited...: not our business

# How many helper levels (`make()` returning `make_inner()`) are followed.
MAX_FACTORY_DEPTH = 3


# A file without these words cannot have a finding of this rule (the text screen):
# `.add_task(f, ...)` for a route that queues on what another module's factory
# made (a callable first: rich's `progress.add_task("label")` is not ours).
TRIGGERS = ("BackgroundTasks", r"\.add_task\(\s*[A-Za-z_][\w.]*\s*[,)]")
# Tests build `BackgroundTasks()` to call a view function directly, then run
# or inspect it themselves: not reported in test code (the `test-code` setting).
IN_TEST_CODE = False


class UnattachedBackgroundTasks(Rule):
    """
    ## What it does
    Flags a `BackgroundTasks()` object that is created in code and never
    attached to a response: tasks added to it never run.

    ## Why is this bad?
    FastAPI runs the background tasks it can find: the ones of the
    `BackgroundTasks` it injected into the route (a parameter annotated
    `BackgroundTasks`), or the `background=` of the returned response. An object
    you build yourself with `BackgroundTasks()` and only call `.add_task` on is
    garbage after the response: no error, no warning, the task silently never
    runs.

    The most common form is chained: `BackgroundTasks().add_task(f)` returns
    `None`, so `background=BackgroundTasks().add_task(f)` attaches nothing.

    A helper that builds and returns a `BackgroundTasks()` is fine when its
    caller attaches it; the call is flagged when the caller drops it too, in
    this module or another of the project (reported at the caller's call).
    Handing the object to a function that only calls `.add_task` on it (in
    this module or another of the project, a route function called directly
    included) attaches it to nothing either, and is flagged: also inline
    (`schedule_welcome(BackgroundTasks(), email)`), and when the object is
    handed only into its own `add_task` (`tasks.add_task(seed, tasks)`).

    The advice fits where the object is made. In FastAPI routes and their
    helpers: inject `BackgroundTasks`. In a Starlette app, which injects
    nothing (endpoints in `Route(...)` / `Mount(...)` lists, `HTTPEndpoint`
    methods, `@app.route` before Starlette 1.0, `app.add_route`): attach it
    with `background=` on the returned response. In code that runs outside
    any request (a lifespan, startup or shutdown handler, module level):
    `await tasks()`, or run the work directly.

    ## Example
    ```python
    @app.post("/signup")
    async def signup(user: User):
        tasks = BackgroundTasks()
        tasks.add_task(send_welcome_email, user.email)
        return {"ok": True}
    ```

    ## Use instead
    ```python
    @app.post("/signup")
    async def signup(user: User, background_tasks: BackgroundTasks):
        background_tasks.add_task(send_welcome_email, user.email)
        return {"ok": True}
    ```

    ## Fix safety
    Safe, in an HTTP route:
    - `tasks = BackgroundTasks()` assigned once and only used as the receiver of
      `.add_task`: the line is removed and the route receives
      `tasks: BackgroundTasks` instead (an existing `BackgroundTasks` parameter
      is reused). The tasks now run after the response, as the author meant.
    - `BackgroundTasks().add_task(f, x)` as a statement: called on the injected
      object.
    - `helper(BackgroundTasks(), x)`: the route passes its injected object.
    - `background=BackgroundTasks().add_task(f, x)`: the call moves to a
      statement of its own just before the one that builds the response, and
      the argument (which was `None`) is dropped.

    The parameter is appended, or made keyword-only (after a `*`) when the route
    has defaults, `*args` or `**kwargs`, so no existing positional argument
    moves. A run-time `from fastapi import BackgroundTasks` is added when the
    module has none; an import only under `if TYPE_CHECKING:` does not count,
    since FastAPI could not resolve the annotation. Comments above a removed
    line move down to the next statement.

    Unsafe, for a module-level helper that builds and drops its own object:
    the helper takes a `BackgroundTasks` parameter instead and every caller
    passes the route's injected one (`audit(event, tasks=background_tasks)`).
    Offered only when every caller is a route in the same module and the
    helper is never passed around; unsafe because the helper's signature
    changes, which breaks callers in other modules.

    No fix outside FastAPI routes and their helpers (Starlette endpoints,
    lifespan and startup code), where nothing is injected. No fix when the
    object comes back from a factory (`pending = make_tasks()`),
    when it starts with tasks (`BackgroundTasks([...])`), or when the statement
    cannot be moved without changing when it runs (for example inside a
    one-line `if`).

    ## Options
    - `test-code`: what is test code, where this rule is not reported (a
      test builds `BackgroundTasks()` to call a view function directly, and
      runs or inspects it itself). By default `tests/` directories,
      `test_*.py`, `*_test.py` and `conftest.py`; `test-code = []` reports it
      there too. Every other rule still runs in test code.

    ## References
    - [FastAPI: Background Tasks](https://fastapi.tiangolo.com/tutorial/background-tasks/)
    - [Starlette: Background Tasks](https://www.starlette.io/background/)
    """

    code = "BGT001"
    name = "unattached-background-tasks"
    summary = "`BackgroundTasks()` created but never attached to a response"
    fix_availability = FIX_SOMETIMES

    MUST_FLAG = (
        """
from fastapi import BackgroundTasks, FastAPI
app = FastAPI()
@app.post("/")
def create():
    tasks = BackgroundTasks()
    tasks.add_task(print, "hi")
    return {}
""",
        """
from fastapi import BackgroundTasks
from fastapi.responses import JSONResponse
def view():
    return JSONResponse({}, background=BackgroundTasks().add_task(print))
""",
    )
    MUST_NOT_FLAG = (
        """
from fastapi import BackgroundTasks
from fastapi.responses import JSONResponse
def view():
    tasks = BackgroundTasks()
    tasks.add_task(print)
    return JSONResponse({}, background=tasks)
""",
        """
from fastapi import BackgroundTasks
async def test_view():
    tasks = BackgroundTasks()
    await view(tasks)
    assert tasks.tasks
""",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        model = context.model
        for site in model.calls:
            if model.is_background_tasks_class(site.node.func):
                yield from self._follow(model, site, "BackgroundTasks()", depth=0)
            else:
                # A factory of another module: its own check trusts its callers.
                # Asked before the object's fate, which may resolve the call
                # it is passed to (any module), where this reads only modules
                # that mention BackgroundTasks.
                factory = _factory_elsewhere(model, site)
                if factory is not None and fate_of(model, site) in (DROPPED, CHAINED):
                    yield from self._follow(model, site, f"{factory.name}()", depth=1)

    def _follow(self, model: Model, site: CallSite, what: str, depth: int) -> Iterator[Violation]:
        fate = fate_of(model, site)
        direct = depth == 0  # the `BackgroundTasks()` call itself, not a helper's
        if fate == CHAINED:
            fix = _chained_fix(model, site) or _helper_fix(model, site) if direct else None
            yield Violation(site.node, _chained_message(model, site, what), fix)
        elif fate == DROPPED:
            fix = _dropped_fix(model, site) or _helper_fix(model, site) if direct else None
            yield Violation(site.node, _dropped_message(model, site, what), fix)
        elif fate == RETURNED and depth < MAX_FACTORY_DEPTH and site.function:
            # The helper hands the object back: judge each caller in this module.
            # A helper with no caller here is called from elsewhere; trust it.
            factory = site.function
            for caller in model.calls:
                if (
                    caller.node.func is not None
                    and model.local_function(caller.node.func) is factory
                ):
                    yield from self._follow(model, caller, f"{factory.name}()", depth + 1)


# What the text of a module that makes a BackgroundTasks has: the call, or
# the class imported under another name. A route module that only annotates
# a parameter with it is not read for a factory.
MAKES_BACKGROUND_TASKS = ("BackgroundTasks(", "BackgroundTasks as ")


def _factory_elsewhere(model: Model, site: CallSite) -> Optional[FunctionInfo]:
    """The function of another module of the project that the call at `site`
    runs, when it returns a `BackgroundTasks()` it made."""
    project = model.project
    if project is None or not isinstance(site.node.func, (cst.Name, cst.Attribute)):
        return None
    with project.only_modules_mentioning(MAKES_BACKGROUND_TASKS, services=False):
        ref = model.resolve_function(site.node.func, site.function)
    if ref is None or ref.model is model:
        return None
    made = (s for s in ref.info.calls if ref.model.is_background_tasks_class(s.node.func))
    return ref.info if any(fate_of(ref.model, s) == RETURNED for s in made) else None


def _in_http_route(site: CallSite) -> bool:
    return site.function is not None and site.function.route_kind == HTTP and not site.in_lambda


def _removable_local(site: CallSite) -> Optional[str]:
    """The name of `name = BackgroundTasks()` when that line can simply go."""
    local = assigned_name(site.parent)
    if local is None or site.node.args or lone_statement(site.statement) is None:
        return None  # `BackgroundTasks([...])` starts with tasks of its own
    return local


def _dropped_fix(model: Model, site: CallSite) -> Optional[FixPlan]:
    """`tasks = BackgroundTasks()` in a route, only ever `.add_task`-ed: delete
    it and inject the parameter under the same name. `helper(BackgroundTasks())`
    in a route: pass the injected one."""
    local = _removable_local(site)
    route = site.function
    if not _in_http_route(site) or route is None:
        return None
    if local is None:
        if not isinstance(site.parent, cst.Arg):
            return None

        def rewrite_argument(module: cst.Module) -> Edits:
            edits = Edits()
            edits.replace[site.node] = cst.Name(inject_background_tasks(model, route, edits))
            return edits

        return FixPlan(SAFE, "Pass the route's injected `BackgroundTasks`", rewrite_argument)

    def rewrite(module: cst.Module) -> Edits:
        edits = Edits()
        replace_local_with_injected(model, route, site.statement, local, edits)
        return edits

    return FixPlan(SAFE, "Inject `BackgroundTasks` into the route and use it", rewrite)


def _helper_fix(model: Model, site: CallSite) -> Optional[FixPlan]:
    """A module-level helper that builds and drops its own object: it takes a
    `BackgroundTasks` parameter instead, and every caller (all of them routes
    in this module) passes the route's injected one. Unsafe: the helper's
    signature changes."""
    helper = site.function
    if helper is None or helper.route_kind or not helper.is_module_level or site.in_lambda:
        return None
    add_task = model.site_of(site.grandparent)
    chained_statement = add_task is not None and isinstance(add_task.parent, cst.Expr)
    passed = isinstance(site.parent, cst.Arg)  # `schedule(BackgroundTasks())`
    local = _removable_local(site)
    if local is None and not (chained_statement or passed):
        return None
    callers = [c for c in model.calls if model.local_function(c.node.func) is helper]
    if not callers or not all(_in_http_route(c) and c.function is not helper for c in callers):
        return None
    mentions = len(model.local_uses(model.module, helper.name))
    if mentions != len(callers):
        return None  # the helper is also passed around: its callers are unknown

    def rewrite(module: cst.Module) -> Edits:
        edits = Edits()
        if local is not None:
            name = replace_local_with_injected(model, helper, site.statement, local, edits)
        else:
            name = inject_background_tasks(model, helper, edits)
            edits.replace[site.node] = cst.Name(name)
        for caller in callers:
            assert caller.function is not None
            # The helper took the parameter already (a second object it built
            # was fixed first): its callers pass it.
            if any(bound_parameter(helper, caller.node, arg) == name for arg in caller.node.args):
                continue
            passed = inject_background_tasks(model, caller.function, edits)
            args = append_item(list(caller.node.args), keyword_argument(name, passed))
            edits.replace[caller.node] = caller.node.with_changes(args=args)
        return edits

    return FixPlan(UNSAFE, f"Pass the route's `BackgroundTasks` into `{helper.name}`", rewrite)


def _chained_fix(model: Model, site: CallSite) -> Optional[FixPlan]:
    """`BackgroundTasks().add_task(f, x)` in a route: as a statement, call
    `add_task` on the injected object; as `background=`, move the call into a
    statement before the one that builds the response and drop the argument."""
    add_task = model.site_of(site.grandparent)
    if add_task is None or not _in_http_route(add_task):
        return None
    route = add_task.function
    assert route is not None
    if isinstance(add_task.parent, cst.Expr):

        def rewrite_statement(module: cst.Module) -> Edits:
            edits = Edits()
            edits.replace[site.node] = cst.Name(inject_background_tasks(model, route, edits))
            return edits

        return FixPlan(SAFE, "Call `add_task` on the injected `BackgroundTasks`", rewrite_statement)

    arg, response = add_task.parent, add_task.grandparent
    statement = lone_statement(add_task.statement)
    if not (_is_background_keyword(arg) and isinstance(response, cst.Call) and statement):
        return None

    def rewrite_argument(module: cst.Module) -> Edits:
        edits = Edits()
        name = inject_background_tasks(model, route, edits)
        edits.before[statement].append(
            statement_with_call(add_task.node, name, model=model, anchor=statement)
        )
        edits.replace[response] = response.with_changes(args=remove_item(response.args, arg))
        return edits

    return FixPlan(
        SAFE,
        "Move the task to the injected `BackgroundTasks` and drop `background=`",
        rewrite_argument,
    )


def fate_of(model: Model, site: CallSite) -> str:
    """Where the object made by the call at `site` ends up."""
    parent, grandparent = site.parent, site.grandparent
    if isinstance(parent, cst.Attribute) and parent.value is site.node:
        is_add_task = parent.attr.value == "add_task"
        if is_add_task and isinstance(grandparent, cst.Call) and grandparent.func is parent:
            return CHAINED
        return ESCAPES
    if isinstance(parent, cst.Expr):
        return DROPPED
    if isinstance(parent, cst.Return):
        return RETURNED
    if (
        site.function is not None
        and not site.in_lambda
        and _passed_to_a_task_adder(model, site.function, parent, grandparent, 0)
    ):
        return DROPPED  # `schedule_welcome(BackgroundTasks(), email)`
    name = assigned_name(site.parent)
    if name is not None and site.function is not None and not site.in_lambda:
        return _fate_of_local(model, site.function, name)
    return ESCAPES


def _fate_of_local(model: Model, function: FunctionInfo, name: str) -> str:
    """Classify every use of the function's local `name` (the model's uses of
    it: a nested function's own `name` is another variable)."""
    if len(model.local_bindings(function.node, name)) > 1:
        return ESCAPES  # assigned again: the first object may be dropped or not
    returned = False
    for use in model.local_uses(function.node, name):
        parent, grandparent = use.parent, use.grandparent
        if isinstance(parent, cst.Attribute):
            is_call = isinstance(grandparent, cst.Call) and grandparent.func is parent
            if not (parent.attr.value == "add_task" and is_call):
                return ESCAPES  # `tasks.tasks`, `await tasks()`, ...
        elif isinstance(parent, cst.Return):
            returned = True
        elif _into_its_own_add_task(parent, grandparent, name):
            continue  # `tasks.add_task(seed, tasks)`: the task gets it, nothing attaches it
        elif not _passed_to_a_task_adder(model, function, parent, grandparent, 0):
            return ESCAPES
    return RETURNED if returned else DROPPED


def _into_its_own_add_task(
    parent: Optional[cst.CSTNode], grandparent: Optional[cst.CSTNode], name: str
) -> bool:
    """The use is an argument of `<name>.add_task(...)`."""
    if not (isinstance(parent, cst.Arg) and isinstance(grandparent, cst.Call)):
        return False
    func = grandparent.func
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value == "add_task"
        and isinstance(func.value, cst.Name)
        and func.value.value == name
    )


# How many calls deep a BackgroundTasks passed along is followed.
MAX_PASS_DEPTH = 3


def _passed_to_a_task_adder(
    model: Model,
    function: FunctionInfo,
    parent: Optional[cst.CSTNode],
    grandparent: Optional[cst.CSTNode],
    depth: int,
) -> bool:
    """The use is an argument of a call (in this module or, with a project,
    another) whose parameter only ever gets `.add_task(...)`: handing the
    object there attaches it to nothing either (a route function called
    directly included)."""
    if not (
        isinstance(parent, cst.Arg)
        and isinstance(grandparent, cst.Call)
        and parent in grandparent.args
        and depth < MAX_PASS_DEPTH
    ):
        return False
    ref = model.resolve_function(grandparent.func, function)
    param = bound_parameter(ref.info, grandparent, parent) if ref is not None else None
    if ref is None or param is None or len(ref.model.local_bindings(ref.info.node, param)) != 1:
        return False
    for use in ref.model.local_uses(ref.info.node, param):
        if isinstance(use.parent, cst.Attribute):
            is_call = isinstance(use.grandparent, cst.Call) and use.grandparent.func is use.parent
            if not (use.parent.attr.value == "add_task" and is_call):
                return False
        elif not _passed_to_a_task_adder(
            ref.model, ref.info, use.parent, use.grandparent, depth + 1
        ):
            return False
    return True


def _chained_message(model: Model, site: CallSite, what: str) -> str:
    add_task = model.site_of(site.grandparent)
    lost = "the new BackgroundTasks is discarded and its task never runs"
    if add_task is not None and _is_background_keyword(add_task.parent):
        lost = "`background=` receives None and the task never runs"
    where = _context(model, site.function)
    if where == OUTSIDE_REQUESTS:
        advice = (
            "outside a request nothing runs it: build it, add the task, then "
            "`await tasks()`, or run the work directly"
        )
    elif where == NO_INJECTION:
        advice = (
            "build it first (`tasks = BackgroundTasks()`, then `tasks.add_task(...)`) and "
            "pass `background=tasks` to the response the endpoint returns"
        )
    else:
        advice = (
            "inject `background_tasks: BackgroundTasks` and call `background_tasks.add_task(...)`"
        )
    return f"`{what}.add_task(...)` returns None, so {lost}; {advice}"


def _is_background_keyword(node: cst.CSTNode) -> bool:
    return (
        isinstance(node, cst.Arg)
        and node.keyword is not None
        and node.keyword.value == "background"
    )


def _dropped_message(model: Model, site: CallSite, what: str) -> str:
    function = site.function
    if what != "BackgroundTasks()":
        subject = f"the `BackgroundTasks` returned by `{what}`"
    elif function is not None and function.route_kind is None:
        subject = f"`BackgroundTasks()` created in `{function.name}`"
    else:
        subject = "`BackgroundTasks()` created here"
    assigned = assigned_name(site.parent) if what == "BackgroundTasks()" else None
    name = assigned or "background_tasks"
    where = _context(model, function)
    if where == OUTSIDE_REQUESTS:
        return (
            f"{subject} is never awaited, and outside a request no response runs it, so "
            f"its tasks never run; `await {name}()` once they are added, or run the work directly"
        )
    if where == NO_INJECTION:
        advice = (
            f"attach it to the response the endpoint returns "
            f"(`JSONResponse(..., background={name})`)"
        )
    elif function is not None and function.route_kind is None:
        advice = "take the route's injected `BackgroundTasks` as a parameter instead"
    else:
        advice = f"inject `{name}: BackgroundTasks` into the route instead"
    return f"{subject} is never attached to a response, so its tasks never run; {advice}"


# Where an object is made, for the advice: FastAPI code that can inject one,
# Starlette code that can only attach it to a response, or code that runs
# outside any request (module level, lifespan, startup and shutdown handlers).
INJECTION = "injection"
NO_INJECTION = "no-injection"
OUTSIDE_REQUESTS = "outside-requests"


def _context(model: Model, function: Optional[FunctionInfo]) -> str:
    scope = function
    while scope is not None:
        if scope.is_lifecycle:
            return OUTSIDE_REQUESTS
        scope = scope.parent
    if function is None:
        return OUTSIDE_REQUESTS
    if function.route_kind == STARLETTE or (
        function.route_kind is None and not model.imports_fastapi
    ):
        return NO_INJECTION
    return INJECTION
