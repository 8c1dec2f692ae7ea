"""One file's work, in whichever process does it: reading and screening
it, indexing what it says about other files, and checking (or fixing) it."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from bgtask_lint.analysis.project import Project
from bgtask_lint.config.settings import Settings
from bgtask_lint.diagnostic import Diagnostic, file_error
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
    from bgtask_lint.run.cache import Entry
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


def enabled_codes(file: SourceFile) -> frozenset[str]:
    settings = file.settings
    # The test-code patterns read the absolute path, which the key is (and
    # abspath per file of a tree costs); per-file-ignores read it as given.
    return settings.enabled_codes(file.name if settings.per_file_ignores else file.key)


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


def index_file(file: SourceFile) -> None:
    """Parse `file` and record the tasks it submits (and the files it read)."""
    project = file.project
    assert project is not None and file.text is not None
    if is_markdown(file.key):
        return  # its blocks submit no task another file could see
    consulted = project.track_consulted()
    model = project.model_for_text(file.path, file.text)
    if model is not None:
        file.uses = project.index(model, file.settings.max_call_depth)
    project.consulted = None
    file.deps.update((dep, project.stamps.get(dep)) for dep in consulted)


def context_facts_of(
    file: SourceFile, reached: dict[str, frozenset[str]]
) -> Optional[tuple[list[tuple[str, str]], dict[str, Optional[Stamp]]]]:
    """What context file `file` says about others (see context.context_facts),
    with the files that was read from and their stamps."""
    from bgtask_lint.run.context import context_facts

    project = file.in_project
    depth = file.settings.max_call_depth
    found = context_facts(project, file.key, reached[str(project.root)], depth)
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
    codes = enabled_codes(file)
    options = settings.rule_options(project.root if project else None, os.path.dirname(file.key))
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
    codes = enabled_codes(file)
    root = file.project.root if file.project is not None else None
    options = settings.rule_options(root, os.path.dirname(file.key))
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
