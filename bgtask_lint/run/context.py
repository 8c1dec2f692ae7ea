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
can lead into a checked module (an outline, see _leading_parts): those using
a name imported from one, or a name of another module whose definition leads
there in turn. A file whose imports all lead elsewhere is not parsed at all.
"""

from __future__ import annotations

import json
import os
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Optional, Union

from bgtask_lint import __version__
from bgtask_lint.analysis import project as reading  # READ_IN_PART, read when asked
from bgtask_lint.analysis.imports import absolute_module, imported_modules
from bgtask_lint.run.cache import make_directory, stamp
from bgtask_lint.text.source import Stamp

if TYPE_CHECKING:
    from bgtask_lint.analysis.outline import Outline
    from bgtask_lint.analysis.project import Project
    from bgtask_lint.config.settings import SettingsResolver
    from bgtask_lint.run.walk_memo import WalkMemo


def covers(requested: Sequence[str], root: Path) -> bool:
    """Whether the requested paths include the whole project at `root`."""
    top = str(root)
    return any(top == path or top.startswith(path.rstrip(os.sep) + os.sep) for path in requested)


def leading_files(
    project: Project, resolver: SettingsResolver, max_depth: int, memo: Optional[WalkMemo] = None
) -> tuple[list[str], frozenset[str]]:
    """The files of `project` that lead into its checked files, sorted, and
    the names of the modules reached (the checked ones and those files, as
    _names_of spells them). Sets `project.context_files`: every file of the
    project the run does not check. `memo`: the walk's of earlier runs."""
    from bgtask_lint.run.discovery import discover

    others: list[str] = []
    for found in discover([project.root], resolver, for_context=True, memo=memo):
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
            imports[path] = _qualified(project, path, *_imported_modules(project, path))
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
    project: Project, path: str, reached_names: frozenset[str], max_depth: int
) -> Optional[tuple[list[tuple[str, str]], set[str]]]:
    """What leading file `path` says about other files (Project.index, calls
    `max_depth` deep), and the files that was read from; None when it cannot
    be parsed."""
    # The facts hold while the files they were read from do: the module's
    # own and those its routes were followed into (a checked file's
    # signature tells which parameter gets a session).
    consulted = project.track_consulted()
    parts = _leading_parts(project, path, reached_names) if reading.READ_IN_PART else None
    facts: Optional[list[tuple[str, str]]] = []  # nothing leads in: nothing to parse
    if parts is None or parts:
        model = (
            project.model_keeping(Path(path), parts)
            if parts is not None
            else project.model_for_path(Path(path))
        )
        facts = project.index(model, max_depth) if model is not None else None
    project.consulted = None
    return (facts, consulted) if facts is not None else None


def _leading_parts(
    project: Project, path: str, reached_names: frozenset[str]
) -> Optional[frozenset[int]]:
    """The parts (outline.py) of context file `path` that can lead into a
    checked module: only there can a value its routes hand on reach a
    checked file. That is the statements using a name it imports that leads
    there (see _Leads), those holding such an import in their own code, the
    statements using a name those bind in turn (the route that calls a
    helper that calls in), and what all of them use. None for the whole
    module: an import of a reached module is `*`, or Python's parser cannot
    read it; none at all when nothing leads in (nothing to parse)."""
    found = project.outline(Path(path))
    if found is None:
        return None
    leads = _Leads(project, reached_names)
    seeds: set[int] = set()
    names: set[str] = set()
    for index, part in enumerate(found.parts):
        for base, imported in part.imports:
            for name, bound in imported:
                if name == "*":
                    if base is not None and leads.is_reached(path, base):
                        return None
                    continue
                if not leads.imported_leads(path, base, name):
                    continue
                if part.is_import:
                    names.add(bound)
                else:  # an import in a function's own code, or under an `if`
                    seeds.add(index)
    if not seeds and not names:
        return frozenset()
    return found.reaching(seeds, frozenset(names))


