"""A run's use of the result cache (cache.py): which configuration a file's
entry must have been made with, what a file read for context said, and
what this run computed, stored with the files it depends on."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from bgtask_lint.analysis.project import Project
from bgtask_lint.run.files import SourceFile, enabled_codes

if TYPE_CHECKING:
    from bgtask_lint.diagnostic import Diagnostic
    from bgtask_lint.run.cache import Cache, Entry
    from bgtask_lint.text.source import Stamp


class RunCache:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self._fingerprints: dict[tuple[int, frozenset[str], Path, str], str] = {}

    def fingerprint(self, file: SourceFile) -> str:
        """The cache fingerprint of the configuration that applies to `file`;
        computed once per configuration (and rule selection) in the run."""
        from bgtask_lint.run.cache import fingerprint

        codes = enabled_codes(file)
        project_root = file.in_project.root
        directory = os.path.dirname(file.key)
        key = (id(file.settings), codes, project_root, directory)
        if key not in self._fingerprints:
            settings = file.settings
            options = settings.rule_options(project_root, directory)  # with the nearest pin
            self._fingerprints[key] = fingerprint(
                codes, options, settings.src, settings.max_file_size, sorted(settings.fixable_codes)
            )
        return self._fingerprints[key]

    def checked_entry(self, file: SourceFile) -> Optional[Entry]:
        """The valid entry of a checked file, with its findings."""
        return self.cache.lookup(file.key, self.fingerprint(file), file.in_project.is_checked)

    def facts_entry(self, file: SourceFile) -> Optional[Entry]:
        """The valid entry of a file not checked: what it says about others,
        and the findings chains gave it when it was a chain end."""
        project = file.in_project
        return self.cache.lookup(
            file.key, self.fingerprint(file), project.is_checked, for_facts=True
        )

    def store_facts(
        self,
        file: SourceFile,
        facts: list[tuple[str, str]],
        consulted: dict[str, Optional[Stamp]],
    ) -> None:
        """Cache what a file read for context says (it has no findings), with
        the files it was read from and their stamps when read (None: stat)."""
        from bgtask_lint.run.cache import Entry

        project, path = file.in_project, file.key
        stamp = consulted.get(path) or project.stamps.get(path)
        if stamp is None:
            return
        deps = {}
        for dep in sorted(set(consulted) - {path}):
            dep_stamp = consulted[dep] or project.stamps.get(dep) or self.cache.stamp_of(dep)
            deps[dep] = (*dep_stamp, project.is_checked(dep))
        entry = Entry(stamp, self.fingerprint(file), True, facts, deps, [], [], checked=False)
        self.cache.store(path, entry)

    def store(
        self,
        files: Sequence[SourceFile],
        chain_ends: Sequence[SourceFile],
        diagnostics: Sequence[Diagnostic],
    ) -> None:
        """Cache what was computed this run (with its dependencies): the
        checked files' findings, and the chain ends' with the checked files
        their chains start in."""
        from bgtask_lint.run.cache import Entry

        by_file: dict[str, list[Diagnostic]] = {}
        for diagnostic in diagnostics:
            by_file.setdefault(os.path.abspath(diagnostic.filename), []).append(diagnostic)
        for file in files:
            if file.entry is not None or file.stamp is None:
                continue
            entry = Entry(
                stamp=file.stamp,  # of the bytes checked: a later save is seen
                fingerprint=self.fingerprint(file),
                matters=file.matters,
                uses=file.uses,
                deps=self._deps(file, {}),
                tasks_here=file.in_project.facts_here(file.key),
                diagnostics=by_file.get(file.key, []),
            )
            self.cache.store(file.key, entry)
        for file in chain_ends:
            if file.stamp is None:
                continue
            project = file.in_project
            known = self.cache.entry(file.key)
            kept = known if known is not None and not known.checked else None
            entry = Entry(
                stamp=file.stamp,
                fingerprint=self.fingerprint(file),
                matters=file.matters,
                uses=kept.uses if kept is not None else [],
                deps=self._deps(file, dict(kept.deps) if kept is not None else {}),
                tasks_here=project.facts_here(file.key),
                diagnostics=by_file.get(file.key, []),
                checked=False,
                chain_from=chain_sources(project, file.key),
            )
            self.cache.store(file.key, entry)
        self.cache.save()

    def _deps(
        self, file: SourceFile, deps: dict[str, tuple[int, int, bool]]
    ) -> dict[str, tuple[int, int, bool]]:
        """`deps` with the files `file`'s findings were read from, stamped."""
        for dep, dep_stamp in sorted(file.deps.items()):
            if dep != file.key:
                dep_stamp = dep_stamp or self.cache.stamp_of(dep)
                deps[dep] = (*dep_stamp, file.in_project.is_checked(dep))
        return deps


def chain_sources(project: Project, path: str) -> list[str]:
    """The checked files on the chains of what is said about file `path`, sorted."""
    return sorted(
        {
            source
            for fact in project.facts_about(path)
            for source in project.on_chain(path, fact)
            if project.is_checked(source)
        }
    )
