"""The watcher: installs the instruments around each test and judges what
became of each task object."""

from __future__ import annotations

import functools
import inspect
import warnings
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from bgtask_lint.runtime.clock import LoopClock, returning_coroutines
from bgtask_lint.runtime.codes import (
    AFTER_YIELD,
    BLOCKING,
    CALLED_NOT_PASSED,
    DROPPED_BY_RAISE,
    EVENT_LOOP_CALL,
    FAILURE_SKIPS_LATER,
    IN_WEBSOCKET,
    INJECTED_DROPPED,
    OVERWRITTEN,
    SHARED,
    UNATTACHED,
)
from bgtask_lint.runtime.records import (
    REQUEST,
    BackgroundTaskWarning,
    Finding,
    Site,
    TaskListRecord,
    TaskRecord,
    account,
    contains,
    count,
    injected_record,
    is_response,
    name_of,
    needs_a_loop,
    never_ran,
    quietly,
    record_of,
    records_in,
)
from bgtask_lint.runtime.stack import made_by_fastapi, silenced, site_here, where


class Watcher:
    """Installs the instruments around each test and judges what happened."""

    def __init__(self, mode: str, block_seconds: float) -> None:
        self.mode = mode
        self.block_seconds = block_seconds
        self.findings: list[Finding] = []
        self.tasks: list[TaskRecord] = []
        self.groups: list[TaskListRecord] = []
        self.test_code: Any = None  # the test function's code object
        self.undo: list[Callable[[], None]] = []
        self.clock = LoopClock(block_seconds, self.blocked)

    # pytest hooks
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        self.findings, self.tasks, self.groups = [], [], []
        self.test_code = getattr(getattr(item, "obj", None), "__code__", None)
        yield
        self._at_the_end()
        found = [f for f in self.findings if not silenced(f)]
        item.stash[FOUND] = found
        if found and self.mode == "warn":
            root = Path(str(item.config.rootpath))
            for finding in found:
                warnings.warn(BackgroundTaskWarning(finding.render(root)), stacklevel=1)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        outcome = yield
        report = outcome.get_result()
        found = item.stash.get(FOUND, [])
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
        made_task = _then(lambda task, args, kwargs: self._made_task(task, _func(args, kwargs)))
        self._patch(background.BackgroundTask, "__init__", made_task)
        self._patch(background.BackgroundTask, "__call__", self._task_call)
        made_tasks = _then(lambda tasks, args, kwargs: self._made_tasks(tasks))
        self._patch(background.BackgroundTasks, "__init__", made_tasks)
        added = _then(lambda tasks, args, kwargs: self._added(tasks))
        self._patch(background.BackgroundTasks, "add_task", added)
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
            if old is not None and value is not old and not contains(value, old):
                watcher._replaced(old, value)
            if value is not None:
                response.__dict__["_bgtask_lint_set_at"] = site_here()
            response.__dict__["background"] = value

        cls.background = property(get, set_)  # type: ignore[attr-defined]

        def undo() -> None:
            del cls.background  # type: ignore[attr-defined]

        self.undo.append(undo)

    def _made_task(self, task: Any, func: Any) -> None:
        site, code = where()
        record = TaskRecord(name_of(func), site, code is self.test_code)
        task.__dict__["_bgtask_lint"] = record
        self.tasks.append(record)
        if not callable(func):
            record.accounted = True
            self.report(
                CALLED_NOT_PASSED,
                site,
                f"`{func!r}` is queued as a background task but is not callable: "
                "`add_task(f(...))` calls `f` now and queues its result; pass "
                "`add_task(f, ...)` instead",
            )

    def _made_tasks(self, tasks: Any) -> None:
        site, code = where()
        injected, websocket = made_by_fastapi()
        group = TaskListRecord(site, code is self.test_code, injected, websocket)
        tasks.__dict__["_bgtask_lint"] = group
        self.groups.append(group)
        for task in getattr(tasks, "tasks", []):
            record = record_of(task)
            if record is not None:
                record.parent = group
                group.tasks.append(record)

    def _added(self, tasks: Any) -> None:
        group = record_of(tasks)
        record = record_of(tasks.tasks[-1]) if tasks.tasks else None
        if group is None or record is None:
            return
        record.parent = group
        group.tasks.append(record)
        request = REQUEST.get()
        if request is not None and not group.injected and request not in group.requests:
            group.requests.append(request)
            if len(group.requests) == 2:
                self._shared(group)
        if group.ran:
            record.accounted = True
            self.report(
                AFTER_YIELD,
                record.site,
                f"`{record.name}` is added after this BackgroundTasks was run (the "
                "response was sent and its tasks handed over): it never runs",
            )

    def _tasks_call(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        @functools.wraps(original)
        async def __call__(tasks: Any) -> None:
            group = record_of(tasks)
            if group is not None:
                group.ran += 1
                if group.ran == 2 and not group.injected and not group.shared:
                    watcher.report(
                        SHARED,
                        group.site,
                        "this BackgroundTasks is run for more than one request: each "
                        "request runs the tasks of every earlier one again",
                    )
            try:
                await original(tasks)
            except Exception:
                if group is not None:
                    with quietly():
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
            record: Optional[TaskRecord] = record_of(task)
            if record is None:
                await original(task)
                return
            record.ran += 1
            if record.ran == 2 and record.parent is None:
                watcher.report(
                    SHARED,
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
                    task.func = returning_coroutines(func, record, watcher.report)
                    try:
                        await original(task)
                    finally:
                        task.func = func
            except RuntimeError as error:
                record.error = error
                if needs_a_loop(error):
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
            groups = [g for g in map(injected_record, values.values()) if g is not None]
            responses = [v for v in values.values() if is_response(v)]
            for group in groups:
                group.seen_by_endpoint = True
            request = REQUEST.set(object())  # what this request's endpoint adds is its own
            try:
                raw = await original(*args, **kwargs)
            except BaseException as error:
                for group in groups:
                    watcher._dropped(
                        group,
                        DROPPED_BY_RAISE,
                        f"the endpoint raised `{type(error).__name__}`, so FastAPI never runs "
                        "the injected background tasks: {lost}; return an error response "
                        "instead, or add the tasks after the checks",
                    )
                raise
            finally:
                REQUEST.reset(request)
            background = raw.__dict__.get("background") if is_response(raw) else None
            for group in groups:
                if background is not None and record_of(background) is not group:
                    watcher._dropped(
                        group,
                        INJECTED_DROPPED,
                        "the returned response has its own `background=`, which replaces the "
                        "injected BackgroundTasks: {lost}; add every task to the injected one",
                    )
            for response in responses:
                if response is not raw and response.__dict__.get("background") is not None:
                    watcher.report(
                        OVERWRITTEN,
                        response.__dict__.get("_bgtask_lint_set_at"),
                        "a background set on the injected `Response` parameter is ignored "
                        "(FastAPI copies only headers, cookies and the status code from it); "
                        "use `add_task` on an injected BackgroundTasks",
                    )
                    account(response.__dict__.get("background"))
            return raw

        return run_endpoint_function

    # judgements
    def report(self, code: str, site: Site, message: str) -> None:
        self.findings.append(Finding(code, site, message))

    def _dropped(self, group: TaskListRecord, code: str, message: str) -> None:
        lost = group.unrun()
        if not lost:
            return
        group.accounted = True
        for task in lost:
            task.accounted = True
        self.report(code, lost[0].site, message.format(lost=never_ran(lost)))

    def _shared(self, group: TaskListRecord) -> None:
        """Two requests' endpoints added tasks to one BackgroundTasks: a task
        list made once (a module or class attribute) and shared, whose tasks
        pile up whether it is ever run or not."""
        group.shared = True
        group.accounted = True
        for task in group.tasks:
            task.accounted = True  # never run: this is why
        self.report(
            SHARED,
            group.site,
            "this BackgroundTasks is shared by more than one request: each adds its "
            "tasks to the same list, which is never run or runs every earlier "
            "request's tasks again; take FastAPI's per-request `BackgroundTasks` as a "
            "parameter",
        )

    def _replaced(self, old: Any, new: Any) -> None:
        lost = [r for r in records_in(old) if not r.ran and not r.accounted]
        if not lost:
            return
        for record in lost:
            record.accounted = True
        self.report(
            OVERWRITTEN,
            site_here(),
            f"this replaces a background that had not run: {never_ran(lost)}; add every "
            "task to one BackgroundTasks, or chain the previous one "
            "(`BackgroundTasks([response.background, ...])`)",
        )

    def _loop_error(self, record: TaskRecord, error: RuntimeError) -> None:
        skipped = (
            [t for t in record.parent.tasks if not t.ran and t is not record]
            if record.parent
            else []
        )
        later = f"; {count(skipped, 'later task')} never ran" if skipped else ""
        self.report(
            EVENT_LOOP_CALL,
            record.site,
            f"the background task `{record.name}` failed with `RuntimeError: {error}`: "
            "a task runs in a worker thread or after the request, not as a coroutine "
            f"on the app's loop{later}; pass the coroutine function itself to `add_task`",
        )

    def _stopped_at_failure(self, group: TaskListRecord) -> None:
        """A task of `group` raised and Starlette stopped there: the tasks
        queued after it never started (the event-loop finding names its own)."""
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
            FAILURE_SKIPS_LATER,
            failed.site,
            f"the background task `{failed.name}` raised `{type(error).__name__}: {error}`, "
            f"and Starlette stops at the first failing task: {never_ran(skipped)}; handle "
            "the errors inside each task (`try` / `except Exception`, and log them)",
        )

    def blocked(self, record: TaskRecord, seconds: float, held_at: Site) -> None:
        place = f" (at {Path(held_at[0]).name}:{held_at[1]})" if held_at is not None else ""
        self.report(
            BLOCKING,
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
                        IN_WEBSOCKET,
                        lost[0].site,
                        f"{never_ran(lost)}: nothing runs the BackgroundTasks of a websocket "
                        "route; run them yourself (`await background_tasks()`) or do the "
                        "work directly",
                    )
                elif not group.seen_by_endpoint:
                    # Only a dependency's code after its `yield` gets a
                    # BackgroundTasks the endpoint never had.
                    self.report(
                        AFTER_YIELD,
                        lost[0].site,
                        f"{never_ran(lost)}: they were added after the request's tasks were "
                        "handed over (in a dependency's code after `yield`); add them "
                        "before the `yield`",
                    )
                continue
            if group.in_test:
                continue  # the test built it itself: it decides what runs
            self.report(
                UNATTACHED,
                group.site,
                f"this BackgroundTasks was never attached to a response: {never_ran(lost)}; "
                "inject `BackgroundTasks` into the route, or pass it as `background=`",
            )
        for task in self.tasks:
            if task.parent is None and not task.ran and not task.accounted and not task.in_test:
                task.accounted = True
                self.report(
                    UNATTACHED,
                    task.site,
                    f"this BackgroundTask (`{task.name}`) was never attached to a response "
                    "and never ran",
                )


def _then(
    after: Callable[[Any, tuple[Any, ...], dict[str, Any]], None],
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """What _patch makes of a method: the original, then `after(obj, args,
    kwargs)`, quietly. The object is positional-only, so its own keywords
    (`task=`, `func=`, `tasks=`) pass through; `wraps` keeps the signature
    FastAPI reads."""

    def make(original: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(original)
        def observed(obj: Any, /, *args: Any, **kwargs: Any) -> None:
            original(obj, *args, **kwargs)
            with quietly():
                after(obj, args, kwargs)

        return observed

    return make


def _func(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The callable a `BackgroundTask(func, ...)` was made with."""
    return args[0] if args else kwargs.get("func")


FOUND = pytest.StashKey[list]()
