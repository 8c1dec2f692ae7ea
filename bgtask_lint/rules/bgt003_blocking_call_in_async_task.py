from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.blocking import (
    BlockingPath,
    awaited_here,
    blocking_paths,
    tasks_run_here,
    used_only_as_tasks,
)
from bgtask_lint.analysis.model import CallSite, FunctionInfo, FunctionRef, Model, TaskSubmission
from bgtask_lint.analysis.positions import node_ranges
from bgtask_lint.diagnostic import SAFE, UNSAFE
from bgtask_lint.rules.base import (
    FIX_SOMETIMES,
    FixPlan,
    Rule,
    RuleContext,
    Violation,
    one_per_node,
)
from bgtask_lint.rules.rewrite import Edits, module_reference
from bgtask_lint.text.source import shown_path

# How many calls deep a blocking call is looked for below the task.


# Tasks are submitted where `BackgroundTask(s)` is named; a module that only
# defines a task submitted elsewhere is checked all the same (see run/runner.py).
TRIGGERS = ("BackgroundTask",)


class BlockingCallInAsyncTask(Rule):
    """
    ## What it does
    Flags blocking calls — `time.sleep`, `requests`, sync database drivers,
    `open`, `smtplib`, `subprocess`, PDF renderers (`md2pdf`, `pdfkit`) —
    made by an `async def` function that runs
    as a background task (passed to `add_task`, `BackgroundTask(...)` or
    `BackgroundTasks([...])`), directly or through the helpers it calls and
    the async helpers it awaits, in any module of the project. A task or
    helper can be a method of a module-level instance (`notifier =
    Notifier(url)` in another module, then `add_task(notifier.send, ...)` or
    `await notifier.send(...)`).

    ## Why is this bad?
    Starlette awaits an `async def` task on the event loop, after the response
    is sent. A blocking call inside it stops the loop: every other request the
    process is serving waits until the task's call returns. A plain `def` task
    does not have this problem: Starlette runs it in the thread pool.

    The blocking call is often one or two helpers deep. The message shows the
    whole chain, for example ``notify → _send → smtplib.SMTP``. It is reported
    where the loop blocks, in the task's own module, whether the route that
    submits the task or the task's module is checked (see "One finding, one
    place" in the README).

    Methods of sync clients and handles block too, wherever the object came
    from: a sync SQLAlchemy `Session` (`session.execute`, `db.query`,
    `commit`; the most common blocking call in production tasks), a
    `requests.Session`, an `httpx.Client`, boto3 clients and resources, Redis,
    pymongo, sync OpenAI / Anthropic clients, DB-API connections and cursors,
    `smtplib.SMTP`, `pathlib.Path` reads and writes, sockets. The object is
    known from its constructor or factory (`SessionLocal()` of a
    `sessionmaker`), an annotation (`db: Session`), a module global
    (`s3 = boto3.client("s3")`), a `self` attribute, or the dependency whose
    value the route hands to the task.

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

    Blocking calls inside an awaited async helper, in the task's module or
    another, are reported there (with the `asyncio.sleep` fix only), whichever
    file on the chain is checked.

    ## Options
    - `extra-blocking-calls`: qualified names of your own blocking functions,
      for example `["myapp.mail.send_sync"]`, and methods of types:
      `"myapp.clients.Legacy.fetch"`, or `"myapp.clients.Legacy.*"` for all.

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
        # Each blocking call once, with every file whose routes lead to it.
        found: list[Violation] = []
        uses = tasks_run_here(model)
        only_tasks = used_only_as_tasks(model, uses)
        for task, submission, sources in uses:
            if not task.info.is_async:
                continue
            paths = list(
                blocking_paths(task, context.blocking_calls, context.options.max_call_depth)
            )
            if not any(path.model is model for path in paths):
                continue  # nothing reported here: no place to compute
            queued = _queued(model, task, submission, sources)
            # A task whose sleeps get `await asyncio.sleep` must stay async.
            can_become_def = (
                task.info in only_tasks
                and not task.info.awaits
                and not any(p.is_sleep_statement and p.site.function is task.info for p in paths)
            )
            for path in paths:
                # Reported once, where the loop blocks (the canonical place):
                # a task of another module is reported by that module's check.
                node = path.site.node
                if path.model is not model:
                    continue
                fix = None
                if path.is_sleep_statement:
                    fix = _asyncio_sleep_fix(model, path.site)
                elif can_become_def and path.site.function is task.info:
                    fix = _def_fix(task.info)
                message = _message(task.info.display_name, path.chain)
                related = (*_related(path), *queued)
                found.append(Violation(node, message, fix, sources=sources, related=related))
        # This module's async helpers that tasks of other modules await.
        max_depth = context.options.max_call_depth
        for helper, awaited, files in awaited_here(model):
            for path in blocking_paths(helper, context.blocking_calls, max_depth - awaited.depth):
                if path.model is not model:
                    continue  # in yet another module: reported there
                fix = _asyncio_sleep_fix(model, path.site) if path.is_sleep_statement else None
                chain = (*awaited.chain[:-1], *path.chain)
                message = _message(awaited.chain[0], chain)
                queued = _at(
                    model, helper.info.node.name, f"{_tasks_of(awaited.chain)}{_in(model, files)}"
                )
                related = (*_related(path), *queued)
                found.append(
                    Violation(path.site.node, message, fix, sources=files, related=related)
                )
        yield from one_per_node(found)


def _queued(
    model: Model, task: FunctionRef, submission: Optional[TaskSubmission], sources: frozenset[str]
) -> tuple[tuple[str, int, int, str], ...]:
    """Where the task is queued: the `add_task` of this module, or the task's
    definition, naming the files that queue it. Several tasks or routes
    reaching one blocking call each keep theirs (one_per_node merges them)."""
    name = f"`{task.info.display_name}`"
    if submission is not None:
        function = submission.site.function
        by = (
            f"`{function.display_name}` queues {name} here"
            if function
            else f"{name} is queued here"
        )
        return _at(model, submission.site.node, by)
    return _at(task.model, task.info.node.name, f"{name} is queued as a task{_in(model, sources)}")


def _tasks_of(chain: tuple[str, ...]) -> str:
    return f"awaited by task `{chain[0]}`" + (
        f" through {', '.join(chain[1:-1])}" if chain[2:] else ""
    )


def _in(model: Model, files: frozenset[str]) -> str:
    root = model.project.root if model.project else None
    return f" in {', '.join(sorted(shown_path(f, root) for f in files))}" if files else ""


def _at(model: Model, node: cst.CSTNode, what: str) -> tuple[tuple[str, int, int, str], ...]:
    start = node_ranges(model.module, [node], model.parsed_text)[node].start
    return ((model.path, start.line, start.column + 1, what),)


def _related(path: BlockingPath) -> tuple[tuple[str, int, int, str], ...]:
    """The blocking call at the end of the chain, when a helper makes it."""
    where, call = path.blocking
    if call is path.site.node:
        return ()
    start = node_ranges(where.module, [call], where.parsed_text)[call].start
    return ((where.path, start.line, start.column + 1, f"`{path.chain[-1]}` blocks here"),)


def _message(task: str, chain: tuple[str, ...]) -> str:
    return (
        f"async task `{task}` blocks the event loop: {' → '.join(chain)}; "
        "make the task a `def` (it then runs in the thread pool) or use a non-blocking call"
    )


def _asyncio_sleep_fix(model: Model, site: CallSite) -> FixPlan:
    def rewrite(module: cst.Module) -> Edits:
        edits = Edits()
        asyncio = module_reference(model, edits, "asyncio")
        sleep = cst.parse_expression(f"{asyncio}.sleep")
        edits.replace[site.node] = cst.Await(expression=site.node.with_changes(func=sleep))
        return edits

    return FixPlan(SAFE, "Use `await asyncio.sleep(...)`", rewrite)


def _def_fix(task: FunctionInfo) -> FixPlan:
    def rewrite(module: cst.Module) -> Edits:
        edits = Edits()
        edits.replace[task.node] = task.node.with_changes(asynchronous=None)
        return edits

    message = f"Make `{task.name}` a `def` task (it then runs in the thread pool)"
    return FixPlan(UNSAFE, message, rewrite)
