"""What the runtime companion records about each task object, and how it
names and counts them."""

from __future__ import annotations

import contextvars
import os
import sys
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional


class BackgroundTaskWarning(UserWarning):
    """What the plugin reports in warn mode (`bgtask_lint_mode = warn`)."""


# The watcher's name as a pytest plugin, and its clock thread's.
WATCHER = "bgtask-lint-watcher"
# The request whose endpoint is running (a token per call), so that a task
# list two requests add to is seen; sync endpoints run in a thread that
# copies the context, so they see it too.
REQUEST: contextvars.ContextVar[Optional[object]] = contextvars.ContextVar(
    "bgtask_lint_request", default=None
)

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
class TaskRecord:
    """One `BackgroundTask`: where it was made, and what became of it."""

    name: str
    site: Site
    in_test: bool  # made by the test function itself
    parent: Optional[TaskListRecord] = None
    ran: int = 0  # how many times it was run
    accounted: bool = False  # reported, or its loss explained by another finding
    error: Optional[BaseException] = None  # what its last run raised


@dataclass(eq=False)
class TaskListRecord:
    """One `BackgroundTasks`."""

    site: Site
    in_test: bool
    injected: bool  # made by FastAPI for a parameter
    websocket: bool  # ... of a websocket route
    tasks: list[TaskRecord] = field(default_factory=list)
    ran: int = 0
    seen_by_endpoint: bool = False
    accounted: bool = False
    # The requests whose endpoints added tasks to it (their `REQUEST` tokens).
    requests: list[object] = field(default_factory=list)
    shared: bool = False  # reported as shared between requests

    def unrun(self) -> list[TaskRecord]:
        return [t for t in self.tasks if not t.ran and not t.accounted]


def quietly() -> suppress:
    """Around the plugin's own bookkeeping: a fault there must never change
    what the application under test does."""
    return suppress(Exception)


def record_of(obj: Any) -> Any:
    return getattr(obj, "__dict__", {}).get("_bgtask_lint")


def needs_a_loop(error: RuntimeError) -> bool:
    text = str(error)
    return "no running event loop" in text or "cannot be called from a running event loop" in text


def never_ran(tasks: list[TaskRecord]) -> str:
    names = ", ".join(f"`{t.name}`" for t in tasks[:3]) + (" ..." if len(tasks) > 3 else "")
    where = ""
    if tasks[0].site is not None:
        where = f" queued at {Path(tasks[0].site[0]).name}:{tasks[0].site[1]}"
    return f"{count(tasks, 'task')} ({names}){where} never ran"


def count(items: list, word: str) -> str:
    return f"{len(items)} {word}{'' if len(items) == 1 else 's'}"


def name_of(func: Any) -> str:
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    if name is None and hasattr(func, "func"):  # functools.partial
        return name_of(func.func)
    return str(name) if name is not None else repr(func)


def records_in(background: Any) -> list[TaskRecord]:
    record = record_of(background)
    if isinstance(record, TaskListRecord):
        return record.tasks
    return [record] if isinstance(record, TaskRecord) else []


def account(background: Any) -> None:
    for record in records_in(background):
        record.accounted = True
    group = record_of(background) if background is not None else None
    if isinstance(group, TaskListRecord):
        group.accounted = True


def contains(new: Any, old: Any) -> bool:
    """Chaining: the new background holds the old one."""
    return any(task is old for task in getattr(new, "tasks", ()) or ())


def injected_record(value: Any) -> Optional[TaskListRecord]:
    record = getattr(value, "__dict__", {}).get("_bgtask_lint")
    return record if isinstance(record, TaskListRecord) and record.injected else None


def is_response(value: Any) -> bool:
    responses = sys.modules.get("starlette.responses")
    return responses is not None and isinstance(value, responses.Response)
