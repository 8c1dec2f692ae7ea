"""A pytest plugin that fails a test when its background work is lost,
dropped or blocks the event loop: the run-time companion of the static rules.

Inactive unless enabled (`--bgtask-lint`, `-p bgtask_lint.pytest_plugin`, or
`bgtask_lint = true` in the ini options); inactive, it adds its options and
nothing else (it imports neither FastAPI nor Starlette). Active, it watches
Starlette's `BackgroundTask` / `BackgroundTasks` and FastAPI's endpoint calls
for the duration of each test, and reports with the static rules' codes, at
the `BackgroundTasks()` or `add_task` line in the project's code:

- BGT001: tasks queued on an object that was never run;
- BGT004: a queued object that is not callable, or a callable that returns a
  coroutine nobody awaits;
- BGT005: injected tasks dropped because the response had its own background;
- BGT006: a background replaced before it ran; one set on the injected
  `Response` parameter, which is not the response sent;
- BGT007: tasks added to a websocket route's `BackgroundTasks`;
- BGT008: `add_task` after the tasks were handed over (they had run already);
- BGT010: one task object run for more than one request, or one task list
  that more than one request adds to;
- BGT011: a task that fails because it needs a running event loop it does
  not have (`asyncio.create_task`, `asyncio.run` on the loop...);
- BGT012: injected tasks dropped because the endpoint raised;
- BGT014: a task that raised, and the tasks queued after it on the same
  request that Starlette therefore never started, each named;
- BGT003: an `async def` task that holds the event loop longer than the
  threshold between two awaits (50 ms by default).

A `# noqa: BGT001` (or a bare `# noqa`) on the reported line silences it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import linecache
import os
import re
import sys
import threading
import time
import warnings
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Optional

import pytest

DEFAULT_BLOCK_MS = 50.0
_WATCHER = "bgtask-lint-watcher"
_THIS_FILE = os.path.normcase(os.path.abspath(__file__))
# The request whose endpoint is running (a token per call), so that a task
# list two requests add to is seen; sync endpoints run in a thread that
# copies the context, so they see it too.
_REQUEST: contextvars.ContextVar[Optional[object]] = contextvars.ContextVar(
    "bgtask_lint_request", default=None
)
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.I)


class BackgroundTaskWarning(UserWarning):
    """What the plugin reports in warn mode (`bgtask_lint_mode = warn`)."""


# -- options -----------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bgtask-lint", "background tasks lost, dropped or blocking")
    group.addoption(
        "--bgtask-lint",
        action="store_true",
        default=None,
        help="fail a test whose background tasks are lost, dropped or block the event loop",
    )
    group.addoption(
        "--bgtask-lint-mode",
        choices=("fail", "warn"),
        default=None,
        help="fail the test (default) or only warn",
    )
    group.addoption(
        "--bgtask-lint-block-ms",
        type=float,
        default=None,
        help=f"how long an async task may hold the event loop (default {DEFAULT_BLOCK_MS:g} ms)",
    )
    parser.addini("bgtask_lint", "enable the bgtask-lint plugin", type="bool", default=False)
    parser.addini("bgtask_lint_mode", "fail (default) or warn", default="fail")
    parser.addini(
        "bgtask_lint_block_ms",
        "how long an async task may hold the event loop, in ms",
        default=str(DEFAULT_BLOCK_MS),
    )


def pytest_configure(config: pytest.Config) -> None:
    named = any(
        str(plugin).strip() == __name__ for plugin in (config.getoption("plugins", None) or [])
    )
    if not (config.getoption("bgtask_lint") or config.getini("bgtask_lint") or named):
        return
    if config.pluginmanager.has_plugin(_WATCHER):
        return
    mode = config.getoption("bgtask_lint_mode") or config.getini("bgtask_lint_mode")
    if mode not in ("fail", "warn"):
        raise pytest.UsageError(f"bgtask_lint_mode must be fail or warn, got {mode!r}")
    block_ms = config.getoption("bgtask_lint_block_ms")
    if block_ms is None:
        try:
            block_ms = float(config.getini("bgtask_lint_block_ms"))
        except ValueError as error:
            raise pytest.UsageError(f"bgtask_lint_block_ms must be a number: {error}") from None
    watcher = Watcher(mode, block_ms / 1000.0)
    config.pluginmanager.register(watcher, _WATCHER)
    # Installed before the test modules are imported: a task object made at
    # import time (a module-level `BackgroundTask`, shared by every request)
    # is known too.
    watcher.install()


# -- what is recorded -----------------------------------------------------------

Site = Optional[tuple[str, int]]


@dataclass
class Finding:
    code: str
    site: Site
    message: str

    def render(self, root: Path) -> str:
        where = ""
        if self.site is not None:
            path, line = self.site
            try:
                shown = os.path.relpath(path, root)
            except ValueError:
                shown = path
            where = f"{Path(shown).as_posix()}:{line}: "
        return f"{self.code} {where}{self.message}"


@dataclass(eq=False)
class _Task:
    """One `BackgroundTask`: where it was made, and what became of it."""

    name: str
    site: Site
    in_test: bool  # made by the test function itself
    parent: Optional[_Tasks] = None
    ran: int = 0  # how many times it was run
    accounted: bool = False  # reported, or its loss explained by another finding
    error: Optional[BaseException] = None  # what its last run raised


@dataclass(eq=False)
class _Tasks:
    """One `BackgroundTasks`."""

    site: Site
    in_test: bool
    injected: bool  # made by FastAPI for a parameter
    websocket: bool  # ... of a websocket route
    tasks: list[_Task] = field(default_factory=list)
    ran: int = 0
    seen_by_endpoint: bool = False
    accounted: bool = False
    # The requests whose endpoints added tasks to it (their `_REQUEST` tokens).
    requests: list[object] = field(default_factory=list)
    shared: bool = False  # reported as shared between requests

    def unrun(self) -> list[_Task]:
        return [t for t in self.tasks if not t.ran and not t.accounted]


def _quietly() -> suppress:
    """Around the plugin's own bookkeeping: a fault there must never change
    what the application under test does."""
    return suppress(Exception)


def _record(obj: Any) -> Any:
    return getattr(obj, "__dict__", {}).get("_bgtask_lint")


# -- the watcher -------------------------------------------------------------------


class Watcher:
    """Installs the instruments around each test and judges what happened."""

    def __init__(self, mode: str, block_seconds: float) -> None:
        self.mode = mode
        self.block_seconds = block_seconds
        self.findings: list[Finding] = []
        self.tasks: list[_Task] = []
        self.groups: list[_Tasks] = []
        self.test_code: Any = None  # the test function's code object
        self.undo: list[Callable[[], None]] = []
        self.clock = _LoopClock(block_seconds, self)

    # pytest hooks
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        self.findings, self.tasks, self.groups = [], [], []
        self.test_code = getattr(getattr(item, "obj", None), "__code__", None)
        yield
        self._at_the_end()
        found = [f for f in self.findings if not _silenced(f)]
        item.stash[_FOUND] = found
        if found and self.mode == "warn":
            root = Path(str(item.config.rootpath))
            for finding in found:
                warnings.warn(BackgroundTaskWarning(finding.render(root)), stacklevel=1)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        outcome = yield
        report = outcome.get_result()
        found = item.stash.get(_FOUND, [])
        if call.when != "call" or not found or self.mode != "fail":
            return
        root = Path(str(item.config.rootpath))
        lines = "\n".join(f"  {finding.render(root)}" for finding in found)
        text = f"bgtask-lint: background work went wrong in this test:\n{lines}"
        if report.passed:
            report.outcome = "failed"
            report.longrepr = text
        else:  # it failed anyway (a task raised, say): say why beside its own error
            report.sections.append(("bgtask-lint", text))

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.remove()

    # instruments
    def install(self) -> None:
        try:
            from starlette import background, responses
        except ImportError:
            return
        self._patch(background.BackgroundTask, "__init__", self._task_init)
        self._patch(background.BackgroundTask, "__call__", self._task_call)
        self._patch(background.BackgroundTasks, "__init__", self._tasks_init)
        self._patch(background.BackgroundTasks, "add_task", self._add_task)
        self._patch(background.BackgroundTasks, "__call__", self._tasks_call)
        self._patch_background_attribute(responses.Response)
        try:
            from fastapi import background as fastapi_background
            from fastapi import routing
        except ImportError:
            return
        # FastAPI 0.142 and later run the tasks with a `__call__` of their own
        # (it traces each task) instead of Starlette's.
        if "__call__" in vars(fastapi_background.BackgroundTasks):
            self._patch(fastapi_background.BackgroundTasks, "__call__", self._tasks_call)
        if hasattr(routing, "run_endpoint_function"):
            self._patch_module(routing, "run_endpoint_function", self._endpoint)

    def remove(self) -> None:
        while self.undo:
            self.undo.pop()()

    def _patch(self, cls: type, name: str, make: Callable[[Any], Any]) -> None:
        original = cls.__dict__[name]
        setattr(cls, name, make(original))
        self.undo.append(lambda: setattr(cls, name, original))

    def _patch_module(self, module: Any, name: str, make: Callable[[Any], Any]) -> None:
        original = getattr(module, name)
        setattr(module, name, make(original))
        self.undo.append(lambda: setattr(module, name, original))

    def _patch_background_attribute(self, cls: type) -> None:
        """`response.background` as a property while the test runs, to see
        it replaced; the value stays in the instance's own `background`, so
        responses that outlive the test are untouched."""
        watcher = self

        def get(response: Any) -> Any:
            return response.__dict__.get("background")

        def set_(response: Any, value: Any) -> None:
            old = response.__dict__.get("background")
            if old is not None and value is not old and not _contains(value, old):
                watcher._replaced(old, value)
            if value is not None:
                response.__dict__["_bgtask_lint_set_at"] = _site()
            response.__dict__["background"] = value

        cls.background = property(get, set_)  # type: ignore[attr-defined]

        def undo() -> None:
            del cls.background  # type: ignore[attr-defined]

        self.undo.append(undo)

    def _task_init(self, original: Callable[..., None]) -> Callable[..., None]:
        watcher = self

        # Positional-only: the task's own keywords (`task=`, `func=`) pass through.
        @functools.wraps(original)
        def __init__(task: Any, /, *args: Any, **kwargs: Any) -> None:
            original(task, *args, **kwargs)
            with _quietly():
                watcher._made_task(task, args[0] if args else kwargs.get("func"))

        return __init__

    def _made_task(self, task: Any, func: Any) -> None:
        site, code = _where()
        record = _Task(_name_of(func), site, code is self.test_code)
        task.__dict__["_bgtask_lint"] = record
        self.tasks.append(record)
        if not callable(func):
            record.accounted = True
            self.report(
                "BGT004",
                site,
                f"`{func!r}` is queued as a background task but is not callable: "
                "`add_task(f(...))` calls `f` now and queues its result; pass "
                "`add_task(f, ...)` instead",
            )

    def _tasks_init(self, original: Callable[..., None]) -> Callable[..., None]:
        watcher = self

        @functools.wraps(original)  # the signature FastAPI reads stays the original's
        def __init__(tasks: Any, /, *args: Any, **kwargs: Any) -> None:  # `tasks=` passes
            original(tasks, *args, **kwargs)
            with _quietly():
                watcher._made_tasks(tasks)

        return __init__

    def _made_tasks(self, tasks: Any) -> None:
        site, code = _where()
        injected, websocket = _made_by_fastapi()
        group = _Tasks(site, code is self.test_code, injected, websocket)
        tasks.__dict__["_bgtask_lint"] = group
        self.groups.append(group)
        for task in getattr(tasks, "tasks", []):
            record = _record(task)
            if record is not None:
                record.parent = group
                group.tasks.append(record)

    def _add_task(self, original: Callable[..., None]) -> Callable[..., None]:
        watcher = self

        @functools.wraps(original)
        def add_task(tasks: Any, /, *args: Any, **kwargs: Any) -> None:  # `tasks=` passes
            original(tasks, *args, **kwargs)
            with _quietly():
                watcher._added(tasks)

        return add_task

    def _added(self, tasks: Any) -> None:
        group = _record(tasks)
        record = _record(tasks.tasks[-1]) if tasks.tasks else None
        if group is None or record is None:
            return
        record.parent = group
        group.tasks.append(record)
        request = _REQUEST.get()
        if request is not None and not group.injected and request not in group.requests:
            group.requests.append(request)
            if len(group.requests) == 2:
                self._shared(group)
        if group.ran:
            record.accounted = True
            self.report(
                "BGT008",
                record.site,
                f"`{record.name}` is added after this BackgroundTasks was run (the "
                "response was sent and its tasks handed over): it never runs",
            )

    def _tasks_call(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        @functools.wraps(original)
        async def __call__(tasks: Any) -> None:
            group = _record(tasks)
            if group is not None:
                group.ran += 1
                if group.ran == 2 and not group.injected and not group.shared:
                    watcher.report(
                        "BGT010",
                        group.site,
                        "this BackgroundTasks is run for more than one request: each "
                        "request runs the tasks of every earlier one again",
                    )
            try:
                await original(tasks)
            except Exception:
                if group is not None:
                    with _quietly():
                        watcher._stopped_at_failure(group)
                raise
            finally:
                if group is not None:
                    skipped = group.unrun()
                    for task in skipped:
                        task.accounted = True  # a task before them raised; said there

        return __call__

    def _task_call(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        @functools.wraps(original)
        async def __call__(task: Any) -> None:
            record: Optional[_Task] = _record(task)
            if record is None:
                await original(task)
                return
            record.ran += 1
            if record.ran == 2 and record.parent is None:
                watcher.report(
                    "BGT010",
                    record.site,
                    f"the background task `{record.name}` is run for more than one request: "
                    "a response (or its background) is shared between requests",
                )
            try:
                if task.is_async:
                    result = task.func(*task.args, **task.kwargs)
                    if inspect.isawaitable(result):
                        await watcher.clock.timed(result, record)
                    else:
                        await result  # raises as Starlette's own call would
                else:
                    func = task.func
                    task.func = _returning_coroutines(func, record, watcher)
                    try:
                        await original(task)
                    finally:
                        task.func = func
            except RuntimeError as error:
                record.error = error
                if _needs_a_loop(error):
                    record.accounted = True
                    watcher._loop_error(record, error)
                raise
            except Exception as error:
                record.error = error
                raise

        return __call__

    def _endpoint(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        @functools.wraps(original)
        async def run_endpoint_function(*args: Any, **kwargs: Any) -> Any:
            values = kwargs.get("values") or {}
            groups = [g for g in map(_record_of_value, values.values()) if g is not None]
            responses = [v for v in values.values() if _is_response(v)]
            for group in groups:
                group.seen_by_endpoint = True
            request = _REQUEST.set(object())  # what this request's endpoint adds is its own
            try:
                raw = await original(*args, **kwargs)
            except BaseException as error:
                for group in groups:
                    watcher._dropped(
                        group,
                        "BGT012",
                        f"the endpoint raised `{type(error).__name__}`, so FastAPI never runs "
                        "the injected background tasks: {lost}; return an error response "
                        "instead, or add the tasks after the checks",
                    )
                raise
            finally:
                _REQUEST.reset(request)
            background = raw.__dict__.get("background") if _is_response(raw) else None
            for group in groups:
                if background is not None and _record(background) is not group:
                    watcher._dropped(
                        group,
                        "BGT005",
                        "the returned response has its own `background=`, which replaces the "
                        "injected BackgroundTasks: {lost}; add every task to the injected one",
                    )
            for response in responses:
                if response is not raw and response.__dict__.get("background") is not None:
                    watcher.report(
                        "BGT006",
                        response.__dict__.get("_bgtask_lint_set_at"),
                        "a background set on the injected `Response` parameter is ignored "
                        "(FastAPI copies only headers, cookies and the status code from it); "
                        "use `add_task` on an injected BackgroundTasks",
                    )
                    _account(response.__dict__.get("background"))
            return raw

        return run_endpoint_function

    # judgements
    def report(self, code: str, site: Site, message: str) -> None:
        self.findings.append(Finding(code, site, message))

    def _dropped(self, group: _Tasks, code: str, message: str) -> None:
        lost = group.unrun()
        if not lost:
            return
        group.accounted = True
        for task in lost:
            task.accounted = True
        self.report(code, lost[0].site, message.format(lost=_lost(lost)))

    def _shared(self, group: _Tasks) -> None:
        """Two requests' endpoints added tasks to one BackgroundTasks: a task
        list made once (a module or class attribute) and shared, whose tasks
        pile up whether it is ever run or not."""
        group.shared = True
        group.accounted = True
        for task in group.tasks:
            task.accounted = True  # never run: this is why
        self.report(
            "BGT010",
            group.site,
            "this BackgroundTasks is shared by more than one request: each adds its "
            "tasks to the same list, which is never run or runs every earlier "
            "request's tasks again; take FastAPI's per-request `BackgroundTasks` as a "
            "parameter",
        )

    def _replaced(self, old: Any, new: Any) -> None:
        lost = [r for r in _records_in(old) if not r.ran and not r.accounted]
        if not lost:
            return
        for record in lost:
            record.accounted = True
        self.report(
            "BGT006",
            _site(),
            f"this replaces a background that had not run: {_lost(lost)}; add every "
            "task to one BackgroundTasks, or chain the previous one "
            "(`BackgroundTasks([response.background, ...])`)",
        )

    def _loop_error(self, record: _Task, error: RuntimeError) -> None:
        skipped = (
            [t for t in record.parent.tasks if not t.ran and t is not record]
            if record.parent
            else []
        )
        later = f"; {_count(skipped, 'later task')} never ran" if skipped else ""
        self.report(
            "BGT011",
            record.site,
            f"the background task `{record.name}` failed with `RuntimeError: {error}`: "
            "a task runs in a worker thread or after the request, not as a coroutine "
            f"on the app's loop{later}; pass the coroutine function itself to `add_task`",
        )

    def _stopped_at_failure(self, group: _Tasks) -> None:
        """A task of `group` raised and Starlette stopped there: the tasks
        queued after it never started (BGT011 says so itself for its own)."""
        failed = next((t for t in group.tasks if t.error is not None and t.ran), None)
        if failed is None or failed.accounted:
            return
        later = group.tasks[group.tasks.index(failed) + 1 :]
        skipped = [t for t in later if not t.ran and not t.accounted]
        if not skipped:
            return
        for task in skipped:
            task.accounted = True
        error = failed.error
        assert error is not None
        self.report(
            "BGT014",
            failed.site,
            f"the background task `{failed.name}` raised `{type(error).__name__}: {error}`, "
            f"and Starlette stops at the first failing task: {_lost(skipped)}; handle "
            "the errors inside each task (`try` / `except Exception`, and log them)",
        )

    def blocked(self, record: _Task, seconds: float, where: Site) -> None:
        place = f" (at {Path(where[0]).name}:{where[1]})" if where is not None else ""
        self.report(
            "BGT003",
            record.site,
            f"async task `{record.name}` held the event loop for {seconds * 1000:.0f} ms "
            f"between two awaits{place}: every other request waited; make it a `def` "
            "task (it then runs in the thread pool) or use a non-blocking call",
        )

    def _at_the_end(self) -> None:
        """What never ran by the end of the test."""
        for group in self.groups:
            lost = group.unrun()
            if group.accounted or not lost or group.ran:
                continue
            for task in lost:
                task.accounted = True
            if group.injected:
                if group.websocket:
                    self.report(
                        "BGT007",
                        lost[0].site,
                        f"{_lost(lost)}: nothing runs the BackgroundTasks of a websocket "
                        "route; run them yourself (`await background_tasks()`) or do the "
                        "work directly",
                    )
                elif not group.seen_by_endpoint:
                    # Only a dependency's code after its `yield` gets a
                    # BackgroundTasks the endpoint never had.
                    self.report(
                        "BGT008",
                        lost[0].site,
                        f"{_lost(lost)}: they were added after the request's tasks were "
                        "handed over (in a dependency's code after `yield`); add them "
                        "before the `yield`",
                    )
                continue
            if group.in_test:
                continue  # the test built it itself: it decides what runs
            self.report(
                "BGT001",
                group.site,
                f"this BackgroundTasks was never attached to a response: {_lost(lost)}; "
                "inject `BackgroundTasks` into the route, or pass it as `background=`",
            )
        for task in self.tasks:
            if task.parent is None and not task.ran and not task.accounted and not task.in_test:
                task.accounted = True
                self.report(
                    "BGT001",
                    task.site,
                    f"this BackgroundTask (`{task.name}`) was never attached to a response "
                    "and never ran",
                )


_FOUND = pytest.StashKey[list]()


# -- the event loop's clock (BGT003) ----------------------------------------------


class _LoopClock:
    """Times each step of an async task's coroutine (from one await to the
    next). A thread samples the loop's stack when a step runs too long, to
    say where the loop is held: the deepest frame in the project's code."""

    def __init__(self, threshold: float, watcher: Watcher) -> None:
        self.threshold = threshold
        self.watcher = watcher
        self.lock = threading.Lock()
        self.step: Optional[tuple[int, float]] = None  # (thread, start)
        self.sampled: Site = None
        self.wake = threading.Event()
        self.thread: Optional[threading.Thread] = None

    async def timed(self, awaitable: Any, record: _Task) -> Any:
        return await _Stepper(awaitable, self, record)

    def begin(self) -> None:
        with self.lock:
            self.step = (threading.get_ident(), time.perf_counter())
            self.sampled = None
        if self.thread is None:
            self.thread = threading.Thread(target=self._watch, name=_WATCHER, daemon=True)
            self.thread.start()
        self.wake.set()

    def end(self, record: _Task) -> None:
        with self.lock:
            step, self.step = self.step, None
            sampled = self.sampled
        if step is not None:
            elapsed = time.perf_counter() - step[1]
            if elapsed > self.threshold:
                self.watcher.blocked(record, elapsed, sampled)

    def _watch(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            while True:
                with self.lock:
                    step = self.step
                if step is None:
                    break
                thread, start = step
                wait = start + self.threshold * 0.6 - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                    continue
                frame = sys._current_frames().get(thread)
                where = _deepest_project_frame(frame)
                with self.lock:
                    if self.step == step and self.sampled is None:
                        self.sampled = where
                time.sleep(self.threshold * 0.25)
                with self.lock:
                    if self.step == step:
                        continue
                break


class _Stepper:
    """Awaits `awaitable` one step at a time, each step timed."""

    def __init__(self, awaitable: Any, clock: _LoopClock, record: _Task) -> None:
        self.iterator = awaitable.__await__()
        self.clock = clock
        self.record = record

    def __await__(self) -> Any:
        iterator, clock = self.iterator, self.clock
        value: Any = None
        error: Optional[BaseException] = None
        while True:
            clock.begin()
            try:
                yielded = iterator.throw(error) if error is not None else iterator.send(value)
            except StopIteration as stop:
                clock.end(self.record)
                return stop.value
            except BaseException:
                clock.end(self.record)
                raise
            clock.end(self.record)
            try:
                value, error = (yield yielded), None
            except BaseException as thrown:  # cancellation, passed on in
                value, error = None, thrown


# -- helpers -----------------------------------------------------------------------


def _returning_coroutines(func: Any, record: _Task, watcher: Watcher) -> Callable[..., Any]:
    """`func`, watched for returning a coroutine (`lambda: send_async(x)`)
    that nobody will await."""

    def run(*args: Any, **kwargs: Any) -> Any:
        result = func(*args, **kwargs)
        if asyncio.iscoroutine(result):
            result.close()  # it never runs either way; no second warning
            record.accounted = True
            watcher.report(
                "BGT004",
                record.site,
                f"the background task `{record.name}` returned a coroutine that nobody "
                "awaits, so its work never runs: pass the async function itself "
                "(`add_task(send, x)`, not `add_task(lambda: send(x))`)",
            )
        return result

    return run


def _needs_a_loop(error: RuntimeError) -> bool:
    text = str(error)
    return "no running event loop" in text or "cannot be called from a running event loop" in text


def _lost(tasks: list[_Task]) -> str:
    names = ", ".join(f"`{t.name}`" for t in tasks[:3]) + (" ..." if len(tasks) > 3 else "")
    where = ""
    if tasks[0].site is not None:
        where = f" queued at {Path(tasks[0].site[0]).name}:{tasks[0].site[1]}"
    return f"{_count(tasks, 'task')} ({names}){where} never ran"


def _count(items: list, word: str) -> str:
    return f"{len(items)} {word}{'' if len(items) == 1 else 's'}"


def _name_of(func: Any) -> str:
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    if name is None and hasattr(func, "func"):  # functools.partial
        return _name_of(func.func)
    return str(name) if name is not None else repr(func)


def _records_in(background: Any) -> list[_Task]:
    record = _record(background)
    if isinstance(record, _Tasks):
        return record.tasks
    return [record] if isinstance(record, _Task) else []


def _account(background: Any) -> None:
    for record in _records_in(background):
        record.accounted = True
    group = _record(background) if background is not None else None
    if isinstance(group, _Tasks):
        group.accounted = True


def _contains(new: Any, old: Any) -> bool:
    """Chaining: the new background holds the old one."""
    return any(task is old for task in getattr(new, "tasks", ()) or ())


def _record_of_value(value: Any) -> Optional[_Tasks]:
    record = getattr(value, "__dict__", {}).get("_bgtask_lint")
    return record if isinstance(record, _Tasks) and record.injected else None


def _is_response(value: Any) -> bool:
    responses = sys.modules.get("starlette.responses")
    return responses is not None and isinstance(value, responses.Response)


def _is_library(filename: str) -> bool:
    path = os.path.normcase(os.path.abspath(filename))
    return (
        path == _THIS_FILE
        or "site-packages" in path
        or "dist-packages" in path
        or path.startswith(_STDLIB)
        or filename.startswith("<")
    )


_STDLIB = os.path.normcase(os.path.dirname(os.__file__))


def _site() -> Site:
    """The innermost frame of the project's code that led here."""
    return _deepest_project_frame(sys._getframe(1))


def _where() -> tuple[Site, Any]:
    """`_site()`, with the code object of that frame."""
    frame = _project_frame(sys._getframe(1))
    if frame is None:
        return None, None
    return (frame.f_code.co_filename, frame.f_lineno), frame.f_code


def _deepest_project_frame(frame: Optional[FrameType]) -> Site:
    """Where the innermost frame of the project's code at or above `frame` is."""
    found = _project_frame(frame)
    return (found.f_code.co_filename, found.f_lineno) if found is not None else None


def _project_frame(frame: Optional[FrameType]) -> Optional[FrameType]:
    while frame is not None and _is_library(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


def _made_by_fastapi() -> tuple[bool, bool]:
    """(FastAPI made this BackgroundTasks for a parameter, for a websocket
    route), read off the stack that is making it."""
    frame: Optional[FrameType] = sys._getframe(2)
    injected = False
    while frame is not None:
        filename = frame.f_code.co_filename.replace("\\", "/")
        if "/fastapi/dependencies/" in filename:
            injected = True
        elif injected and "/fastapi/routing" in filename and "websocket" in frame.f_locals:
            return True, True
        elif not _is_library(filename):
            break
        frame = frame.f_back
    return injected, False


def _silenced(finding: Finding) -> bool:
    if finding.site is None:
        return False
    line = linecache.getline(finding.site[0], finding.site[1])
    match = _NOQA.search(line)
    if match is None:
        return False
    codes = match.group("codes")
    return codes is None or finding.code in re.split(r"[\s,]+", codes.upper())
