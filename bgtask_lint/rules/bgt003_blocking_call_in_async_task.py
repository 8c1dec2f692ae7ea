from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.model import CallSite, FunctionInfo, FunctionRef, Model, TaskSubmission
from bgtask_lint.analysis.positions import node_ranges
from bgtask_lint.analysis.provenance import held_types, origins_of
from bgtask_lint.config.blocking import blocks
from bgtask_lint.config.options import DEFAULT_MAX_CALL_DEPTH
from bgtask_lint.diagnostic import SAFE, UNSAFE
from bgtask_lint.rules.base import FIX_SOMETIMES, FixPlan, Rule, RuleContext, Violation
from bgtask_lint.rules.rewrite import Edits, module_reference

# How many calls deep a blocking call is looked for below the task.


# Tasks are submitted where `BackgroundTask(s)` is named; a module that only
# defines a task submitted elsewhere is checked all the same (see run/runner.py).
TRIGGERS = ("BackgroundTask",)


@dataclass(frozen=True)
class BlockingPath:
    """A blocking call reached from an async task, and the call to report."""

    model: Model  # the module holding `site`
    site: CallSite  # the call inside an async function (it runs on the loop)
    chain: tuple[str, ...]  # task → helper → ... → blocking callable
    direct: bool  # the reported call is the blocking call itself
    # The blocking call at the end of the chain, and the module it is in.
    blocking: tuple[Model, cst.Call]

    @property
    def is_sleep_statement(self) -> bool:
        """`time.sleep(x)` as a statement of the async function's own body:
        `await asyncio.sleep(x)` fits (not in a nested class body)."""
        return (
            self.direct
            and self.chain[-1] == "time.sleep"
            and isinstance(self.site.parent, cst.Expr)
            and self.site.in_function_body
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

    Blocking calls inside an awaited async helper are reported there, without a
    fix.

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
        reported: dict[cst.CSTNode, Violation] = {}
        uses = _task_uses(model)
        only_tasks = _used_only_as_tasks(model, [ref for ref, _, _ in uses])
        for task, _, sources in uses:
            if not task.info.is_async:
                continue
            paths = list(
                blocking_paths(task, context.blocking_calls, context.options.max_call_depth)
            )
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
                if node in reported:
                    known = reported[node]
                    reported[node] = replace(known, sources=known.sources | sources)
                    continue
                fix = None
                if path.is_sleep_statement:
                    fix = _asyncio_sleep_fix(model, path.site)
                elif can_become_def and path.site.function is task.info:
                    fix = _def_fix(task.info)
                reported[node] = Violation(
                    node, _message(task.info, path), fix, sources=sources, related=_related(path)
                )
        yield from reported.values()


def _task_uses(model: Model) -> list[tuple[FunctionRef, Optional[TaskSubmission], frozenset[str]]]:
    """The tasks this module submits (with the submission), and the functions
    of this module that other files of the project submit (with those files)."""
    uses: list[tuple[FunctionRef, Optional[TaskSubmission], frozenset[str]]] = []
    for submission in model.task_submissions():
        if submission.callable_arg is not None:
            ref = model.task_function(submission.callable_arg.value, submission.site.function)
            if ref is not None:
                uses.append((ref, submission, frozenset()))
    if model.project is not None:
        for key in sorted(model.project.task_keys(model.path)):
            info = model.function_by_key(key)
            if info is not None:
                sources = frozenset(model.project.sources_of(model.path, key)) - {model.path}
                uses.append((FunctionRef(model, info), None, sources))
    return uses


def _related(path: BlockingPath) -> tuple[tuple[str, int, int, str], ...]:
    """The blocking call at the end of the chain, when a helper makes it."""
    where, call = path.blocking
    if call is path.site.node:
        return ()
    start = node_ranges(where.module, [call])[call].start
    return ((where.path, start.line, start.column + 1, f"`{path.chain[-1]}` blocks here"),)


def _message(task: FunctionInfo, path: BlockingPath) -> str:
    return (
        f"async task `{task.display_name}` blocks the event loop: {' → '.join(path.chain)}; "
        "make the task a `def` (it then runs in the thread pool) or use a non-blocking call"
    )


def _used_only_as_tasks(model: Model, tasks: list[FunctionRef]) -> set[FunctionInfo]:
    """Tasks of this module whose every mention in it is as a task: turning one
    into a `def` cannot break an `await` elsewhere in this module (other modules
    may still await it, so the fix is unsafe)."""
    submitted = Counter(ref.info for ref in tasks if ref.model is model)
    candidates = {info.name: info for info in submitted if info.is_async and info.is_module_level}
    if not candidates:
        return set()
    return {
        info
        for name, info in candidates.items()
        if len(model.local_uses(model.module, name)) <= submitted[info]
    }


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


def blocking_paths(
    task: FunctionRef, blocking: frozenset[str], max_depth: int = DEFAULT_MAX_CALL_DEPTH
) -> Iterator[BlockingPath]:
    """Every blocking call reachable from async `task` on the event loop, across
    the modules of the project: through sync helpers called directly and async
    helpers awaited, `max_depth` calls deep at most; cycles end a branch."""
    seen_async: set[FunctionInfo] = set()

    def walk(ref: FunctionRef, chain: tuple[str, ...], depth: int) -> Iterator[BlockingPath]:
        seen_async.add(ref.info)
        model = ref.model
        for site in ref.info.calls:
            callee_name = _blocking_name(model, site, blocking)
            if callee_name:
                yield BlockingPath(model, site, (*chain, callee_name), True, (model, site.node))
                continue
            if depth >= max_depth:
                continue
            helper = model.resolve_function(site.node.func, site.function)
            if helper is None:
                continue
            if helper.info.is_async:
                # An async helper runs on the loop too: report inside it.
                if helper.info not in seen_async:
                    yield from walk(helper, (*chain, helper.info.display_name), depth + 1)
                continue
            below = _sync_chain(helper, blocking, depth + 1, max_depth, set())
            if below:
                names, final = below
                yield BlockingPath(model, site, (*chain, *names), False, final)

    yield from walk(task, (task.info.display_name,), 0)


def _sync_chain(
    ref: FunctionRef,
    blocking: frozenset[str],
    depth: int,
    max_depth: int,
    seen: set[FunctionInfo],
) -> Optional[tuple[tuple[str, ...], tuple[Model, cst.Call]]]:
    """The first blocking chain below a sync helper, if any; cycles end it."""
    seen.add(ref.info)
    model = ref.model
    for site in ref.info.calls:
        callee_name = _blocking_name(model, site, blocking)
        if callee_name:
            return (ref.info.display_name, callee_name), (model, site.node)
        if depth >= max_depth:
            continue
        helper = model.resolve_function(site.node.func, site.function)
        if helper is None or helper.info.is_async or helper.info in seen:
            continue
        below = _sync_chain(helper, blocking, depth + 1, max_depth, seen)
        if below:
            names, final = below
            return (ref.info.display_name, *names), final
    return None


def _blocking_name(model: Model, site: CallSite, blocking: frozenset[str]) -> Optional[str]:
    """How the chain names the call when it blocks: its qualified name, or the
    type and method (`sqlalchemy.orm.Session.execute`) of an object of a
    known type, wherever the object came from."""
    func = site.node.func
    qualname = model.qualified_name(func)
    if qualname in blocking:
        return qualname.removeprefix("builtins.") if qualname else None
    if not isinstance(func, cst.Attribute):
        return None
    # `session.execute(...)`, and `client.chat.completions.create(...)` for
    # clients whose every attribute is remote.
    path, owner, direct = func.attr.value, func.value, True
    while True:
        for type_name in held_types(origins_of(model, owner, site.function)):
            if blocks(type_name, path if direct else "*", blocking):
                return f"{type_name.removeprefix('builtins.')}.{path}"
        if not isinstance(owner, cst.Attribute) or _is_self(owner.value):
            return None
        path, owner, direct = f"{owner.attr.value}.{path}", owner.value, False


def _is_self(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "self"
