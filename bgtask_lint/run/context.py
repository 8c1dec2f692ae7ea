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
the few files that matter are parsed, and of those only the statements that
can lead into the modules reached (an outline, see _leading_part).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from bgtask_lint.analysis.imports import absolute_module, imported_modules

if TYPE_CHECKING:
    from bgtask_lint.analysis.model import Model
    from bgtask_lint.analysis.project import Project
    from bgtask_lint.config.settings import SettingsResolver


def covers(requested: Sequence[str], root: Path) -> bool:
    """Whether the requested paths include the whole project at `root`."""
    top = str(root)
    return any(top == path or top.startswith(path.rstrip(os.sep) + os.sep) for path in requested)


def leading_files(
    project: Project, resolver: SettingsResolver, max_depth: int
) -> tuple[list[str], frozenset[str]]:
    """The files of `project` that lead into its checked files, sorted, and
    the names of the modules reached (the checked ones and those files, as
    _names_of spells them). Sets `project.context_files`: every file of the
    project the run does not check."""
    from bgtask_lint.run.discovery import discover

    others: list[str] = []
    for found in discover([project.root], resolver):
        key = os.path.abspath(found.path)
        if found.error is None and key not in project.checked:
            others.append(key)
    project.context_files = others
    # Which files import which is told by module names, not by resolving each
    # import to a file: a project has hundreds of thousands of import names.
    # A dotted name (`app.tasks`) is the same module wherever it is imported;
    # a top-level one (`tasks`) only from the same import root (a script's
    # directory is on its own path, not on another's).
    imports: dict[str, set[str]] = {}

    def imports_of(path: str) -> set[str]:
        if path not in imports:
            imports[path] = _qualified(project, path, _imported_modules(project, path))
        return imports[path]

    reached = set(project.checked)
    reached_names: set[str] = set()
    if len(project.checked) <= len(others):
        for path in project.checked:
            reached_names.update(_names_of(project, path))
    else:
        # Many files checked, few not (a whole tree but one folder): resolve
        # the few files' imports instead of naming every checked module.
        for path in others:
            for name in imports_of(path):
                module = project.path_for_module(name.rpartition("\0")[2], path)
                if module is not None and str(module) in reached:
                    reached_names.add(name)
    leading: list[str] = []
    for _ in range(max_depth):
        new = [
            path
            for path in others
            if path not in reached and not reached_names.isdisjoint(imports_of(path))
        ]
        if not new:
            break
        reached.update(new)
        leading.extend(new)
        for path in new:
            reached_names.update(_names_of(project, path))
    return sorted(leading), frozenset(reached_names)


def context_facts(
    project: Project, path: str, reached_names: frozenset[str]
) -> Optional[tuple[list[tuple[str, str]], set[str]]]:
    """What leading file `path` says about other files (Project.index), and
    the files that was read from; None when it cannot be parsed."""
    # The facts hold while the files they were read from do: the module's
    # own and those its routes were followed into (a checked file's
    # signature tells which parameter gets a session).
    consulted = project.track_consulted()
    model = _leading_part(project, path, reached_names)
    facts = project.index(model) if model is not None else None
    project.consulted = None
    return (facts, consulted) if facts is not None else None


def _leading_part(project: Project, path: str, reached_names: frozenset[str]) -> Optional[Model]:
    """The model of what in context file `path` can lead into the reached
    modules (`reached_names`, as _names_of spells them): only there can a
    value its routes hand on reach a checked file. That is the statements
    holding an import of one of them, those using a name such an import
    binds, the statements using a name those bind in turn (the route that
    calls a helper that calls in), and what all of them use (outline.py).
    The whole module when an import of one is `*`, or Python's parser
    cannot read it."""
    found = project.outline(Path(path))
    if found is None:
        return project.model_for_path(Path(path))
    module, is_package = _module_of(project, path)
    seeds = set()
    for index, part in enumerate(found.parts):
        for base, names in part.imports:
            if base is None:
                # `import a.b` binds `a` (any module below it can be reached
                # through it), `import a.b as c` binds a.b.
                modules = {name.partition(".")[0] for name in names}
                if any(
                    _below(reached, name)
                    for name in _qualified(project, path, modules)
                    for reached in reached_names
                ):
                    seeds.add(index)
                continue
            absolute = absolute_module(base, module, is_package)
            if absolute is None:
                continue
            modules = {absolute, *(f"{absolute}.{name}" if absolute else name for name in names)}
            if reached_names.isdisjoint(_qualified(project, path, modules)):
                continue
            if "*" in names:
                return project.model_for_path(Path(path))
            seeds.add(index)
    return project.model_keeping(Path(path), found.reaching(seeds))


def _below(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def _imported_modules(project: Project, path: str) -> set[str]:
    """The absolute module names `path`'s import lines name (see
    imports.imported_modules)."""
    text = project.text_of(path)
    if not text:
        return set()
    return imported_modules(text, *_module_of(project, path))


def _in_package(project: Project, path: str) -> tuple[str, tuple[str, ...], bool]:
    """(package root, the module's name parts below it, is a package) for a
    file, as Python imports it from the directory above its package."""
    root = project.package_root(os.path.dirname(path))
    parts = Path(os.path.relpath(path, root)).with_suffix("").parts
    is_package = parts[-1:] == ("__init__",)
    parts = parts[:-1] if is_package else parts
    if parts and all(part.isidentifier() for part in parts):
        return root, parts, is_package
    return root, (), False


def _module_of(project: Project, path: str) -> tuple[Optional[str], bool]:
    """(`pkg.mod`, is a package) for a file, from its project source roots or,
    inside a package, from the directory above the package."""
    module, is_package = project.module_name(Path(path))
    if module is not None:
        return module, is_package
    _, parts, is_package = _in_package(project, path)
    return (".".join(parts), is_package) if parts else (None, False)


def _names_of(project: Project, path: str) -> set[str]:
    """The names a module is imported by: from the project's source roots and
    from the directory above its package (top-level names with that root)."""
    names = set()
    module, _ = project.module_name(Path(path))
    if module:
        names.add(module)
    root, parts, _ = _in_package(project, path)
    if parts:
        names.add(".".join(parts) if len(parts) > 1 else f"{root}\0{parts[0]}")
    return names


def _qualified(project: Project, path: str, names: set[str]) -> set[str]:
    """`names` as `_names_of` spells them: top-level ones tied to the import
    root of the importing file."""
    root = project.package_root(os.path.dirname(path))
    return {name if "." in name else f"{root}\0{name}" for name in names}
