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

from bgtask_lint import parallel
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
    workers: Optional[int] = None,
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
        settings = resolver.for_path(found.path, is_dir=False)
        loaded = _read(found.path, settings, projects, result)
        if loaded is not None:
            files.append(loaded)
    needing = [loaded for loaded in files if loaded.matters]
    count = parallel.worker_count(needing, workers)
    if count > 1:
        try:
            _check_in_parallel(result, files, needing, count, fix)
            return result
        except (OSError, RuntimeError, EOFError) as error:
            result.errors.append(f"parallel check failed ({error}); checked in one process")
            result.diagnostics = [d for d in result.diagnostics if d.code == "BGT901"]
            result.fixed.clear()
            result.changes.clear()
    for loaded in needing:  # index the tasks each file submits
        model = loaded.project.model_for_text(loaded.path, loaded.text)
        if model is not None:
            loaded.project.note_task_uses(model)
    for loaded in files:
        # A module defining a task used elsewhere is checked even if it does
        # not mention background tasks itself.
        if loaded.matters or loaded.project.defines_tasks(loaded.path):
            _check_one(result, loaded, fix, screen=False)
    return result


def _check_in_parallel(
    result: RunResult,
    files: list[_File],
    needing: list[_File],
    count: int,
    fix: Optional[FixMode],
) -> None:
    """The same as the loops at the end of check_paths, on `count` workers that
    each own a share of the files needing a parse."""
    checked = {str(p.root): {str(k) for k in p.checked} for p in _projects_of(files)}
    shares = parallel.share(needing, count)
    pool = parallel.Pool(count)
    try:
        requests = [("index", ([_job(i, needing[i]) for i in mine], checked)) for mine in shares]
        for uses in pool.ask_all(requests):
            for root, task_uses in uses.items():
                _project_at(files, root).add_task_uses(task_uses)
        extras = [f for f in files if not f.matters and f.project.defines_tasks(f.path)]
        tasks = {str(p.root): p.task_uses() for p in _projects_of(files)}
        requests = [
            ("check", (tasks, [_job(-1 - e, f) for e, f in enumerate(extras[n::count])], fix))
            for n in range(count)
        ]
        answers = pool.ask_all(requests)
    finally:
        pool.close()
    by_file: dict[str, RunResult] = {}
    for answer in answers:
        by_file.update(answer)
    for loaded in files:  # in discovery order, as one process would report
        part = by_file.get(str(loaded.path))
        if part is not None:
            result.diagnostics.extend(part.diagnostics)
            result.fixed.update(part.fixed)
            result.changes.extend(part.changes)
            result.errors.extend(part.errors)


def _projects_of(files: Sequence[_File]) -> list[Project]:
    return list({id(f.project): f.project for f in files if f.project}.values())


def _project_at(files: Sequence[_File], root: str) -> Project:
    return next(p for p in _projects_of(files) if str(p.root) == root)


def _job(index: int, loaded: _File) -> tuple:
    """What a worker needs to rebuild `loaded` on its side (no Project)."""
    project = loaded.project
    assert project is not None
    roots = [str(r) for r in project.source_roots]
    return (
        index,
        str(loaded.path),
        loaded.text,
        loaded.encoding,
        loaded.settings,
        str(project.root),
        roots,
        loaded.matters,
    )


class WorkerState:
    """What a worker process keeps between the index and check requests."""

    def __init__(self) -> None:
        self.projects: dict[str, Project] = {}
        self.files: list[_File] = []

    def _file(self, job: tuple, checked: dict[str, set[str]]) -> _File:
        _, path, text, encoding, settings, root, roots, matters = job
        project = self.projects.get(root)
        if project is None:
            project = Project(Path(root))
            project.source_roots = [Path(r) for r in roots]
            project.checked = {Path(k) for k in checked.get(root, ())}
            self.projects[root] = project
        return _File(Path(path), text, encoding, settings, project, matters)

    def index(self, jobs: list[tuple], checked: dict[str, set[str]]) -> dict[str, list]:
        self.checked = checked
        for job in jobs:
            loaded = self._file(job, checked)
            self.files.append(loaded)
            assert loaded.project is not None
            model = loaded.project.model_for_text(loaded.path, loaded.text)
            if model is not None:
                loaded.project.note_task_uses(model)
        return {root: project.task_uses() for root, project in self.projects.items()}

    def check(
        self, tasks: dict[str, list], extras: list[tuple], fix: Optional[FixMode]
    ) -> dict[str, RunResult]:
        self.files.extend(self._file(job, self.checked) for job in extras)
        for root, project in self.projects.items():
            project.add_task_uses(tasks.get(root, ()))
        answers = {}
        for loaded in self.files:
            part = RunResult()
            _check_one(part, loaded, fix, screen=False)
            answers[str(loaded.path)] = part
        return answers


@dataclass
class _File:
    path: Path
    text: str
    encoding: str
    settings: Settings
    project: Optional[Project]
    # Passes the text screen: some rule may report on it (engine.needs_check).
    matters: bool = True


class _Projects:
    """One Project per project root met in the run."""

    def __init__(self, resolver: SettingsResolver) -> None:
        self.resolver = resolver
        self.by_root: dict[Path, Project] = {}

    def for_path(self, path: Path, settings: Settings) -> Project:
        root = find_project_root(path, is_dir=False)
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
    text = decoded.text
    return _File(path, text, decoded.encoding, settings, project, needs_check(text))


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
