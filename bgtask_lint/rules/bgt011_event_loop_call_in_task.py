from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.blocking import blocking_paths, tasks_run_here
from bgtask_lint.analysis.model import CallSite, Model, TaskSubmission
from bgtask_lint.diagnostic import SAFE, UNSAFE
from bgtask_lint.rules.base import (
    FIX_SOMETIMES,
    FixPlan,
    Rule,
    RuleContext,
    Violation,
    one_per_node,
)
from bgtask_lint.rules.rewrite import Edits

# A file without these words cannot have a finding of this rule (the text screen).
TRIGGERS = ("BackgroundTask",)

# Functions that need the running event loop of the thread they are called in:
# Starlette calls a sync task in a worker thread, which has none.
NEEDS_A_RUNNING_LOOP = frozenset({"asyncio.create_task", "asyncio.ensure_future"})
# Functions that run a coroutine on an event loop of their own.
RUN_THEIR_OWN_LOOP = frozenset({"asyncio.run", "asyncio.runners.run"})
# Methods of an event loop object (`loop = asyncio.new_event_loop()`).
LOOP_METHODS = {"create_task": True, "run_until_complete": False}  # needs a running loop?


class EventLoopCallInTask(Rule):
    """
    ## What it does
    Flags event-loop calls handed to a background task as its function —
    `add_task(asyncio.create_task, coro())`, `add_task(asyncio.ensure_future,
    coro())`, `add_task(asyncio.run, coro())`, `add_task(loop.run_until_complete,
    coro())`, `add_task(lambda: asyncio.run(send(x)))`, the same in
    `BackgroundTask(...)` — and `asyncio.run(...)` / `loop.run_until_complete(...)`
    called inside an `async def` task, directly or through the helpers it calls.

    ## Why is this bad?
    Starlette runs a task's function itself: a sync callable in a worker
    thread, an `async def` one awaited on the app's event loop. So:
    - `asyncio.create_task` and `asyncio.ensure_future` run in a worker thread
      that has no running event loop: they raise, the coroutine never runs, and
      the tasks queued after it are skipped. The client already got its 200.
    - `asyncio.run` and `loop.run_until_complete` run the coroutine on a new
      event loop in a worker thread, holding the thread for its whole
      duration; anything bound to the app's loop (a client created in the
      lifespan, a connection pool) fails there with "attached to a different
      loop".
    - Inside an `async def` task, which already runs on the loop,
      `asyncio.run` raises ("cannot be called from a running event loop") and
      the tasks after it are skipped.

    ## Example
    ```python
    @app.post("/orders")
    async def create(order: Order, background_tasks: BackgroundTasks):
        background_tasks.add_task(asyncio.create_task, notify(order.id))
    ```

    ## Use instead
    ```python
    @app.post("/orders")
    async def create(order: Order, background_tasks: BackgroundTasks):
        background_tasks.add_task(notify, order.id)  # awaited on the app's loop
    ```

    ## Fix safety
    `add_task(asyncio.create_task, f(x))` becomes `add_task(f, x)`: safe for
    `create_task` and `ensure_future`, whose coroutine never ran. For
    `asyncio.run` and `run_until_complete` the work moves from a worker thread
    onto the app's event loop, where a blocking call in it would now stall the
    server (see BGT003): safe when `f` is an `async def` of the project in which
    BGT003's analysis finds no blocking call, unsafe otherwise. Unsafe for a
    lambda: its arguments are then evaluated
    when the task is queued, not when it runs. No fix inside an `async def`
    task (`await` the coroutine instead).

    ## References
    - [Starlette: Background Tasks](https://www.starlette.io/background/)
    - [Python: asyncio.run](https://docs.python.org/3/library/asyncio-runner.html#asyncio.run)
    """

    code = "BGT011"
    name = "event-loop-call-in-task"
    summary = "Event-loop call (`asyncio.create_task`, `asyncio.run`...) handed to or run in a task"
    fix_availability = FIX_SOMETIMES

    MUST_FLAG = (
        """
import asyncio
from fastapi import BackgroundTasks
async def notify(x): ...
def route(bt: BackgroundTasks):
    bt.add_task(asyncio.create_task, notify(1))
""",
        """
import asyncio
from fastapi import BackgroundTasks
async def notify(x): ...
async def task():
    asyncio.run(notify(1))
def route(bt: BackgroundTasks):
    bt.add_task(task)
""",
    )
    MUST_NOT_FLAG = (
        """
import asyncio
from fastapi import BackgroundTasks
async def notify(x): ...
def route(bt: BackgroundTasks):
    bt.add_task(notify, 1)
""",
        """
import asyncio
async def notify(x): ...
def route(scheduler):
    scheduler.add_task(asyncio.create_task, notify(1))
""",
        """
import asyncio
from fastapi import BackgroundTasks
async def notify(x): ...
def task():
    asyncio.run(notify(1))
def route(bt: BackgroundTasks):
    bt.add_task(task)
""",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        model = context.model
        for submission in model.task_submissions():
            arg = submission.callable_arg
            if arg is None:
                continue
            if isinstance(arg.value, cst.Lambda):
                yield from _in_lambda(model, submission, arg.value)
                continue
            found = _event_loop_function(model, arg.value)
            if found is not None:
                name, never_ran = found
                fix = _pass_the_coroutine_function(model, submission, never_ran, context)
                yield Violation(arg.value, _handed_message(name, never_ran), fix)
        yield from _inside_async_tasks(model, context.options.max_call_depth)


def _event_loop_function(model: Model, expr: cst.BaseExpression) -> Optional[tuple[str, bool]]:
    """(how to name it, whether it needs a running loop) for an event-loop
    function or method named by `expr` (not called)."""
    qualname = model.qualified_name(expr)
    if qualname in NEEDS_A_RUNNING_LOOP:
        return qualname, True
    if qualname in RUN_THEIR_OWN_LOOP:
        return "asyncio.run", False
    if isinstance(expr, cst.Attribute) and expr.attr.value in LOOP_METHODS:
        owner = expr.value
        if isinstance(owner, cst.Name) and "loop" in owner.value.lower():
            return f"{owner.value}.{expr.attr.value}", LOOP_METHODS[expr.attr.value]
        if isinstance(owner, cst.Call) and (model.qualified_name(owner.func) or "").startswith(
            "asyncio."
        ):
            return f"{model.module.code_for_node(owner)}.{expr.attr.value}", LOOP_METHODS[
                expr.attr.value
            ]
    return None


def _handed_message(name: str, never_ran: bool) -> str:
    if never_ran:
        consequence = (
            "Starlette calls it in a worker thread, which has no running event loop: it "
            "raises, the coroutine never runs and the tasks after it are skipped"
        )
    else:
        consequence = (
            "it runs the coroutine on a new event loop in a worker thread, where anything "
            "bound to the app's loop fails"
        )
    return (
        f"`{name}` handed to a background task: {consequence}; pass the coroutine "
        "function and its arguments: `add_task(f, ...)`"
    )


def _coroutine_call(args: list[cst.Arg]) -> Optional[cst.Call]:
    """The `f(x)` of `[..., f(x)]` when it is the only argument left."""
    if len(args) != 1 or args[0].keyword is not None or args[0].star:
        return None
    value = args[0].value
    if isinstance(value, cst.Call) and isinstance(value.func, (cst.Name, cst.Attribute)):
        return value
    return None


def _pass_the_coroutine_function(
    model: Model, submission: TaskSubmission, never_ran: bool, context: RuleContext
) -> Optional[FixPlan]:
    """`add_task(asyncio.create_task, f(x, k=1))` -> `add_task(f, x, k=1)`."""
    call = submission.site.node
    index = next(i for i, a in enumerate(call.args) if a is submission.callable_arg)
    coroutine = _coroutine_call(list(call.args[index + 1 :]))
    if coroutine is None or submission.callable_arg is None:
        return None
    safe = never_ran or _runs_free_on_the_loop(model, coroutine, submission, context)
    return _rewrite_fix(call, index, coroutine, SAFE if safe else UNSAFE)


def _runs_free_on_the_loop(
    model: Model, coroutine: cst.Call, submission: TaskSubmission, context: RuleContext
) -> bool:
    """`f` is an `async def` of the project that neither blocks (BGT003's walk
    finds no blocking call) nor starts a loop of its own: moving it from a
    worker thread's loop onto the app's changes nothing but the loop."""
    ref = model.resolve_function(coroutine.func, submission.site.function)
    if ref is None or not ref.info.is_async:
        return False
    depth = context.options.max_call_depth
    if any(True for _ in blocking_paths(ref, context.blocking_calls, depth)):
        return False
    return not any(True for _ in blocking_paths(ref, frozenset(), depth, _runs_a_loop))


def _rewrite_fix(call: cst.Call, index: int, coroutine: cst.Call, safety: str) -> FixPlan:
    function = cst.Arg(coroutine.func)
    if coroutine.args:
        function = function.with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
    arguments = [*call.args[:index], function, *coroutine.args]

    def rewrite(module: cst.Module) -> Edits:
        edits = Edits()
        edits.replace[call] = call.with_changes(args=arguments)
        return edits

    name = cst.Module([]).code_for_node(coroutine.func)
    return FixPlan(safety, f"Pass `{name}` and its arguments to the task", rewrite)


def _in_lambda(
    model: Model, submission: TaskSubmission, function: cst.Lambda
) -> Iterator[Violation]:
    """`add_task(lambda: asyncio.run(f(x)))`."""
    body = function.body
    if function.params.params or not isinstance(body, cst.Call):
        return
    found = _event_loop_function(model, body.func)
    if found is None:
        return
    name, never_ran = found
    fix = None
    coroutine = _coroutine_call(list(body.args))
    call = submission.site.node
    index = next(i for i, a in enumerate(call.args) if a is submission.callable_arg)
    if coroutine is not None and len(call.args) == index + 1:
        fix = _rewrite_fix(call, index, coroutine, UNSAFE)
    yield Violation(body, _handed_message(name, never_ran), fix)


def _runs_a_loop(model: Model, site: CallSite) -> Optional[str]:
    """`asyncio.run(...)` / `<loop>.run_until_complete(...)`: a call that
    starts an event loop, which cannot be done on one that runs."""
    func = site.node.func
    if model.qualified_name(func) in RUN_THEIR_OWN_LOOP:
        return "asyncio.run"
    if isinstance(func, cst.Attribute) and func.attr.value == "run_until_complete":
        return f"{model.module.code_for_node(func.value)}.run_until_complete"
    return None


def _inside_async_tasks(model: Model, max_depth: int) -> Iterator[Violation]:
    """`asyncio.run(...)` inside an `async def` task, or a sync helper it calls,
    reported where the task's loop makes the call (in this module)."""
    found: list[Violation] = []
    for task, _, sources in tasks_run_here(model):
        if not task.info.is_async:
            continue
        for path in blocking_paths(task, frozenset(), max_depth, _runs_a_loop):
            node = path.site.node
            if path.model is not model:
                continue
            chain = " → ".join(path.chain)
            message = (
                f"async task `{task.info.display_name}` starts an event loop while its own "
                f"runs: {chain} raises (the loop is already running) and the tasks after "
                "it are skipped; `await` the coroutine instead"
            )
            found.append(Violation(node, message, sources=sources))
    yield from one_per_node(found)
