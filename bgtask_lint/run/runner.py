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
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from bgtask_lint.analysis.project import Project
from bgtask_lint.config import listing
from bgtask_lint.config.roots import find_project_root
from bgtask_lint.config.settings import SettingsResolver
from bgtask_lint.diagnostic import file_error
from bgtask_lint.run import parallel
from bgtask_lint.run.caching import RunCache, chain_sources
from bgtask_lint.run.files import (
    READ_CHUNK,
    Reading,
    SourceFile,
    check_file,
    context_facts_of,
    enabled_codes,
    index_file,
    read_and_screen,
)
from bgtask_lint.run.walk_memo import WalkMemo
from bgtask_lint.run.workers import (
    CheckRequest,
    GetReady,
    IndexRequest,
    ReadRequest,
    RunWide,
    WorkerState,
    job_for,
)
from bgtask_lint.text.markdown import is_markdown
from bgtask_lint.text.source import (
    Stamp,
)

if TYPE_CHECKING:
    from bgtask_lint.run.cache import Cache
    from bgtask_lint.run.result import FixMode, RunResult


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
        # Fixes always start from the text.
        self.cache = RunCache(cache) if cache is not None and fix is None else None
        # What the walk found in each directory, kept beside the cache.
        self.memo = WalkMemo(cache.path.parent) if cache is not None and fix is None else None
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
                file.entry = self.cache.checked_entry(file)
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
            index_file(file)
        for file in context:
            self._take_context_facts(file, context_facts_of(file, self._reached))
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
            self._take_context_facts(file, context_facts_of(file, self._reached))

    def _context(self) -> list[SourceFile]:
        """The files of each project that lead into its checked ones, when the
        paths asked for do not cover the whole project, and that some rule
        could use: those to index this run (the others' facts are taken from
        the cache here)."""
        from bgtask_lint.run.context import covers, imports_kept_in

        cache_directory = self.memo.path.parent if self.memo is not None else None
        with imports_kept_in(cache_directory):
            return self._leading_files(covers)

    def _leading_files(self, covers: Callable[[Sequence[str], Path], bool]) -> list[SourceFile]:
        from bgtask_lint.run.context import leading_files

        todo = []
        for project in self.projects.values():
            depths = [f.settings.max_call_depth for f in self.files if f.project is project]
            # No file of this project is left to check (none could be read):
            # nothing leads into it.
            if not depths or covers(self.requested, project.root):
                continue
            depth = max(depths)
            leading, reached = leading_files(project, self.resolver, depth, self.memo)
            self._reached[str(project.root)] = reached
            for path in leading:
                text = project.text_of(path)
                if text is None or not self._matters(path, text):
                    continue
                file = self._context_file(project, path)
                entry = self.cache.facts_entry(file) if self.cache is not None else None
                if entry is not None:
                    project.add_facts(entry.uses, path)
                    continue
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
        if self.cache is not None:
            self.cache.store_facts(file, facts, deps)

    def _context_file(self, project: Project, path: str) -> SourceFile:
        return SourceFile(path, path, self.resolver.for_context(path, is_dir=False), project)

    def _matters(self, path: str, text: str) -> bool:
        codes = self.resolver.for_context(path, is_dir=False).enabled_codes(path)
        from bgtask_lint.rules import screen

        return screen(codes)(text)

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
            file.key, file.settings.max_file_size, enabled_codes(file), self.overlay, keep=keep
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
                (files[i].key, files[i].settings.max_file_size, enabled_codes(files[i]))
                for i in chunk
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
                sources = chain_sources(project, path)
                if path in known or not sources:
                    continue
                relative = os.path.relpath(path)
                name = path if relative.startswith("..") else relative
                settings = self.resolver.for_context(path, is_dir=False)
                file = SourceFile(name, path, settings, project)
                entry = self.cache.facts_entry(file) if self.cache is not None else None
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
            return IndexRequest(
                [job_for(file)], run_wide(worker), for_context=id(file) in for_context
            )

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
            queues = self._check_queues(count, owner)
            told: set[int] = set()  # the workers sent the facts

            def check_request(worker: int, file: SourceFile) -> CheckRequest:
                first = worker not in told
                told.add(worker)
                own = owner.get(file.key) == worker and by_key.get(file.key) is file
                return CheckRequest(
                    facts if first else None,
                    [file.key] if own else [],
                    [] if own else [job_for(file)],
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
        self._take_answers(answers)

    def _check_queues(self, count: int, owner: dict[str, int]) -> list[list[SourceFile]]:
        """The files to check, per worker: those it indexed (it has their
        models), and the others each to the worker with the least to check;
        largest first, so that one that runs out takes the smallest."""
        queues: list[list[SourceFile]] = [[] for _ in range(count)]
        extras = []
        for file in self._to_check():
            if file.key in owner:
                queues[owner[file.key]].append(file)
            else:  # not indexed this run (a chain end, a task's module)
                extras.append(file)
        for file in extras:
            min(queues, key=lambda queue: sum(_size(f) for f in queue)).append(file)
        for queue in queues:
            queue.sort(key=_size, reverse=True)
        return queues

    def _take_answers(self, answers: dict[str, Any]) -> None:
        """The workers' findings and fixes, in the files' order, as one
        process reports them."""
        for file in [*self.files, *self.chain_ends]:
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
        if self.cache is not None:
            self.cache.store(self.files, self.chain_ends, self.result.diagnostics)
        if self.memo is not None:
            self.memo.save()  # with what was listed after the walk (pins, context)
            listing.recall_from(None)


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


def discover_into(
    run: Run, paths: Sequence[Path], force_exclude: bool, respect_gitignore: Optional[bool]
) -> None:
    from bgtask_lint.run.discovery import discover

    listing.recall_from(run.memo)
    found_files = discover(
        list(paths),
        run.resolver,
        force_exclude=force_exclude,
        respect_gitignore=respect_gitignore,
        memo=run.memo,
    )
    run.requested.extend(os.path.abspath(path) for path in paths)
    for found in found_files:
        if found.error is not None:
            run.result.diagnostics.append(file_error(str(found.path), found.error))
        else:
            run.add(found.path, found.absolute)
