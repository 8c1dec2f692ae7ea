"""Serverless adapters: where an app is handed to `Mangum(...)` (AWS Lambda,
API Gateway), and which routes of the project queue background tasks that
the adapter will run before answering, or never.

A project-level question: the `Mangum(app)` call sits in its own entry
module (`handler.py`, `lambda_function.py`) that imports the app, and the
routes live elsewhere. A checked module whose routes queue tasks files a
fact about each entry module of its project, so a run that checks only that
module (pre-commit) still checks the entry module for what it leads to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bgtask_lint.analysis.facts import encode
from bgtask_lint.analysis.imports import imported_modules
from bgtask_lint.analysis.model import HTTP, CallSite, FunctionInfo, Model, ProjectView

ADAPTERS = frozenset({"mangum.Mangum", "mangum.adapter.Mangum"})
# The fact a module whose routes queue tasks files about an entry module.
SERVERLESS_FACT = encode("serverless", "", None)
_IMPORTS_MANGUM = re.compile(r"^[ \t]*(?:from[ \t]+mangum\b|import[ \t]+mangum\b)", re.M)
# How many imports away from the entry module the app's routes are looked for.
MAX_IMPORT_DEPTH = 8
# A module without any of these cannot queue a task in a route.
_QUEUES = re.compile(r"add_task\s*\(|background\s*=|BackgroundTask")


@dataclass(frozen=True)
class TaskRoute:
    """A route that queues background tasks."""

    model: Model
    function: FunctionInfo


def adapter_calls(model: Model) -> list[CallSite]:
    """The `Mangum(...)` calls of a module."""
    return [site for site in model.calls if model.qualified_name(site.node.func) in ADAPTERS]


def queues_tasks(model: Model, function: FunctionInfo) -> bool:
    """Route `function` queues background tasks: it adds to its injected
    BackgroundTasks (or a dependency of it does), submits a task, or builds
    a response with `background=`."""
    if model.uses_injected_tasks(function):
        return True
    if any(s.site.function is function for s in model.declared_submissions()):
        return True
    return any(
        site.function is function
        and any(
            arg.keyword is not None and arg.keyword.value == "background" for arg in site.node.args
        )
        for site in model.calls
    )


def task_routes(model: Model) -> list[TaskRoute]:
    """The HTTP routes of `model` that queue background tasks, in source order."""
    return [
        TaskRoute(model, function)
        for function in model.functions
        if function.route_kind == HTTP and queues_tasks(model, function)
    ]


def _project_files(project: ProjectView) -> list[str]:
    return sorted(p for p in {*project.checked, *project.context_files} if p.endswith(".py"))


def entry_modules(project: ProjectView) -> list[str]:
    """The files of the project that import mangum and call `Mangum(`, read
    off their texts (remembered for the run)."""
    known = project.serverless_entries
    if known is None:
        known = project.serverless_entries = [
            path for path in _project_files(project) if _is_entry(project.text_of(path) or "")
        ]
    return known


def _is_entry(text: str) -> bool:
    return "Mangum(" in text and _IMPORTS_MANGUM.search(text) is not None


def serverless_facts(project: ProjectView, model: Model) -> list[tuple[str, str]]:
    """What `model` says about the project's entry modules: that its routes
    queue tasks (nothing when they queue none). Asked of every indexed
    module: the cheap questions first (its own text, then the project's
    texts, read once per run), the routes last."""
    text = project.text_of(model.path)
    if text is None or _QUEUES.search(text) is None:
        return []
    entries = [path for path in entry_modules(project) if path != model.path]
    if not entries or not task_routes(model):
        return []
    return [(path, SERVERLESS_FACT) for path in entries]


def project_task_routes(model: Model) -> list[TaskRoute]:
    """The routes that queue tasks in the modules entry module `model`
    imports, directly or through the project's other modules (the app it
    hands to the adapter is built there; an unrelated app of the same
    repository is not), itself first, then by file."""
    project = model.project
    found = task_routes(model)
    if project is None:
        return found
    for path in reached_modules(project, model.path):
        text = project.text_of(path)
        if text is None or _QUEUES.search(text) is None:
            continue
        other = project.model_for_path(Path(path))
        if other is not None:
            found.extend(task_routes(other))
    return found


def reached_modules(project: ProjectView, start: str) -> list[str]:
    """The project files module `start` imports, and those they import in
    turn, `MAX_IMPORT_DEPTH` imports deep at most, sorted (read off their
    import lines)."""
    seen = {start}
    frontier = [start]
    for _ in range(MAX_IMPORT_DEPTH):
        following: list[str] = []
        for path in frontier:
            text = project.text_of(path)
            if not text:
                continue
            module, is_package = project.module_name(Path(path))
            for name in sorted(imported_modules(text, module, is_package)):
                found = project.path_for_module(name, path)
                key = str(found) if found is not None else None
                if key is not None and key.endswith(".py") and key not in seen:
                    seen.add(key)
                    following.append(key)
        if not following:
            break
        frontier = following
    return sorted(seen - {start})
