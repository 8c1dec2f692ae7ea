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
    from bgtask_lint.config.options import RuleOptions
    from bgtask_lint.diagnostic import Diagnostic
    from bgtask_lint.run.cache import Cache, Entry
    from bgtask_lint.text.source import Stamp


class RunCache:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self._fingerprints: dict[tuple[int, frozenset[str], Path, int], str] = {}
        self._options: dict[tuple[int, Path, str], RuleOptions] = {}
        self._unscreened: dict[tuple[frozenset[str], int], str] = {}

    def fingerprint(self, file: SourceFile) -> str:
        """The cache fingerprint of the configuration that applies to `file`;
        computed once per configuration (and rule selection) in the run."""
        from bgtask_lint.run.cache import fingerprint

        codes = enabled_codes(file)
        settings = file.settings
        project_root = file.in_project.root
        # With the nearest pin: the same object for the same options (they
        # are made once), so a tree of thousands of directories on one pin
        # hashes its configuration once.
        where = (id(settings), project_root, os.path.dirname(file.key))
        options = self._options.get(where)
        if options is None:
            options = self._options[where] = settings.rule_options(*where[1:])
        key = (id(settings), codes, project_root, id(options))
        if key not in self._fingerprints:
            self._fingerprints[key] = fingerprint(
                codes, options, settings.src, settings.max_file_size, sorted(settings.fixable_codes)
            )
        return self._fingerprints[key]

    def unscreened_fingerprint(self, file: SourceFile) -> str:
        """The fingerprint of an entry that says a file's text passed no
        rule's screen and nothing else: only the screen (the codes) and the
        reading (the size limit) made it, so the rule options (and the pin,
        which takes a search per directory) are not part of it. Most files
        of a tree have such an entry."""
        from bgtask_lint.run.cache import fingerprint

        codes = enabled_codes(file)
        key = (codes, file.settings.max_file_size)
        if key not in self._unscreened:
            self._unscreened[key] = fingerprint(codes, None, "unscreened", *key[1:])
        return self._unscreened[key]

    def fingerprint_of(self, file: SourceFile, entry: Entry) -> str:
        """The fingerprint `entry` of `file` must have to be valid."""
        from bgtask_lint.run.cache import says_nothing

        if says_nothing(entry):
            return self.unscreened_fingerprint(file)
        return self.fingerprint(file)

    def checked_entry(self, file: SourceFile) -> Optional[Entry]:
        """The valid entry of a checked file, with its findings."""
        entry = self.cache.entry(file.key)
        if entry is None:
            return None
        fingerprint = self.fingerprint_of(file, entry)
        return self.cache.lookup(file.key, fingerprint, file.in_project.is_checked)

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
                fingerprint="",
                matters=file.matters,
                uses=file.uses,
                deps=self._deps(file, {}),
                tasks_here=file.in_project.facts_here(file.key),
                diagnostics=by_file.get(file.key, []),
            )
            entry.fingerprint = self.fingerprint_of(file, entry)
            self.cache.store(file.key, entry)
        for file in chain_ends:
            if file.stamp is None:
                continue
            project = file.in_project
            # What it says about other files is kept while what that was read
            # from is as it was (its own deps then stay): stale stamps carried
            # over would make the entry stored here never valid again.
            known = self.facts_entry(file)
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
