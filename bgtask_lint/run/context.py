"""The rest of the project: files a run does not report on, read to complete
the chains that reach the files it does.

A finding that spans modules (a route in one file submits an async task of
another, which blocks; a route hands its session to a handler that queues it)
must not depend on which files are named: pre-commit passes only the changed
ones. So before the checked files are checked, the project's other files that
import one of them (directly or through other such files, up to
`max-call-depth` imports away) and could submit tasks are indexed too: their
routes and task submissions give the checked files the same facts a
whole-project run would. Whether a file imports a checked module is read off
its import lines with a regular expression, so the project is read but only
the few files that matter are parsed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    from bgtask_lint.analysis.project import Project
    from bgtask_lint.config.settings import SettingsResolver

_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+\(?([^#\n]*)", re.MULTILINE)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^#\n]*)", re.MULTILINE)


def covers(requested: Sequence[str], root: Path) -> bool:
    """Whether the requested paths include the whole project at `root`."""
    top = str(root)
    return any(top == path or top.startswith(path.rstrip(os.sep) + os.sep) for path in requested)


def index_context(
    project: Project,
    resolver: SettingsResolver,
    matters: Callable[[str, str], bool],
    max_depth: int,
    cached: Callable[[str], Optional[list[tuple[str, str]]]] = lambda path: None,
    store: Callable[[str, list[tuple[str, str]], set[str]], None] = lambda *args: None,
) -> list[str]:
    """Index the files of `project` that lead into its checked files; returns
    them. `matters(path, text)`: whether some enabled rule could use the file
    (the text screen of its configuration); `cached(path)`: its facts from the
    result cache, if there; `store(path, facts, consulted)`: cache them."""
    from bgtask_lint.run.discovery import discover

    others: list[str] = []
    for found in discover([project.root], resolver):
        key = os.path.abspath(found.path)
        if found.error is None and key not in project.checked:
            others.append(key)
    project.context_files = others
    reached = set(project.checked)
    imports = {path: _imported_modules(project, path) for path in others}
    leading: list[str] = []
    for _ in range(max_depth):
        new = [
            path
            for path in others
            if path not in reached
            and any(_module_path(project, m, path) in reached for m in imports[path])
        ]
        if not new:
            break
        reached.update(new)
        leading.extend(new)
    indexed = []
    for path in sorted(leading):
        text = project.text_of(path)
        if text is None or not matters(path, text):
            continue
        facts = cached(path)
        if facts is not None:
            project.add_facts(facts, path)
            indexed.append(path)
            continue
        consulted = project.track_consulted()
        model = project.model_for_path(Path(path))
        project.consulted = None
        if model is not None:
            store(path, project.index(model), consulted)
            indexed.append(path)
    return indexed


def _imported_modules(project: Project, path: str) -> list[str]:
    """The absolute module names `path`'s import lines name (for `from a
    import b`, both `a` and `a.b`: b may be a module)."""
    text = project.text_of(path)
    if not text or "import" not in text:
        return []
    module, is_package = project.module_name(Path(path))
    names: list[str] = []
    for base, items in _FROM.findall(text):
        absolute = _absolute(base, module, is_package)
        if absolute is None:
            continue
        names.append(absolute)
        for item in items.split(","):
            name = item.strip().strip("()").split(" as ")[0].strip()
            if name.isidentifier():
                names.append(f"{absolute}.{name}" if absolute else name)
    for items in _IMPORT.findall(text):
        for item in items.split(","):
            name = item.strip().split(" as ")[0].strip()
            if name and all(part.isidentifier() for part in name.split(".")):
                names.append(name)
    return names


def _absolute(base: str, module: Optional[str], is_package: bool) -> Optional[str]:
    if not base.startswith("."):
        return base
    if module is None:
        return None
    dots = len(base) - len(base.lstrip("."))
    package = module.split(".") if is_package else module.split(".")[:-1]
    if dots - 1 > len(package):
        return None
    parts = package[: len(package) - (dots - 1)]
    rest = base[dots:]
    return ".".join([*parts, rest] if rest else parts)


def _module_path(project: Project, name: str, near: str) -> Optional[str]:
    if not name:
        return None
    found = project.path_for_module(name, near)
    return str(found) if found is not None else None
