"""One run over a set of files, in phases:

1. look each file up in the result cache (unchanged files are not even read);
2. read and decode the others, and screen their text;
3. index: parse the files that can matter and record the background tasks
   they submit, so that a task defined in another module is followed there;
4. check (or fix) the files that can matter, plus any module defining a task
   used elsewhere; reuse cached findings where nothing they depend on changed;
5. store what was computed in the cache.

Phase 2 runs on worker processes when there are many files to read, and
phases 3 and 4 when there is enough to parse (with the same workers).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from bgtask_lint.analysis.project import Project, find_project_root
from bgtask_lint.config.settings import Settings, SettingsResolver
from bgtask_lint.diagnostic import Diagnostic, file_error
from bgtask_lint.run import parallel
from bgtask_lint.text.markdown import is_markdown
from bgtask_lint.text.source import (
    DecodeError,
    Stamp,
    TooLarge,
    UnreadableFile,
    decode_source,
    might_matter,
    read_file,
)

if TYPE_CHECKING:
    from bgtask_lint.run.cache import Cache, Entry
    from bgtask_lint.run.result import FixMode, RunResult


@dataclass
class SourceFile:
    name: str  # as the user spelled it: how reports name the file
    key: str  # absolute path: how the project and the cache name it
    settings: Settings
    project: Optional[Project]
    text: Optional[str] = None  # None until read (a cached file may never be)
    encoding: str = "utf-8"
    matters: bool = False  # passes the text screen: some rule may report
    entry: Optional[Entry] = None  # a valid cache entry
    uses: list[tuple[str, str]] = field(default_factory=list)
    # The other files (and missing module paths) its findings depend on, with
    # their stamps when they were read (None: not read, stat it when storing).
    deps: dict[str, Optional[Stamp]] = field(default_factory=dict)
    stamp: Optional[Stamp] = None  # of the bytes `text` was decoded from

    @property
    def in_project(self) -> Project:
        """The project of a file of a Run (only the API's check_source has none)."""
        assert self.project is not None
        return self.project

    @property
    def path(self) -> Path:
        # Built on demand: a file whose findings come from the cache needs none.
        return Path(self.name)


class Run:
    def __init__(
        self,
        resolver: SettingsResolver,
        result: RunResult,
        fix: Optional[FixMode] = None,
        workers: Optional[int] = None,
        cache: Optional[Cache] = None,
        overlay: Optional[dict[str, tuple[str, str]]] = None,
    ) -> None:
        self.resolver = resolver
        # Texts (and encodings) that stand for files' contents: the fixed texts
        # of an earlier pass of `--diff`, which writes nothing.
        self.overlay = overlay or {}
        self.result = result
        self.fix = fix
        self.workers = workers
        self.cache = cache if fix is None else None  # fixes always start from the text
        self.files: list[SourceFile] = []
        self.projects: dict[Path, Project] = {}
        # The paths asked for (absolute): a project they do not cover whole is
        # read for the chains that lead into them (see context.py).
        self.requested: list[str] = []
        # Files not asked about that hold the end of a chain starting in one
        # that is: checked for those findings only, never fixed nor cached.
        self.chain_ends: list[SourceFile] = []
        self._chain_ends_found = False
        # Per project read for context: the modules its leading files reach.
        self._reached: dict[str, frozenset[str]] = {}
        self._fingerprints: dict[tuple[int, frozenset[str], Path], str] = {}

    def add(self, path: Union[str, Path], absolute: Optional[str] = None) -> None:
        """Check `path` in this run (`absolute`: its absolute path, if known)."""
        # Once: the helpers below get it ready-made.
        absolute = absolute or os.path.abspath(path)
        settings = self.resolver.for_path(absolute, is_dir=False)
        root = find_project_root(absolute, is_dir=False)
        project = self.projects.get(root)
        if project is None:
            roots = [settings.root / src for src in settings.src]
            project = Project(root, roots, settings.max_file_size)
            project.overlay = self.overlay
            self.projects[root] = project
        if not is_markdown(absolute):  # a Markdown file's blocks are modules of their own
            project.checked.add(absolute)
        self.files.append(SourceFile(str(path), absolute, settings, project))
        self.result.files_checked += 1
        self.result.checked_paths.append(absolute)

    def execute(self) -> None:
        if self.cache is not None:
            for file in self.files:
                file.entry = self.cache.lookup(
                    file.key, self._fingerprint(file), file.in_project.is_checked
                )
                if file.entry is not None:
                    file.matters = file.entry.matters
                    file.in_project.add_facts(file.entry.uses, file.key)
        read, pool = self._read_all([f for f in self.files if f.entry is None])
        kept = {id(f) for f in read}
        self.files = [f for f in self.files if f.entry is not None or id(f) in kept]
        fresh = [f for f in self.files if f.entry is None and f.matters]
        ahead = self._workers_ahead(fresh) if pool is None else None
        try:
            context = self._context()
        except BaseException:  # Ctrl-C, SIGTERM: the workers are not left behind
            if ahead is not None:
                ahead.close(abort=True)
            raise
        if ahead is not None:
            pool = ahead
            count = len(ahead.connections)
        else:
            count = parallel.worker_count([*fresh, *context], self.workers)
        if pool is not None and len(pool.connections) != count:
            pool.close()
            pool = None
        if count > 1:
            reported = len(self.result.diagnostics)
            try:
                self._in_parallel(fresh, context, count, pool)
                self._store()
                return
            except (OSError, RuntimeError, EOFError) as error:
                # Do it all here instead (see _worker_failed).
                del self.result.diagnostics[reported:]
                self._worker_failed(error)
                if self.fix is not None and self.fix.write:
                    # The worker may have written fixes: start from the files as they are.
                    self.files = [f for f in self.files if f.entry is not None or self._read(f)]
                    fresh = [f for f in self.files if f.entry is None and f.matters]
        for file in fresh:
            _index(file)
        for file in context:
            self._take_context_facts(file, _context_facts(file, self._reached))
        for file in self._to_check():
            check_file(self.result, file, self.fix)
        self._store()

    def _workers_ahead(self, fresh: list[SourceFile]) -> Optional[parallel.Pool]:
        """Workers started before the context is walked, when it will be (a
        run on some files of a project) and there is a file to parse: they
        import libcst meanwhile, and take even one file, which the main
        process could only start on after the walk and the import."""
        from bgtask_lint.run.context import covers

        cores = os.cpu_count() or 1
        if not fresh or not parallel.forks_cheaply() or self.workers is not None or cores < 2:
            return None
        if all(covers(self.requested, project.root) for project in self.projects.values()):
            return None
        try:
            return parallel.Pool(min(cores, len(fresh) + 1), partial(WorkerState, parses=True))
        except OSError:
            return None

    def index_context(self) -> None:
        """Index the files of each project that lead into the checked ones,
        when the paths asked for do not cover the whole project."""
        for file in self._context():
            self._take_context_facts(file, _context_facts(file, self._reached))

    def _context(self) -> list[SourceFile]:
        """The files of each project that lead into its checked ones, when the
        paths asked for do not cover the whole project, and that some rule
        could use: those to index this run (the others' facts are taken from
        the cache here)."""
        from bgtask_lint.run.context import covers, leading_files

        todo = []
        for project in self.projects.values():
            depths = [f.settings.max_call_depth for f in self.files if f.project is project]
            # No file of this project is left to check (none could be read):
            # nothing leads into it.
            if not depths or covers(self.requested, project.root):
                continue
            depth = max(depths)
            leading, self._reached[str(project.root)] = leading_files(project, self.resolver, depth)
            for path in leading:
                text = project.text_of(path)
                if text is None or not self._matters(path, text):
                    continue
                facts = self._cached_facts(project, path)
                if facts is not None:
                    project.add_facts(facts, path)
                    continue
                file = self._context_file(project, path)
                file.text = text
                todo.append(file)
        return todo

    def _take_context_facts(
        self,
        file: SourceFile,
        found: Optional[tuple[list[tuple[str, str]], dict[str, Optional[Stamp]]]],
    ) -> None:
        """Record (and cache) what a file read for context says, as
        context_facts found it (None: it could not be parsed)."""
        if found is None:
            return
        facts, deps = found
        project = file.in_project
        project.add_facts(facts, file.key)
        self._store_facts(project, file.key, facts, deps)

    def _context_file(self, project: Project, path: str) -> SourceFile:
        return SourceFile(path, path, self.resolver.for_context(path, is_dir=False), project)

    def _cached_facts(self, project: Project, path: str) -> Optional[list[tuple[str, str]]]:
        if self.cache is None:
            return None
        file = self._context_file(project, path)
        entry = self.cache.lookup(path, self._fingerprint(file), project.is_checked, for_facts=True)
        return entry.uses if entry is not None else None

    def _store_facts(
        self,
        project: Project,
        path: str,
        facts: list[tuple[str, str]],
        consulted: dict[str, Optional[Stamp]],
    ) -> None:
        """Cache what a file read for context says (it has no findings), with
        the files it was read from and their stamps when read (None: stat)."""
        stamp = consulted.get(path) or project.stamps.get(path)
        if self.cache is None or stamp is None:
            return
        from bgtask_lint.run.cache import Entry

        deps = {}
        for dep in sorted(set(consulted) - {path}):
            dep_stamp = consulted[dep] or project.stamps.get(dep) or self.cache.stamp_of(dep)
            deps[dep] = (*dep_stamp, project.is_checked(dep))
        file = self._context_file(project, path)
        entry = Entry(stamp, self._fingerprint(file), True, facts, deps, [], [], checked=False)
        self.cache.store(path, entry)

    def _matters(self, path: str, text: str) -> bool:
        codes = self.resolver.for_context(path, is_dir=False).enabled_codes(path)
        from bgtask_lint.rules import screen

        return screen(codes)(text)

    def _fingerprint(self, file: SourceFile) -> str:
        """The cache fingerprint of the configuration that applies to `file`;
        computed once per configuration (and rule selection) in the run."""
        from bgtask_lint.run.cache import fingerprint

        codes = _codes(file)
        project_root = file.in_project.root
        key = (id(file.settings), codes, project_root)
        if key not in self._fingerprints:
            settings = file.settings
            options = settings.rule_options(project_root)  # with the project's own pin
            self._fingerprints[key] = fingerprint(
                codes, options, settings.src, settings.max_file_size, sorted(settings.fixable_codes)
            )
        return self._fingerprints[key]

    def _worker_failed(self, error: Exception) -> None:
        """No processes to be had (OSError), or a worker failed: the run goes
        on in this process. A rule's own crash is not this (check_file
        reports it per file), so a worker that failed is a bug: say so."""
        self.workers = 1  # the rest of the run too: once is enough to say it
        if not isinstance(error, OSError):
            self.result.errors.append(
                f"a worker process failed ({type(error).__name__}: {error}); "
                "the run went on in one process (please report this)"
            )

    def _read(self, file: SourceFile, *, keep: bool = False) -> bool:
        """Read, decode and screen `file` (see read_and_screen); a failure is
        reported and the file dropped."""
        reading = read_and_screen(
            file.key, file.settings.max_file_size, _codes(file), self.overlay, keep=keep
        )
        return self._take(file, reading)

    def _take(self, file: SourceFile, reading: Reading) -> bool:
        if reading.error is not None:
            self.result.diagnostics.append(file_error(file.name, reading.error))
        if not reading.read:
            return False
        file.text, file.encoding, file.stamp = reading.text, reading.encoding, reading.stamp
        file.matters = reading.matters
        return True

    def _read_all(
        self, files: list[SourceFile]
    ) -> tuple[list[SourceFile], Optional[parallel.Pool]]:
        """The files that could be read, in order (each read, decoded and
        screened). Many are read on worker processes, which are returned to
        go on with (None: read here)."""
        count = parallel.reader_count(len(files), self.workers)
        if count > 1:
            try:
                pool = parallel.Pool(count, WorkerState)
            except OSError:
                pool = None
            if pool is not None:
                try:
                    readings = self._read_in_parallel(pool, files)
                except (OSError, RuntimeError, EOFError) as error:
                    pool.close(abort=True)  # read them here instead: nothing was taken yet
                    self._worker_failed(error)
                else:
                    return [f for f, r in zip(files, readings) if self._take(f, r)], pool
        return [f for f in files if self._read(f)], None

    def _read_in_parallel(self, pool: parallel.Pool, files: list[SourceFile]) -> list[Reading]:
        chunks = [
            range(n, min(n + READ_CHUNK, len(files))) for n in range(0, len(files), READ_CHUNK)
        ]
        count = len(pool.connections)
        queues = [chunks[n::count] for n in range(count)]
        told: set[int] = set()
        readings: dict[int, list[Reading]] = {}

        def request(worker: int, chunk: range) -> ReadRequest:
            first = worker not in told
            told.add(worker)
            jobs = [
                (files[i].key, files[i].settings.max_file_size, _codes(files[i])) for i in chunk
            ]
            return ReadRequest(jobs, self.overlay if first else None)

        def answered(worker: int, chunk: range, answer: list[Reading]) -> None:
            readings[chunk.start] = answer

        pool.work_through(queues, request, answered)
        return [reading for start in sorted(readings) for reading in readings[start]]

    def _to_check(self) -> list[SourceFile]:
        """Files whose findings must be computed, in discovery order; the others
        get theirs from the cache."""
        todo = []
        for file in self.files:
            facts_here = file.in_project.facts_here(file.key)
            if file.entry is not None and file.entry.tasks_here == facts_here:
                self.result.diagnostics.extend(file.entry.diagnostics)
                continue
            if file.entry is not None:
                file.entry = None  # other files now submit its functions as tasks
                if not self._read(file, keep=True):
                    continue
            if file.matters or file.in_project.runs_tasks(file.key):
                if file.text is None and not self._read(file, keep=True):
                    continue  # read again: it holds a task another file submits
                todo.append(file)
        return todo + self._chain_ends()

    def _chain_ends(self) -> list[SourceFile]:
        """The files not asked about that checked files' chains lead into (to
        check: the ones whose findings the cache holds are reported from it)."""
        if self._chain_ends_found:
            return self.chain_ends
        self._chain_ends_found = True
        known = {file.key for file in self.files}
        for project in self.projects.values():
            for path in project.files_with_facts():
                sources = _chain_sources(project, path)
                if path in known or not sources:
                    continue
                relative = os.path.relpath(path)
                name = path if relative.startswith("..") else relative
                settings = self.resolver.for_context(path, is_dir=False)
                file = SourceFile(name, path, settings, project)
                entry = (
                    self.cache.lookup(
                        path, self._fingerprint(file), project.is_checked, for_facts=True
                    )
                    if self.cache is not None
                    else None
                )
                if (
                    entry is not None
                    and entry.chain_from == sources
                    and entry.tasks_here == project.facts_here(path)
                ):
                    self.result.diagnostics.extend(entry.diagnostics)
                    continue
                if self._read(file, keep=True):
                    self.chain_ends.append(file)
        return self.chain_ends

    def _in_parallel(
        self,
        fresh: list[SourceFile],
        context: list[SourceFile],
        count: int,
        pool: Optional[parallel.Pool] = None,
    ) -> None:
        """Phases 3 and 4 on `count` workers. Each starts with a share of
        `fresh` and of the `context` files to index (parallel.share) and
        checks the files it indexed (it has their models); one that runs out
        takes files from the others."""
        checked = {str(p.root): sorted(p.checked) for p in self.projects.values()}
        around = {
            str(p.root): (p.context_files, sorted(self._reached[str(p.root)]))
            for p in self.projects.values()
            if str(p.root) in self._reached
        }
        by_key = {f.key: f for f in fresh}
        for_context = {id(f) for f in context}
        owner: dict[str, int] = {}
        shared = RunWide(checked, self.overlay, around)
        introduced: set[int] = set()  # the workers sent `shared`

        def run_wide(worker: int) -> Optional[RunWide]:
            """`shared` for a worker's first request (of either phase: one may
            have had nothing to index), None after."""
            if worker in introduced:
                return None
            introduced.add(worker)
            return shared

        def index_request(worker: int, file: SourceFile) -> IndexRequest:
            return IndexRequest([_job(file)], run_wide(worker), for_context=id(file) in for_context)

        def indexed(worker: int, file: SourceFile, answer: dict[str, Any]) -> None:
            if id(file) in for_context:
                self._take_context_facts(file, answer[file.key])
                return
            file.uses, deps = answer[file.key]
            file.deps.update(deps)
            file.in_project.add_facts(file.uses, file.key)
            owner[file.key] = worker

        pool = pool or parallel.Pool(count, WorkerState)
        finished = False
        answers: dict[str, Any] = {}
        try:
            to_index = [*fresh, *context]
            # A file read for context is parsed in part, if at all (context.py):
            # the files parsed whole go first, the largest to the first worker ready.
            shares = parallel.share(
                to_index,
                count,
                _package_of,
                lambda file: _size(file) // (CONTEXT_COST if id(file) in for_context else 1),
            )
            pool.work_through(
                [[to_index[i] for i in mine] for mine in shares],
                index_request,
                indexed,
                idle=lambda worker: GetReady(),  # the others still index: get ready
            )
            facts = {str(p.root): p.all_facts() for p in self.projects.values()}
            queues: list[list[SourceFile]] = [[] for _ in range(count)]
            extras = []
            for file in self._to_check():
                if file.key in owner:
                    queues[owner[file.key]].append(file)
                else:  # not indexed this run (a chain end, a task's module)
                    extras.append(file)
            for file in extras:  # each to the worker with the least to check
                min(queues, key=lambda queue: sum(_size(f) for f in queue)).append(file)
            for queue in queues:  # largest first: one that runs out takes the smallest
                queue.sort(key=_size, reverse=True)
            told: set[int] = set()  # the workers sent the facts

            def check_request(worker: int, file: SourceFile) -> CheckRequest:
                first = worker not in told
                told.add(worker)
                own = owner.get(file.key) == worker and by_key.get(file.key) is file
                return CheckRequest(
                    facts if first else None,
                    [file.key] if own else [],
                    [] if own else [_job(file)],
                    self.fix,
                    run_wide(worker),
                )

            pool.work_through(
                queues,
                check_request,
                lambda worker, file, answer: answers.update(answer),
                owned=lambda file: file.key in owner and by_key.get(file.key) is file,
            )
            finished = True
        finally:
            pool.close(abort=not finished)
        for file in [*self.files, *self.chain_ends]:  # in order, as one process reports
            if file.key in answers:
                part, deps = answers[file.key]
                file.deps.update(deps)
                self.result.diagnostics.extend(part.diagnostics)
                self.result.fixed.update(part.fixed)
                for name, counts in part.fixed_by_file.items():
                    self.result.fixed_by_file.setdefault(name, Counter()).update(counts)
                self.result.changes.extend(part.changes)
                self.result.errors.extend(part.errors)

    def _store(self) -> None:
        """Cache what was computed this run (with its dependencies)."""
        if self.cache is None:
            return
        from bgtask_lint.run.cache import Entry

        by_file: dict[str, list] = {}
        for diagnostic in self.result.diagnostics:
            by_file.setdefault(os.path.abspath(diagnostic.filename), []).append(diagnostic)
        for file in self.files:
            if file.entry is not None or file.stamp is None:
                continue
            stamp = file.stamp  # of the bytes checked: a later save is seen
            deps = {}
            for dep, dep_stamp in sorted(file.deps.items()):
                if dep != file.key:
                    dep_stamp = dep_stamp or self.cache.stamp_of(dep)
                    deps[dep] = (*dep_stamp, file.in_project.is_checked(dep))
            self.cache.store(
                file.key,
                Entry(
                    stamp=stamp,
                    fingerprint=self._fingerprint(file),
                    matters=file.matters,
                    uses=file.uses,
                    deps=deps,
                    tasks_here=file.in_project.facts_here(file.key),
                    diagnostics=by_file.get(file.key, []),
                ),
            )
        for file in self.chain_ends:
            if file.stamp is None:
                continue
            project = file.in_project
            known = self.cache.entry(file.key)
            kept = known if known is not None and not known.checked else None
            deps = dict(kept.deps) if kept is not None else {}
            for dep, dep_stamp in sorted(file.deps.items()):
                if dep != file.key:
                    dep_stamp = dep_stamp or self.cache.stamp_of(dep)
                    deps[dep] = (*dep_stamp, project.is_checked(dep))
            self.cache.store(
                file.key,
                Entry(
                    stamp=file.stamp,
                    fingerprint=self._fingerprint(file),
                    matters=file.matters,
                    uses=kept.uses if kept is not None else [],
                    deps=deps,
                    tasks_here=project.facts_here(file.key),
                    diagnostics=by_file.get(file.key, []),
                    checked=False,
                    chain_from=_chain_sources(project, file.key),
                ),
            )
        self.cache.save()


def _chain_sources(project: Project, path: str) -> list[str]:
    """The checked files on the chains of what is said about file `path`, sorted."""
    return sorted(
        {
            source
            for fact in project.facts_about(path)
            for source in project.on_chain(path, fact)
            if project.is_checked(source)
        }
    )


# How many times cheaper than a checked file of its size a file read for
# context is taken to be (open-webui's route modules: a third to none of it
# is parsed).
CONTEXT_COST = 4


def _size(file: SourceFile) -> int:
    return len(file.text or "")


def _package_of(file: SourceFile) -> str:
    """The top-level package holding `file` (its directory outside packages)."""
    project = file.in_project
    directory = os.path.dirname(file.key)
    root = project.package_root(directory)
    if root == directory:
        return directory
    return os.path.join(root, os.path.relpath(directory, root).split(os.sep)[0])


def _codes(file: SourceFile) -> frozenset[str]:
    return file.settings.enabled_codes(file.name)


# Files per request when workers read them (a request per file would cost
# more in messages than the reading).
READ_CHUNK = 200


@dataclass(frozen=True)
class Reading:
    """What reading one file gave: its text when some rule can use it (or
    when it is to be kept), whether it was read at all, and the one-line
    error to report (a file too large is reported only if it might matter)."""

    read: bool
    text: Optional[str] = None
    encoding: str = "utf-8"
    stamp: Optional[Stamp] = None
    matters: bool = False
    error: Optional[str] = None


def read_and_screen(
    key: str,
    max_size: int,
    codes: frozenset[str],
    overlay: dict[str, tuple[str, str]],
    *,
    keep: bool = False,
) -> Reading:
    """Read, decode and screen one file. The text of a file no rule can
    report on (most of them) is not kept, unless `keep`: a run would
    otherwise hold every file of the tree in memory."""
    from bgtask_lint.rules import screen

    if key in overlay:
        text, encoding = overlay[key]
        return Reading(True, text, encoding, matters=screen(codes)(text))
    try:
        data, stamp = read_file(key, max_size)
    except TooLarge as error:
        return Reading(False, error=str(error) if might_matter(key) else None)
    except UnreadableFile as error:
        return Reading(False, error=str(error))
    try:
        decoded = decode_source(data)
    except DecodeError as error:
        return Reading(False, error=str(error))
    matters = screen(codes)(decoded.text)
    return Reading(
        True, decoded.text if matters or keep else None, decoded.encoding, stamp, matters
    )


def _index(file: SourceFile) -> None:
    """Parse `file` and record the tasks it submits (and the files it read)."""
    project = file.project
    assert project is not None and file.text is not None
    if is_markdown(file.key):
        return  # its blocks submit no task another file could see
    consulted = project.track_consulted()
    model = project.model_for_text(file.path, file.text)
    if model is not None:
        file.uses = project.index(model)
    project.consulted = None
    file.deps.update((dep, project.stamps.get(dep)) for dep in consulted)


def _context_facts(
    file: SourceFile, reached: dict[str, frozenset[str]]
) -> Optional[tuple[list[tuple[str, str]], dict[str, Optional[Stamp]]]]:
    """What context file `file` says about others (see context.context_facts),
    with the files that was read from and their stamps."""
    from bgtask_lint.run.context import context_facts

    project = file.in_project
    found = context_facts(project, file.key, reached[str(project.root)])
    if found is None:
        return None
    facts, consulted = found
    return facts, {dep: project.stamps.get(dep) for dep in sorted(consulted)}


def check_file(
    result: RunResult, file: SourceFile, fix: Optional[FixMode], *, screen: bool = False
) -> None:
    """Check (or fix) one file into `result`; a rule's crash is reported, not
    raised. A run screens its files before (`screen`: do it here)."""
    from bgtask_lint.engine.check import check_text
    from bgtask_lint.engine.fix import NotWritten, fix_text, with_tidying, write_atomically

    assert file.text is not None
    if is_markdown(file.key):
        _check_markdown(result, file, fix)
        return
    filename, source, settings, project = file.name, file.text, file.settings, file.project
    if project is not None and not project.is_checked(file.key):
        fix = None  # a file read to complete a chain is reported on, never fixed
    codes = settings.enabled_codes(file.name)
    options = settings.rule_options(project.root if project is not None else None)
    consulted = project.track_consulted() if project is not None else set()
    try:
        if fix is None:
            found = check_text(source, filename, codes, options, project, screen=screen)
            found = _without_unfixable(found, settings.fixable_codes)
            result.diagnostics.extend(with_tidying(source, filename, found))
            return
        outcome = fix_text(
            source,
            filename,
            codes,
            options,
            project,
            unsafe=fix.unsafe,
            screen=screen,
            fixable=settings.fixable_codes,
        )
    except RecursionError:
        from bgtask_lint.diagnostic import SYNTAX_ERROR
        from bgtask_lint.engine.check import TOO_DEEP

        result.diagnostics.append(file_error(filename, TOO_DEEP, SYNTAX_ERROR))
        return
    except Exception as error:  # a bug in a rule must not end the run
        result.errors.append(
            f"internal error while checking {filename}: {type(error).__name__}: {error} "
            "(please report this)"
        )
        return
    finally:
        if project is not None:
            project.consulted = None
            file.deps.update((dep, project.stamps.get(dep)) for dep in consulted)
    from bgtask_lint.run.result import Change

    result.errors.extend(f"{filename}: {error}" for error in outcome.errors)
    if outcome.text != source and fix.write:
        try:
            write_atomically(
                Path(file.key), outcome.text, file.encoding, expected=source.encode(file.encoding)
            )
        except (NotWritten, OSError, UnicodeError) as error:
            reason = (
                str(error)
                if isinstance(error, NotWritten)
                else f"cannot write the fixed file: {error}"
            )
            result.errors.append(f"{filename}: {reason}")
            result.diagnostics.extend(
                check_text(source, filename, codes, options, project, screen=False)
            )
            return
    result.diagnostics.extend(_without_unfixable(outcome.remaining, settings.fixable_codes))
    if outcome.text != source:
        result.fixed.update(outcome.fixed)
        result.fixed_by_file.setdefault(filename, Counter()).update(outcome.fixed)
        result.changes.append(Change(filename, source, outcome.text, file.encoding))


def _without_unfixable(found: list[Diagnostic], fixable: frozenset[str]) -> list[Diagnostic]:
    """Findings whose code `unfixable` names lose their fix: reports offer
    none, as --fix applies none."""
    if all(d.fix is None or d.code in fixable for d in found):
        return found
    return [d if d.fix is None or d.code in fixable else replace(d, fix=None) for d in found]


def _check_markdown(result: RunResult, file: SourceFile, fix: Optional[FixMode]) -> None:
    """A Markdown file: its Python blocks, checked and fixed in place."""
    from bgtask_lint.engine.fix import NotWritten, write_atomically
    from bgtask_lint.engine.markdown import check_markdown
    from bgtask_lint.run.result import Change

    assert file.text is not None
    source, settings = file.text, file.settings
    codes = settings.enabled_codes(file.name)
    options = settings.rule_options(file.project.root if file.project is not None else None)
    try:
        outcome = check_markdown(
            source,
            file.name,
            codes,
            options,
            fix=fix is not None,
            unsafe=fix is not None and fix.unsafe,
            fixable=settings.fixable_codes,
        )
    except Exception as error:  # a bug in a rule must not end the run
        result.errors.append(
            f"internal error while checking {file.name}: {type(error).__name__}: {error} "
            "(please report this)"
        )
        return
    result.errors.extend(f"{file.name}: {error}" for error in outcome.errors)
    if outcome.text != source and fix is not None and fix.write:
        try:
            write_atomically(
                Path(file.key), outcome.text, file.encoding, expected=source.encode(file.encoding)
            )
        except (NotWritten, OSError, UnicodeError) as error:
            reason = str(error) if isinstance(error, NotWritten) else f"cannot write: {error}"
            result.errors.append(f"{file.name}: {reason}")
            result.diagnostics.extend(check_markdown(source, file.name, codes, options).diagnostics)
            return
    result.diagnostics.extend(_without_unfixable(outcome.diagnostics, settings.fixable_codes))
    if outcome.text != source and fix is not None:
        result.fixed.update(outcome.fixed)
        result.fixed_by_file.setdefault(file.name, Counter()).update(outcome.fixed)
        result.changes.append(Change(file.name, source, outcome.text, file.encoding))


@dataclass(frozen=True)
class Job:
    """What a worker needs to rebuild a SourceFile on its side (no Project)."""

    name: str
    text: Optional[str]
    encoding: str
    settings: Settings
    root: str
    source_roots: list[str]
    matters: bool
    stamp: Optional[Stamp]


def _job(file: SourceFile) -> Job:
    project = file.project
    assert project is not None
    roots = [str(r) for r in project.source_roots]
    return Job(
        file.name,
        file.text,
        file.encoding,
        file.settings,
        str(project.root),
        roots,
        file.matters,
        file.stamp,
    )


@dataclass(frozen=True)
class ReadRequest:
    """Phase 2 on a worker: read, decode and screen these files, given as
    (path, max-file-size, enabled codes). The overlay comes with a worker's
    first request only (None after)."""

    jobs: list[tuple[str, int, frozenset[str]]]
    overlay: Optional[dict[str, tuple[str, str]]]


@dataclass(frozen=True)
class RunWide:
    """What is the same for every file of a run: it comes with a worker's
    first index or check request only."""

    checked: dict[str, list[str]]  # project root -> the files this run reports on
    overlay: dict[str, tuple[str, str]]
    # Project root -> (its files read for context, the module names their
    # chains reach), for a project read for context (see context.py).
    context: dict[str, tuple[list[str], list[str]]]


@dataclass(frozen=True)
class IndexRequest:
    """Phase 3 on a worker: parse these files, say which tasks they submit
    (and which files that read)."""

    jobs: list[Job]
    run: Optional[RunWide]
    for_context: bool = False  # the jobs are files read for context (no findings)


@dataclass(frozen=True)
class CheckRequest:
    """Phase 4 on a worker: check (or fix) files it indexed (`keys`) and
    others (`extras`)."""

    # Project root -> every fact (Project.index), as (source, file, fact):
    # with a worker's first request of the phase only.
    facts: Optional[dict[str, list[tuple[str, str, str]]]]
    keys: list[str]
    extras: list[Job]
    fix: Optional[FixMode]
    run: Optional[RunWide] = None


@dataclass
class GetReady:
    """For a worker that has indexed all it can while the others still
    index: get ready to check (WorkerState.get_ready), work it would do at
    its first check once every worker has finished."""


Request = Union[ReadRequest, IndexRequest, CheckRequest, GetReady]


class WorkerState:
    """What a worker process keeps between its index and check requests."""

    def __init__(self, parent: Optional[int] = None, *, parses: bool = False) -> None:
        if parses:  # see Run._workers_ahead
            import libcst  # noqa: F401

            import bgtask_lint.analysis.builder  # noqa: F401
        self.projects: dict[str, Project] = {}
        self.indexed: dict[str, SourceFile] = {}
        self.checked: dict[str, list[str]] = {}
        self.context: dict[str, tuple[list[str], list[str]]] = {}
        self.overlay: dict[str, tuple[str, str]] = {}
        self.facts: dict[str, list[tuple[str, str, str]]] = {}
        self.parent = parent

    def _parent_still_there(self) -> None:
        """A worker whose main process was killed stops before its next file
        (it would otherwise go on fixing files nobody asked about any more)."""
        if self.parent is not None and os.getppid() != self.parent:
            raise SystemExit(1)

    def _file(self, job: Job) -> SourceFile:
        project = self.projects.get(job.root)
        if project is None:
            project = Project(Path(job.root), max_file_size=job.settings.max_file_size)
            project.source_roots = [Path(r) for r in job.source_roots]
            project.checked = set(self.checked.get(job.root, ()))
            project.context_files = self.context.get(job.root, ([], []))[0]
            project.overlay = self.overlay
            project.add_fact_triples(self.facts.get(job.root, ()))
            self.projects[job.root] = project
        file = SourceFile(job.name, os.path.abspath(job.name), job.settings, project)
        file.text, file.encoding, file.matters, file.stamp = (
            job.text,
            job.encoding,
            job.matters,
            job.stamp,
        )
        return file

    def _introduce(self, run: Optional[RunWide]) -> None:
        if run is not None:
            self.checked, self.overlay, self.context = run.checked, run.overlay, run.context

    def handle(self, request: Request) -> Any:
        if isinstance(request, ReadRequest):
            return self.read(request)
        if isinstance(request, IndexRequest):
            return self.index(request)
        if isinstance(request, GetReady):
            self.get_ready()
            return None
        return self.check(request)

    def get_ready(self) -> None:
        """While the other workers index: import the rules, and read ahead
        the modules the checks of the files indexed here will follow into
        (Model.resolve_ahead). Nothing it does depends on the facts still to
        come, and nothing it finds is kept but the models the project parsed."""
        import bgtask_lint.engine.check  # noqa: F401

        for file in self.indexed.values():
            project, text = file.project, file.text
            model = project.model_for_text(file.path, text) if project and text else None
            try:
                if model is not None:
                    model.resolve_ahead()
            except Exception:  # the file's check meets it again, and reports it
                pass

    def read(self, request: ReadRequest) -> list[Reading]:
        if request.overlay is not None:
            self.overlay = request.overlay
        self._parent_still_there()
        return [read_and_screen(*job, self.overlay) for job in request.jobs]

    def index(self, request: IndexRequest) -> dict[str, Any]:
        self._introduce(request.run)
        answer: dict[str, Any] = {}
        for job in request.jobs:
            self._parent_still_there()
            file = self._file(job)
            if request.for_context:
                reached = {root: frozenset(names) for root, (_, names) in self.context.items()}
                answer[file.key] = _context_facts(file, reached)
                continue
            self.indexed[file.key] = file
            _index(file)
            answer[file.key] = (file.uses, file.deps)
        return answer

    def check(self, request: CheckRequest) -> dict[str, Any]:
        from bgtask_lint.run.result import RunResult

        self._introduce(request.run)
        if request.facts is not None:
            self.facts = request.facts
            for root, project in self.projects.items():
                project.add_fact_triples(self.facts.get(root, ()))
        files = [self.indexed[key] for key in request.keys]
        files.extend(self._file(job) for job in request.extras)
        answer: dict[str, Any] = {}
        for file in files:
            self._parent_still_there()
            part = RunResult()
            check_file(part, file, request.fix)
            answer[file.key] = (part, file.deps)
        return answer


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
        uses = file.project.index(model) if model is not None else []
        if sorted(uses) != sorted(file.uses):
            return True
    return False


def discover_into(
    run: Run, paths: Sequence[Path], force_exclude: bool, respect_gitignore: Optional[bool]
) -> None:
    from bgtask_lint.run.discovery import discover

    found_files = discover(
        list(paths), run.resolver, force_exclude=force_exclude, respect_gitignore=respect_gitignore
    )
    run.requested.extend(os.path.abspath(path) for path in paths)
    for found in found_files:
        if found.error is not None:
            run.result.diagnostics.append(file_error(str(found.path), found.error))
        else:
            run.add(found.path, found.absolute)
