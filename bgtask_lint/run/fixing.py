"""Fixes whose effects reach other files: a fixed file changes what other
files' findings depend on, so checks run again until nothing changes."""

from __future__ import annotations

import os
from collections import Counter
from typing import TYPE_CHECKING

from bgtask_lint.run.runner import Run
from bgtask_lint.text.markdown import is_markdown

if TYPE_CHECKING:
    pass


# A fix can make another module's function a task (`add_task(lambda: send(1))`
# becomes `add_task(send, 1)`), whose own findings then need fixing: whole
# passes are repeated until one changes nothing, this many at the most.
MAX_FIX_PASSES = 5


def settle_fixes(run: Run) -> None:
    """After a first `--fix` (or `--diff`) pass, run again over the same files
    with what the fixes changed, until nothing changes; `run.result` ends with
    every fix applied and the findings that remain. `--diff` writes nothing,
    so its later passes read the fixed texts from an overlay."""
    result = run.result
    # The texts the run was given (an editor's unsaved buffers) stay; the
    # fixed texts join them.
    overlay = dict(run.overlay)
    changes = {change.filename: change for change in result.changes}
    latest = result.changes
    for _ in range(MAX_FIX_PASSES - 1):
        if not latest:
            return
        if run.fix is not None and not run.fix.write:
            for change in latest:
                overlay[os.path.abspath(change.filename)] = (change.after, change.encoding)
        if not _fixes_reach_other_files(run, {c.filename: c.after for c in latest}):
            return
        from bgtask_lint.run.result import Change, RunResult

        again = Run(run.resolver, RunResult(), run.fix, run.workers, overlay=overlay)
        again.requested = list(run.requested)  # the same paths: a whole project stays whole
        for file in run.files:
            again.add(file.name)
        again.execute()
        names = {file.name for file in again.files}
        result.diagnostics[:] = [
            *(d for d in result.diagnostics if d.filename not in names),
            *again.result.diagnostics,
        ]
        result.fixed.update(again.result.fixed)
        for name, counts in again.result.fixed_by_file.items():
            result.fixed_by_file.setdefault(name, Counter()).update(counts)
        result.errors.extend(again.result.errors)
        for change in again.result.changes:
            first = changes.get(change.filename)
            before = first.before if first else change.before
            changes[change.filename] = Change(
                change.filename, before, change.after, change.encoding
            )
        result.changes[:] = list(changes.values())
        latest, run = again.result.changes, again
    if latest:
        result.errors.append(
            f"fixes did not settle after {MAX_FIX_PASSES} passes over the project; "
            "run `--fix` again to see what remains (please report this)"
        )


def _fixes_reach_other_files(run: Run, fixed: dict[str, str]) -> bool:
    """Whether the fixes of a pass (file name -> fixed text) can change another
    file's findings: a fixed file is one the findings of another file were
    read from, or a fix changed which functions are submitted as tasks."""
    changed = {os.path.abspath(name) for name in fixed}
    for file in run.files:
        if any(dep in changed for dep in file.deps if dep != file.key):
            return True
    for file in run.files:
        if file.name not in fixed or file.project is None or is_markdown(file.key):
            continue
        model = file.project.model_for_text(file.path, fixed[file.name])
        depth = file.settings.max_call_depth
        uses = file.project.index(model, depth) if model is not None else []
        if sorted(uses) != sorted(file.uses):
            return True
    return False
