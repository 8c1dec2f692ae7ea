"""The public API: check (and optionally fix) source text, one file, or paths.

The CLI is a thin layer over these functions; tests and editors can call them
directly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from bgtask_lint.config import Overrides, Settings, SettingsResolver
from bgtask_lint.diagnostic import Diagnostic
from bgtask_lint.discovery import discover
from bgtask_lint.engine import check_text, file_error, needs_check
from bgtask_lint.fixer import fix_text, write_atomically
from bgtask_lint.project import Project, find_project_root
from bgtask_lint.source import DecodeError, decode_source


@dataclass(frozen=True)
class FixMode:
    unsafe: bool = False  # also apply fixes marked unsafe
    write: bool = True  # False for --diff: compute the fixed text, write nothing


@dataclass(frozen=True)
class Change:
    """A file whose text a fix changed (written, or shown by --diff)."""

    filename: str
    before: str
    after: str


@dataclass
class RunResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files_checked: int = 0
    fixed: Counter = field(default_factory=Counter)
    changes: list[Change] = field(default_factory=list)
    # One line per file we failed on (a bug of ours, a write that failed); the
    # run went on without it, and the exit code is 2.
    errors: list[str] = field(default_factory=list)


def check_paths(
    paths: Sequence[Union[str, Path]],
    overrides: Optional[Overrides] = None,
    *,
    force_exclude: bool = False,
    fix: Optional[FixMode] = None,
) -> RunResult:
    """Check (and with `fix`, fix) every Python file under `paths`, each with the
    configuration that applies to it. Raises ConfigError for a bad configuration.

    Files are read first, then the ones that can matter are parsed and the
    background tasks they submit indexed, so that a task defined in another
    module of the project is followed there; only the files asked for are
    reported on."""
    resolver = SettingsResolver(overrides or Overrides())
    result = RunResult()
    projects = _Projects(resolver)
    files: list[_File] = []
    for found in discover([Path(p) for p in paths], resolver, force_exclude=force_exclude):
        if found.error is not None:
            result.diagnostics.append(file_error(str(found.path), found.error))
            continue
        result.files_checked += 1
        loaded = _read(found.path, resolver.for_path(found.path), projects, result)
        if loaded is not None:
            files.append(loaded)
    for loaded in files:  # index the tasks each file submits
        if needs_check(loaded.text):
            model = loaded.project.model_for_text(loaded.path, loaded.text)
            if model is not None:
                loaded.project.note_task_uses(model)
    for loaded in files:
        # A module defining a task used elsewhere is checked even if it does
        # not mention background tasks itself.
        screen = not loaded.project.defines_tasks(loaded.path)
        _check_one(result, loaded, fix, screen=screen)
    return result


@dataclass
class _File:
    path: Path
    text: str
    encoding: str
    settings: Settings
    project: Optional[Project]


class _Projects:
    """One Project per project root met in the run."""

    def __init__(self, resolver: SettingsResolver) -> None:
        self.resolver = resolver
        self.by_root: dict[Path, Project] = {}

    def for_path(self, path: Path, settings: Settings) -> Project:
        root = find_project_root(path)
        if root not in self.by_root:
            roots = [settings.root / src for src in settings.src]
            self.by_root[root] = Project(root, roots)
        return self.by_root[root]


def _read(
    path: Path, settings: Settings, projects: _Projects, result: RunResult
) -> Optional[_File]:
    try:
        data = path.read_bytes()
    except OSError as error:
        message = f"cannot read file: {error.strerror or error}"
        result.diagnostics.append(file_error(str(path), message))
        return None
    try:
        decoded = decode_source(data)
    except DecodeError as error:
        result.diagnostics.append(file_error(str(path), str(error)))
        return None
    project = projects.for_path(path, settings)
    project.mark_checked(path)
    return _File(path, decoded.text, decoded.encoding, settings, project)


def check_stdin(
    data: bytes,
    filename: str,
    overrides: Optional[Overrides] = None,
    fix: Optional[FixMode] = None,
) -> RunResult:
    """Check source read from standard input, configured as if it were `filename`.
    With `fix`, the fixed text is in `result.changes` (nothing is written)."""
    resolver = SettingsResolver(overrides or Overrides())
    path = Path(filename) if filename != "-" else Path.cwd() / "-"
    settings = resolver.for_path(path)
    result = RunResult(files_checked=1)
    try:
        decoded = decode_source(data)
    except DecodeError as error:
        result.diagnostics.append(file_error(filename, str(error)))
        return result
    project = _Projects(resolver).for_path(path, settings)
    loaded = _File(Path(filename), decoded.text, decoded.encoding, settings, project)
    _check_one(result, loaded, FixMode(unsafe=fix.unsafe, write=False) if fix else None)
    return result


def check_source(
    source: Union[str, bytes],
    filename: str = "<string>",
    settings: Optional[Settings] = None,
) -> list[Diagnostic]:
    """Diagnostics for one module's source, on its own (names imported from
    other modules are not followed). `filename` is only used in reports and to
    match `per-file-ignores`."""
    settings = settings or Settings(root=Path.cwd())
    result = RunResult()
    if isinstance(source, bytes):
        try:
            decoded = decode_source(source)
        except DecodeError as error:
            return [file_error(filename, str(error))]
        source, encoding = decoded.text, decoded.encoding
    else:
        encoding = "utf-8"
    _check_one(result, _File(Path(filename), source, encoding, settings, None), None)
    if result.errors:
        raise RuntimeError(result.errors[0])
    return result.diagnostics


def _check_one(
    result: RunResult, loaded: _File, fix: Optional[FixMode], *, screen: bool = True
) -> None:
    filename, source, settings = str(loaded.path), loaded.text, loaded.settings
    codes = settings.enabled_codes(loaded.path)
    options = settings.rule_options()
    project = loaded.project
    try:
        if fix is None:
            result.diagnostics.extend(
                check_text(source, filename, codes, options, project, screen=screen)
            )
            return
        outcome = fix_text(
            source, filename, codes, options, project, unsafe=fix.unsafe, screen=screen
        )
    except Exception as error:  # a bug in a rule must not end the run
        result.errors.append(
            f"internal error while checking {filename}: {type(error).__name__}: {error} "
            "(please report this)"
        )
        return
    if outcome.error:
        result.errors.append(f"{filename}: {outcome.error}")
    elif outcome.text != source and fix.write:
        try:
            write_atomically(loaded.path, outcome.text, loaded.encoding)
        except (OSError, UnicodeError) as error:
            result.errors.append(f"{filename}: cannot write the fixed file: {error}")
            result.diagnostics.extend(
                check_text(source, filename, codes, options, project, screen=screen)
            )
            return
    result.diagnostics.extend(outcome.remaining)
    if outcome.text != source:
        result.fixed.update(outcome.fixed)
        result.changes.append(Change(filename, source, outcome.text))
