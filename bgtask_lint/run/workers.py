"""The worker side of a run (see parallel.py): the requests the main
process sends, and the state a worker keeps between them (its projects,
the files it indexed and will check)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from bgtask_lint.analysis.project import Project
from bgtask_lint.config.settings import Settings
from bgtask_lint.run.files import (
    Reading,
    SourceFile,
    check_file,
    context_facts_of,
    index_file,
    read_and_screen,
)
from bgtask_lint.text.source import (
    Stamp,
)

if TYPE_CHECKING:
    from bgtask_lint.run.result import FixMode


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


def job_for(file: SourceFile) -> Job:
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
                answer[file.key] = context_facts_of(file, reached)
                continue
            self.indexed[file.key] = file
            index_file(file)
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
