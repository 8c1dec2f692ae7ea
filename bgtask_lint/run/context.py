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
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from bgtask_lint.analysis.model import Model
    from bgtask_lint.analysis.project import Project
    from bgtask_lint.config.settings import SettingsResolver

# An import statement, matched where its line starts: what it names is the
# rest of the line, over backslash continuations, or in `from a import (b,
# c)` all within the parentheses.
_LINE_REST = r"[^#\n\\]*(?:\\\r?\n[^#\n\\]*)*"
_FROM = re.compile(rf"[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]*(\([^)]*\)|{_LINE_REST})")
_IMPORT = re.compile(rf"[ \t]*import[ \t]+({_LINE_REST})")
_COMMENT = re.compile(r"#[^\n]*")
_AS = re.compile(r"\s+as\s+")


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
            absolute = _absolute(base, module, is_package)
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
    """The absolute module names `path`'s import lines name (for `from a
    import b`, both `a` and `a.b`: b may be a module)."""
    text = project.text_of(path)
    if not text or "import" not in text:
        return set()
    module, is_package = _module_of(project, path)
    names: set[str] = set()
    froms, imports = _import_statements(text)
    for base, items in froms:
        absolute = _absolute(base, module, is_package)
        if absolute is None:
            continue
        names.add(absolute)
        for name in _imported_names(items.strip("()")):
            if name.isidentifier():
                names.add(f"{absolute}.{name}" if absolute else name)
    for items in imports:
        for name in _imported_names(items):
            if name and all(part.isidentifier() for part in name.split(".")):
                names.add(name)
    return names


def _import_statements(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The (module, names) of each `from` import and the names of each
    `import` statement in `text`. Each line holding the word is matched from
    its start: five times faster than matching at every line of the file."""
    froms: list[tuple[str, str]] = []
    imports: list[str] = []
    at = text.find("import")
    while at != -1:
        line = text.rfind("\n", 0, at) + 1
        statement = _FROM.match(text, line)
        if statement is not None and at < statement.end():
            froms.append((statement[1], statement[2]))
        else:
            statement = _IMPORT.match(text, line)
            if statement is not None and at < statement.end():
                imports.append(statement[1])
            else:
                statement = None
        at = text.find("import", statement.end() if statement is not None else at + 6)
    return froms, imports


def _imported_names(items: str) -> list[str]:
    """`b` and `c` of `b as x, c` (comments and continuations dropped)."""
    items = _COMMENT.sub("", items).replace("\\", " ")
    return [_AS.split(item.strip())[0] for item in items.split(",")]


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