class _Leads:
    """Which names imported from the reached modules can lead into a checked
    one. A module reached by the walk (leading_files) imports a checked
    module, or another reached one; but of what a context file imports from
    it, only a name whose definition uses (in turn, through the module's
    other names) a name imported from a checked module can hand a value on
    there: `sio`, `emit_to_users` of a socket module that one of its
    functions imports a route module for lead nowhere. Read off Python's
    outline of each module followed (the same names the analysis resolves
    calls by); what cannot be told leads (a `*` import, a module-level
    `__getattr__`, a module that does not parse)."""

    # Per project, its checked files and their module names (a worker
    # indexes many context files of one run).
    _checked: ClassVar[
        weakref.WeakKeyDictionary[Project, tuple[frozenset[str], frozenset[str]]]
    ] = weakref.WeakKeyDictionary()

    def __init__(self, project: Project, reached_names: frozenset[str]) -> None:
        """One per context file: the answers are not kept from one file to
        the next, whose cached facts must name every module its answers read
        (Project.outline records them as it reads)."""
        self.project = project
        self.reached_names = reached_names
        checked = frozenset(project.checked)
        known = self._checked.get(project)
        if known is None or known[0] != checked:
            names = frozenset(name for path in sorted(checked) for name in _names_of(project, path))
            known = self._checked[project] = (checked, names)
        self.checked_names = known[1]
        # Per (module file, name): whether it leads into a checked module.
        self._known: dict[tuple[str, str], bool] = {}

    def is_reached(self, path: str, base: str) -> bool:
        """Whether `from <base> import ...` in file `path` names a reached module."""
        absolute = self._absolute(path, base)
        return absolute is not None and self._reached(path, absolute)

    def imported_leads(self, path: str, base: Optional[str], name: str) -> bool:
        """Whether `name` imported in file `path` (`from <base> import name`;
        `import name` when base is None) can lead into a checked module."""
        target = self._imported(path, base, name)
        if isinstance(target, bool):
            return target
        return self._name_leads(*target)

    def _imported(self, path: str, base: Optional[str], name: str) -> Union[bool, tuple[str, str]]:
        """What an import says at once (True: it leads; False: it cannot),
        else the (file, name) whose definition tells."""
        if base is None:  # `import a.b` binds `a`: any module below it can be reached
            return self._below_reached(path, name.partition(".")[0])
        absolute = self._absolute(path, base)
        if absolute is None:
            return False
        member = f"{absolute}.{name}" if absolute else name
        if self._below_reached(path, member):
            return True  # a reached module itself, or a package holding one
        if not self._reached(path, absolute):
            return False
        if self._qualified(path, absolute) & self.checked_names:
            return True
        target = self.project.path_for_module(absolute, path)
        return (str(target), name) if target is not None else True

    def _name_leads(self, path: str, name: str) -> bool:
        """Whether module-level `name` of reached module `path` leads into a
        checked module: the parts binding it, and in turn those binding the
        names their code uses, followed into the modules they import from."""
        start = (path, name)
        if start in self._known:
            return self._known[start]
        pending, seen = [start], {start}
        while pending:
            module, wanted = pending.pop()
            known = self._known.get((module, wanted))
            if known is not None:
                if known:
                    self._known[start] = True
                    return True
                continue
            found = self.project.outline(Path(module))
            if found is None:
                self._known[start] = True
                return True
            binders = found.binders(wanted)
            if not binders and (found.binders("__getattr__") or self._stars(found)):
                self._known[start] = True  # `*` or a module-level __getattr__: cannot tell
                return True
            for index in binders:
                part = found.parts[index]
                for base, imported in part.imports:
                    for other, bound in imported:
                        if part.is_import and bound != wanted:
                            continue  # `from x import wanted, other`: only wanted's import
                        target = self._imported(module, base, other) if other != "*" else True
                        if target is True:
                            self._known[start] = True
                            return True
                        if target is not False and target not in seen:
                            seen.add(target)
                            pending.append(target)
                for used in sorted(part.uses):
                    if found.binders(used) and (module, used) not in seen:
                        seen.add((module, used))
                        pending.append((module, used))
        for each in seen:  # none of them leads: nothing they reach does
            self._known[each] = False
        return False

    @staticmethod
    def _stars(found: Outline) -> bool:
        """Whether the module has a `from ... import *`."""
        return any(
            name == "*"
            for part in found.parts
            for _, imported in part.imports
            for name, _ in imported
        )

    def _absolute(self, path: str, base: str) -> Optional[str]:
        return absolute_module(base, *_module_of(self.project, path))

    def _qualified(self, path: str, module: str) -> set[str]:
        return _qualified(self.project, path, {module}, extends=True)

    def _reached(self, path: str, module: str) -> bool:
        return not self.reached_names.isdisjoint(self._qualified(path, module))

    def _below_reached(self, path: str, module: str) -> bool:
        """Whether a reached module is `module` or below it. A top-level name
        is spelled with its import root (see _qualified), but the dotted
        names below it are not: `import server.api.tasks` binds `server`,
        and reached `server.api.tasks` is below it as written."""
        names = {*self._qualified(path, module), module}
        return any(_below(reached, name) for name in names for reached in self.reached_names)


