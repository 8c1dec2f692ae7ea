"""Where a route module queues the tasks whose findings are reported in other
files: an editor shows a cross-module finding in the route module too, at
the `add_task` call that leads to it (a diagnostic's range must lie in the
document it is published for)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bgtask_lint.diagnostic import Diagnostic, Location, Related


@dataclass(frozen=True)
class QueuedTask:
    """A task submission of the route module, and the function it queues."""

    location: Location  # the submission call's start, in the route module
    end_location: Location
    task_file: str  # absolute
    task_name: str  # as messages name it (`notify`, `Mailer.send`)
    task_start: int  # the task function's first and last rows in its file
    task_end: int


def queued_tasks(
    path: str, text: str, texts: Mapping[str, str], source_roots: Sequence[Path]
) -> list[QueuedTask]:
    """The submissions in module `path` (content `text`) whose task is a
    function of another file of its project; `texts` stand for files' contents."""
    from bgtask_lint.analysis.positions import node_ranges
    from bgtask_lint.analysis.project import Project
    from bgtask_lint.config.roots import find_project_root

    project = Project(find_project_root(path, is_dir=False), source_roots)
    project.overlay = {os.path.abspath(p): (t, "utf-8") for p, t in texts.items()}
    model = project.model_for_text(Path(path), text)
    if model is None:
        return []
    found = []
    for submission in model.task_submissions():
        if submission.callable_arg is None:
            continue
        ref = model.task_function(submission.callable_arg.value, submission.site.function)
        if ref is None or os.path.abspath(ref.model.path) == os.path.abspath(path):
            continue
        call = submission.site.node
        here = node_ranges(model.module, [call], model.parsed_text)[call]
        there = node_ranges(ref.model.module, [ref.info.node], ref.model.parsed_text)
        span = there[ref.info.node]
        found.append(
            QueuedTask(
                Location(here.start.line, here.start.column + 1),
                Location(here.end.line, here.end.column + 1),
                os.path.abspath(ref.model.path),
                ref.info.display_name,
                span.start.line,
                span.end.line,
            )
        )
    return found


def mirrored(
    queued: Sequence[QueuedTask], elsewhere: Sequence[Diagnostic], path: str, root: str
) -> list[Diagnostic]:
    """The findings of other files (`elsewhere`) shown at the submissions in
    `path` that lead to them: the task's own function holds the finding, or
    the finding's message names the task. Without a fix (it belongs to the
    other file) and without a noqa row (a directive here silences nothing).
    The other file is named relative to `root`, the project's."""
    shown = []
    for d in elsewhere:
        where = os.path.abspath(d.filename)
        for task in queued:
            if task.task_file != where:
                continue
            inside = task.task_start <= d.location.row <= task.task_end
            if not inside and f"`{task.task_name}`" not in d.message:
                continue
            relative = os.path.relpath(where, root).replace(os.sep, "/")
            here = Related(where, d.location, f"{d.code} is reported here")
            shown.append(
                replace(
                    d,
                    message=(
                        f"`{task.task_name}`, queued here, in {relative}:{d.location.row}: "
                        f"{d.message}"
                    ),
                    filename=path,
                    location=task.location,
                    end_location=task.end_location,
                    fix=None,
                    noqa_row=None,
                    related=(here, *d.related),
                    source_lines=(),
                )
            )
    return shown
