"""The event loop's clock: how long each step of an async task holds the
loop, and where (the blocking-call rule at run time)."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from typing import Any, Callable, Optional

from bgtask_lint.runtime.codes import CALLED_NOT_PASSED
from bgtask_lint.runtime.records import WATCHER, Site, TaskRecord
from bgtask_lint.runtime.stack import deepest_project_frame

# What the clock tells when a step ran too long: the task, the seconds, and
# where the loop was held.
Blocked = Callable[[TaskRecord, float, Site], None]
# How a finding is reported: code, site, message.
Report = Callable[[str, Site, str], None]


class LoopClock:
    """Times each step of an async task's coroutine (from one await to the
    next). A thread samples the loop's stack when a step runs too long, to
    say where the loop is held: the deepest frame in the project's code."""

    def __init__(self, threshold: float, blocked: Blocked) -> None:
        self.threshold = threshold
        self.blocked = blocked
        self.lock = threading.Lock()
        self.step: Optional[tuple[int, float]] = None  # (thread, start)
        self.sampled: Site = None
        self.wake = threading.Event()
        self.thread: Optional[threading.Thread] = None

    async def timed(self, awaitable: Any, record: TaskRecord) -> Any:
        return await _Stepper(awaitable, self, record)

    def begin(self) -> None:
        with self.lock:
            self.step = (threading.get_ident(), time.perf_counter())
            self.sampled = None
        if self.thread is None:
            self.thread = threading.Thread(target=self._watch, name=WATCHER, daemon=True)
            self.thread.start()
        self.wake.set()

    def end(self, record: TaskRecord) -> None:
        with self.lock:
            step, self.step = self.step, None
            sampled = self.sampled
        if step is not None:
            elapsed = time.perf_counter() - step[1]
            if elapsed > self.threshold:
                self.blocked(record, elapsed, sampled)

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
                where = deepest_project_frame(frame)
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

    def __init__(self, awaitable: Any, clock: LoopClock, record: TaskRecord) -> None:
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


def returning_coroutines(func: Any, record: TaskRecord, report: Report) -> Callable[..., Any]:
    """`func`, watched for returning a coroutine (`lambda: send_async(x)`)
    that nobody will await."""

    def run(*args: Any, **kwargs: Any) -> Any:
        result = func(*args, **kwargs)
        if asyncio.iscoroutine(result):
            result.close()  # it never runs either way; no second warning
            record.accounted = True
            report(
                CALLED_NOT_PASSED,
                record.site,
                f"the background task `{record.name}` returned a coroutine that nobody "
                "awaits, so its work never runs: pass the async function itself "
                "(`add_task(send, x)`, not `add_task(lambda: send(x))`)",
            )
        return result

    return run