def _below(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


# What each file imports, kept between runs by the file's size and
# modification time, as ruff's cache does: a long-lived process (the
# language server) keeps it in memory, so that an edit in the editor reads
# no file it did not change; a run with a cache keeps it there, so that a
# pre-commit run on a few files does not read the whole project to find
# which files import them.
# Per file: its stamp, its module, the modules it imports, and whether it
# puts directories on `sys.path` itself.
_Imports = tuple[Stamp, tuple[Optional[str], bool], set[str], bool]
_remembered: Optional[dict[str, _Imports]] = None
_IMPORTS_FILE = f"imports-v{__version__}.json"


def remember_between_runs(on: bool = True) -> None:
    global _remembered
    _remembered = {} if on else None


@contextmanager
def imports_kept_in(cache_directory: Optional[Path]) -> Iterator[None]:
    """What files import, read from the cache in `cache_directory` and
    written back with what this run read (None: no cache, nothing kept).
    The language server's own memory, when on, is used instead."""
    global _remembered
    if cache_directory is None or _remembered is not None:
        yield
        return
    path = cache_directory / _IMPORTS_FILE
    _remembered = _read_imports(path)
    before = dict(_remembered)
    try:
        yield
    finally:
        kept, _remembered = _remembered, None
        if kept != before:
            _write_imports(path, kept)


def _read_imports(path: Path) -> dict[str, _Imports]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or unreadable: read the files again
    kept = {}
    try:
        for file, (size, mtime, module, is_package, names, extends) in raw.items():
            module = None if module is None else str(module)
            now = (int(size), int(mtime))
            kept[str(file)] = (now, (module, bool(is_package)), set(names), bool(extends))
    except (AttributeError, TypeError, ValueError):
        return {}  # of another shape
    return kept


def _write_imports(path: Path, kept: dict[str, _Imports]) -> None:
    data = {
        file: [*now, *module, sorted(names), extends]
        for file, (now, module, names, extends) in sorted(kept.items())
    }
    make_directory(path.parent)
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".imports-")
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(temporary, path)
    except OSError:
        pass  # not kept: the next run reads the files again


def _imported_modules(project: Project, path: str) -> tuple[set[str], bool]:
    """The absolute module names `path`'s import lines name (see
    imports.imported_modules), and whether it puts directories on
    `sys.path` (then its imports are resolved: see _qualified)."""
    module = _module_of(project, path)
    remembered = _remembered if path not in project.overlay else None
    if remembered is not None:
        now = stamp(path)
        known = remembered.get(path)
        if known is not None and known[0] == now and known[1] == module:
            return known[2], known[3]
    text = project.text_of(path)
    found = imported_modules(text, *module) if text else set()
    extends = bool(project.search_path_added_by(path))
    if remembered is not None:
        remembered[path] = (now, module, found, extends)
    return found, extends


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


def _qualified(project: Project, path: str, names: set[str], extends: bool) -> set[str]:
    """`names` as `_names_of` spells them: top-level ones tied to the import
    root of the importing file. A file that puts directories on `sys.path`
    itself (rare; `extends`: it may, read its text to know) may import any
    module below them by a name no other file uses: its names are resolved
    to their files and named as those are."""
    root = project.package_root(os.path.dirname(path))
    found = {name if "." in name else f"{root}\0{name}" for name in names}
    if extends and project.search_path_added_by(path):
        for name in sorted(names):
            target = project.path_for_module(name, path)
            if target is not None:
                found |= _names_of(project, str(target))
    return found
