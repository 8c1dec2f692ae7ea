from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from bgtask_lint.model import CallSite, FunctionInfo, Model
from bgtask_lint.rule import FIX_NEVER, Rule, RuleContext, Violation

# How many calls deep a blocking call is looked for below the task.
MAX_DEPTH = 4


@dataclass(frozen=True)
class BlockingPath:
    """A blocking call reached from an async task, and the call to report."""

    report: cst.Call  # the call inside an async function (it runs on the loop)
    chain: tuple[str, ...]  # task → helper → ... → blocking callable


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
    Detection only in this version.

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
    fix_availability = FIX_NEVER

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
        for submission in model.task_submissions():
            if submission.callable_arg is None:
                continue
            task = model.task_function(submission.callable_arg.value)
            if task is None or not task.is_async:
                continue
            for path in blocking_paths(model, task, context.blocking_calls):
                if path.report in reported:
                    continue
                reported.add(path.report)
                yield Violation(
                    path.report,
                    f"async task `{task.name}` blocks the event loop: "
                    f"{' → '.join(path.chain)}; make the task a `def` (it then runs "
                    "in the thread pool) or use a non-blocking call",
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
                yield BlockingPath(site.node, (*chain, callee_name))
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
                    yield BlockingPath(site.node, (*chain, *sync_chain))

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
