from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from bgtask_lint.diagnostic import SAFE, UNSAFE
from bgtask_lint.model import CallSite, FunctionInfo, Model
from bgtask_lint.rewrite import Edits, module_reference
from bgtask_lint.rule import FIX_SOMETIMES, FixPlan, Rule, RuleContext, Violation
from bgtask_lint.walk import is_load, nodes_with_parents

# How many calls deep a blocking call is looked for below the task.
MAX_DEPTH = 4


@dataclass(frozen=True)
class BlockingPath:
    """A blocking call reached from an async task, and the call to report."""

    site: CallSite  # the call inside an async function (it runs on the loop)
    chain: tuple[str, ...]  # task → helper → ... → blocking callable
    direct: bool  # the reported call is the blocking call itself

    @property
    def is_sleep_statement(self) -> bool:
        """`time.sleep(x)` alone on its line: `await asyncio.sleep(x)` fits."""
        return (
            self.direct
            and self.chain[-1] == "time.sleep"
            and isinstance(self.site.parent, cst.Expr)
        )


class BlockingCallInAsyncTask(Rule):
    """
    ## What it does
    Flags blocking calls — `time.sleep`, `requests`, sync database drivers,
    `open`, `smtplib`, `subprocess` — made by an `async def` function that runs
    as a background task (passed to `add_task`, `BackgroundTask(...)` or
    `BackgroundTasks([...])`), directly or through helpers defined in the same
    module.

    ## Why is this bad?
    Starlette awaits an `async def` task on the event loop, after the response
    is sent. A blocking call inside it stops the loop: every other request the
    process is serving waits until the task's call returns. A plain `def` task
    does not have this problem: Starlette runs it in the thread pool.

    The blocking call is often one or two helpers deep. The message shows the
    whole chain, for example ``notify → _send → smtplib.SMTP``.

    Not flagged: a `def` task with blocking calls, and a blocking callable
    passed directly (`add_task(requests.post, url)`): both run in the thread
    pool. Calls inside a lambda or nested function that is handed to
    `run_in_threadpool` / `asyncio.to_thread` are not on the loop either.

    ## Example
    ```python
    async def send_report(email: str):
        time.sleep(5)
        requests.post(REPORT_URL, json={"to": email})

    @app.post("/report")
    async def report(email: str, background_tasks: BackgroundTasks):
        background_tasks.add_task(send_report, email)
    ```

    ## Use instead
    ```python
    def send_report(email: str):  # runs in the thread pool
        time.sleep(5)
        requests.post(REPORT_URL, json={"to": email})
    ```
    or keep `async def` and use `await asyncio.sleep(5)` and an async client.

    ## Fix safety
    Safe: `time.sleep(x)` alone on its line becomes `await asyncio.sleep(x)`
    (adding `import asyncio`): the same pause, without holding the loop.

    Unsafe: `async def` becomes `def` when the task awaits nothing and the
    module mentions it only as a task. Starlette then runs it in the thread
    pool. Unsafe because code in other modules may still `await` it. Not
    offered while the task has a `time.sleep` that the safe fix turns into an
    `await`.

    Blocking calls inside an awaited async helper are reported there, without a
    fix.

    ## Options
    - `extra-blocking-calls`: qualified names of your own blocking functions,
      for example `["myapp.mail.send_sync"]`.

    ## References
    - [FastAPI: Concurrency and async / await](https://fastapi.tiangolo.com/async/)
    - [Starlette: Background Tasks](https://www.starlette.io/background/)
    """

    code = "BGT003"
    name = "blocking-call-in-async-task"
    summary = "Blocking call in an `async def` background task stalls the event loop"
    fix_availability = FIX_SOMETIMES

    MUST_FLAG = (
        """
import time
from fastapi import BackgroundTasks
async def task():
    time.sleep(1)
def route(bt: BackgroundTasks):
    bt.add_task(task)
""",
        """
import requests
from starlette.background import BackgroundTask
def _post():
    requests.post("http://x")
async def task():
    _post()
def route():
    return BackgroundTask(task)
""",
    )
    MUST_NOT_FLAG = (
        """
import time
from fastapi import BackgroundTasks
def task():
    time.sleep(1)
def route(bt: BackgroundTasks):
    bt.add_task(task)
""",
        """
import requests
from fastapi import BackgroundTasks
def route(bt: BackgroundTasks):
    bt.add_task(requests.post, "http://x")
""",
        """
import time
async def task():
    time.sleep(1)
def route(queue):
    queue.add_task(task)
""",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        model = context.model
        reported: set[cst.Call] = set()
        tasks = Counter(
            model.task_function(s.callable_arg.value)
            for s in model.task_submissions()
            if s.callable_arg is not None
        )
        only_tasks = _used_only_as_tasks(model, tasks)
        for task in tasks:
            if task is None or not task.is_async:
                continue
            paths = list(blocking_paths(model, task, context.blocking_calls))
            # A task whose sleeps get `await asyncio.sleep` must stay async.
            can_become_def = (
                task in only_tasks
                and not task.awaits
                and not any(p.is_sleep_statement and p.site.function is task for p in paths)
            )
            for path in paths:
                if path.site.node in reported:
                    continue
                reported.add(path.site.node)
                if path.is_sleep_statement:
                    fix = _asyncio_sleep_fix(model, path.site)
                elif can_become_def and path.site.function is task:
                    fix = _def_fix(task)
                else:
                    fix = None
                yield Violation(
                    path.site.node,
                    f"async task `{task.name}` blocks the event loop: "
                    f"{' → '.join(path.chain)}; make the task a `def` (it then runs "
                    "in the thread pool) or use a non-blocking call",
                    fix,
                )


def _used_only_as_tasks(
    model: Model, submissions: Counter[Optional[FunctionInfo]]
) -> set[FunctionInfo]:
    """Tasks whose every mention in the module is as a task: turning one into a
    `def` cannot break an `await` elsewhere in this module (other modules may
    still await it, so the fix is unsafe)."""
    candidates = {task.name: task for task in submissions if task is not None and task.is_async}
    if not candidates:
        return set()
    mentions: Counter[str] = Counter(
        node.value
        for node, parent, _ in nodes_with_parents(model.module)
        if isinstance(node, cst.Name) and node.value in candidates and is_load(node, parent)
    )
    return {task for name, task in candidates.items() if mentions[name] == submissions[task]}


def _asyncio_sleep_fix(model: Model, site: CallSite) -> FixPlan:
    def rewrite(module: cst.Module) -> cst.Module:
        edits = Edits()
        asyncio = module_reference(model, edits, "asyncio")
        sleep = cst.parse_expression(f"{asyncio}.sleep")
        edits.replace[site.node] = cst.Await(expression=site.node.with_changes(func=sleep))
        return edits.apply(module)

    return FixPlan(SAFE, "Use `await asyncio.sleep(...)`", rewrite)


def _def_fix(task: FunctionInfo) -> FixPlan:
    def rewrite(module: cst.Module) -> cst.Module:
        edits = Edits()
        edits.replace[task.node] = task.node.with_changes(asynchronous=None)
        return edits.apply(module)

    return FixPlan(
        UNSAFE, f"Make `{task.name}` a `def` task (it then runs in the thread pool)", rewrite
    )


def blocking_paths(
    model: Model, task: FunctionInfo, blocking: frozenset[str]
) -> Iterator[BlockingPath]:
    """Every blocking call reachable from async `task` on the event loop."""
    seen_async: set[FunctionInfo] = set()

    def walk(function: FunctionInfo, chain: tuple[str, ...], depth: int) -> Iterator[BlockingPath]:
        seen_async.add(function)
        for site in function.calls:
            callee_name = _blocking_name(model, site, blocking)
            if callee_name:
                yield BlockingPath(site, (*chain, callee_name), direct=True)
                continue
            helper = model.local_function(site.node.func)
            if helper is None or depth >= MAX_DEPTH:
                continue
            if helper.is_async:
                # An async helper runs on the loop too: report inside it.
                if helper not in seen_async:
                    yield from walk(helper, (*chain, helper.name), depth + 1)
            else:
                sync_chain = _sync_chain(model, helper, blocking, depth + 1, set())
                if sync_chain:
                    yield BlockingPath(site, (*chain, *sync_chain), direct=False)

    yield from walk(task, (task.name,), 0)


def _sync_chain(
    model: Model,
    function: FunctionInfo,
    blocking: frozenset[str],
    depth: int,
    seen: set[FunctionInfo],
) -> Optional[tuple[str, ...]]:
    """The first blocking chain below a sync helper, if any; cycles end it."""
    seen.add(function)
    for site in function.calls:
        callee_name = _blocking_name(model, site, blocking)
        if callee_name:
            return (function.name, callee_name)
        helper = model.local_function(site.node.func)
        if helper is None or helper.is_async or helper in seen or depth >= MAX_DEPTH:
            continue
        below = _sync_chain(model, helper, blocking, depth + 1, seen)
        if below:
            return (function.name, *below)
    return None


def _blocking_name(model: Model, site: CallSite, blocking: frozenset[str]) -> Optional[str]:
    qualname = model.qualified_name(site.node.func)
    if qualname in blocking:
        return qualname.removeprefix("builtins.") if qualname else None
    return None
