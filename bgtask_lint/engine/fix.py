"""Apply fixes: round after round until none remain, never a broken file.

Each round checks the current text, takes every applicable fix whose edits do
not overlap an earlier one (identical edits, like the same added import, are
shared), applies them, and re-parses the result. Overlapping fixes wait for the
next round, where they are computed afresh. A round that breaks the syntax, or
fixes that do not settle within MAX_ROUNDS, abandon the whole file: it is left
exactly as it was and the failure is reported.
"""

from __future__ import annotations

import difflib
import os
import signal
import stat
import tempfile
import threading
import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.parsing import CannotParse, parse_source
from bgtask_lint.analysis.project import Project
from bgtask_lint.diagnostic import SAFE, Diagnostic, Edit, Fix
from bgtask_lint.engine.check import check_text
from bgtask_lint.engine.tidy import (
    drop_imports_left_unused,
    imported_names,
    may_leave_imports_unused,
    mention_counts,
)
from bgtask_lint.rules.base import RuleOptions
from bgtask_lint.text.edits import line_starts, location_of, offset_of, split_lines
from bgtask_lint.text.source import NEWLINE

MAX_ROUNDS = 10


@dataclass
class FixOutcome:
    text: str  # the fixed text; the original when nothing applied or on failure
    remaining: list[Diagnostic]
    fixed: Counter = field(default_factory=Counter)  # code -> number fixed
    # One line per fix that was dropped (or a file left alone); exit code 2.
    errors: list[str] = field(default_factory=list)


def is_applicable(fix: Optional[Fix], unsafe: bool) -> bool:
    return fix is not None and (fix.applicability == SAFE or unsafe)


def fix_text(
    text: str,
    filename: str,
    codes: frozenset[str],
    options: Optional[RuleOptions] = None,
    project: Optional[Project] = None,
    *,
    unsafe: bool = False,
    screen: bool = True,
    fixable: Optional[frozenset[str]] = None,
) -> FixOutcome:
    """Apply fixes round after round. A round whose result does not re-parse,
    or does not compile when the original did, is taken apart: the fixes that
    break the code on their own are dropped (reported in `errors`, their
    findings stay), the others are applied. `fixable`: the codes whose
    fixes may apply (the configuration's `unfixable` leaves some out)."""
    diagnostics = check_text(text, filename, codes, options, project, screen=screen)
    validator = _Validator(text, filename)
    current, fixed = text, Counter[str]()
    dropped: set[tuple[str, str, str]] = set()
    errors: list[str] = []
    for _ in range(MAX_ROUNDS):
        chosen = [
            d
            for d in diagnostics
            if is_applicable(d.fix, unsafe)
            and (fixable is None or d.code in fixable)
            and _identity(d, current) not in dropped
        ]
        if not chosen:
            tidied = drop_imports_left_unused(text, current, filename) if fixed else current
            if tidied != current and validator.problem(tidied) is None:
                current = tidied
                diagnostics = check_text(current, filename, codes, options, project, screen=screen)
            return FixOutcome(current, diagnostics, fixed, errors)
        candidate, applied = apply_fixes(current, chosen)
        problem = validator.problem(candidate)
        if problem is not None:
            broken = [d for d in applied if validator.problem(apply_fixes(current, [d])[0])]
            for diagnostic in broken or applied:
                dropped.add(_identity(diagnostic, current))
                alone = validator.problem(apply_fixes(current, [diagnostic])[0]) or problem
                errors.append(
                    f"the fix for {diagnostic.code} at {diagnostic.location.row}:"
                    f"{diagnostic.location.column} produced invalid code ({alone}); "
                    "not applied (please report this)"
                )
            continue
        current = candidate
        fixed.update(d.code for d in applied)
        diagnostics = check_text(current, filename, codes, options, project, screen=screen)
    errors.append(
        f"fixes did not settle after {MAX_ROUNDS} rounds; file left unchanged (please report this)"
    )
    original = check_text(text, filename, codes, options, project, screen=screen)
    return FixOutcome(text, original, Counter(), errors)


def _identity(diagnostic: Diagnostic, text: str) -> tuple[str, str, str]:
    """What recognises a finding in a later round, when edits above it have
    moved it: its code, its message and the text of its line."""
    lines = NEWLINE.split(text)  # rows as the tokenizer counts them
    row = diagnostic.location.row
    line = lines[row - 1] if 0 < row <= len(lines) else ""
    return diagnostic.code, diagnostic.message, line


class _Validator:
    """Whether a fixed text is still a valid module: it must re-parse, and it
    must compile when the original did (`await` outside an async function, say,
    parses but does not compile). Code newer than this Python can only be
    re-parsed."""

    def __init__(self, original: str, filename: str) -> None:
        self.filename = filename
        self.compiles = _compile_error(original, filename) is None

    def problem(self, text: str) -> Optional[str]:
        try:
            parse_source(text)
        except cst.ParserSyntaxError as error:
            return error.message
        except (RecursionError, CannotParse):
            return "too deeply nested"
        return _compile_error(text, self.filename) if self.compiles else None


def _compile_error(text: str, filename: str) -> Optional[str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        return f"{type(error).__name__}: {error.msg}"
    except (ValueError, RecursionError, MemoryError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def apply_fixes(text: str, diagnostics: Sequence[Diagnostic]) -> tuple[str, list[Diagnostic]]:
    """Apply the fixes of `diagnostics` that do not collide, first come first
    served in source order; returns the new text and the diagnostics fixed."""
    starts = line_starts(text)

    def spans(fix: Fix) -> set[tuple[int, int, str]]:
        return {
            (offset_of(e.location, starts), offset_of(e.end_location, starts), e.content)
            for e in fix.edits
        }

    accepted: set[tuple[int, int, str]] = set()
    taken_lines: set[int] = set()
    applied = []
    ordered = sorted(diagnostics, key=lambda d: min(spans(d.fix)) if d.fix else (0, 0, ""))
    for diagnostic in ordered:
        assert diagnostic.fix is not None
        new = spans(diagnostic.fix) - accepted  # an identical edit is shared
        lines = {line for start, end, _ in new for line in _lines_touched(start, end, starts)}
        # Two fixes on one line may each be right and together wrong (both
        # adding the same import name, say): the later one waits for a round.
        if lines & taken_lines:
            continue
        accepted |= new
        taken_lines |= lines
        applied.append(diagnostic)
    for start, end, content in sorted(accepted, reverse=True):
        text = text[:start] + content + text[end:]
    return text, applied


def with_tidying(text: str, filename: str, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics with each fix's edits completed by the import removals
    `--fix` makes after it (engine/tidy.py): a consumer of the JSON or SARIF
    edits (an editor, reviewdog) then writes what `--fix` writes, not a file
    ruff's F401 reports on."""
    completed = []
    imported: Optional[frozenset[str]] = None
    mentions: Optional[Counter[str]] = None
    starts: Optional[list[int]] = None
    for diagnostic in diagnostics:
        fix = diagnostic.fix
        if fix is not None:
            if starts is None:  # once per file, and only for one with a fix
                starts, imported = line_starts(text), imported_names(text)
                mentions = mention_counts(text)
            removed, written = _words_changed(text, fix, starts)
            if not may_leave_imports_unused(removed, written, imported, mentions):
                completed.append(diagnostic)
                continue
            alone, _ = apply_fixes(text, [diagnostic])
            tidied = drop_imports_left_unused(text, alone, filename)
            if tidied != alone:
                edits = _edits_with_tidying(text, fix, alone, tidied)
                diagnostic = replace(diagnostic, fix=replace(fix, edits=edits))
        completed.append(diagnostic)
    return completed


def _words_changed(text: str, fix: Fix, starts: list[int]) -> tuple[list[str], list[str]]:
    """What each edit of `fix` replaces and writes, widened to whole words:
    edits are minimal, so `nap(1)` → `await asyncio.sleep(1)` replaces only
    `na`."""
    removed, written = [], []
    for edit in fix.edits:
        start, end = offset_of(edit.location, starts), offset_of(edit.end_location, starts)
        left, right = start, end
        while left > 0 and (text[left - 1].isalnum() or text[left - 1] == "_"):
            left -= 1
        while right < len(text) and (text[right].isalnum() or text[right] == "_"):
            right += 1
        removed.append(text[left:right])
        written.append(text[left:start] + edit.content + text[end:right])
    return removed, written


def _edits_with_tidying(text: str, fix: Fix, alone: str, tidied: str) -> tuple[Edit, ...]:
    """`fix`'s edits of `text` (giving `alone`), and edits of `text` for what
    tidying changed between `alone` and `tidied`. Where a tidied line is one
    the fix wrote, one edit from the first change to the last stands for both."""
    starts = line_starts(text)
    own = sorted(
        (offset_of(e.location, starts), offset_of(e.end_location, starts), e.content)
        for e in fix.edits
    )

    def in_text(offset: int) -> Optional[int]:
        """Where an offset of `alone` is in `text` (None: inside written text)."""
        shift = 0
        for start, end, content in own:
            if offset <= start + shift:
                break  # before this edit's text (at its start: before it too)
            if offset < start + shift + len(content):
                return None
            shift += len(content) - (end - start)
        return offset - shift

    before, after = split_lines(alone), split_lines(tidied)
    alone_starts = [0]
    for line in before:
        alone_starts.append(alone_starts[-1] + len(line))
    tidy: list[tuple[int, int, str]] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start, end = in_text(alone_starts[i1]), in_text(alone_starts[i2])
        if start is None or end is None or end < start:
            return _one_edit(text, tidied)
        tidy.append((start, end, "".join(after[j1:j2])))
    spans = own + tidy
    ordered = sorted(spans)
    if any(a[1] > b[0] for a, b in zip(ordered, ordered[1:])):
        return _one_edit(text, tidied)
    return tuple(
        Edit(content, location_of(start, starts), location_of(end, starts))
        for start, end, content in ordered
    )


def _one_edit(text: str, fixed: str) -> tuple[Edit, ...]:
    """The one edit turning `text` into `fixed`: between their common prefix
    and suffix."""
    shortest = min(len(text), len(fixed))
    prefix = next((i for i in range(shortest) if text[i] != fixed[i]), shortest)
    most = shortest - prefix
    suffix = next((i for i in range(most) if text[-1 - i] != fixed[-1 - i]), most)
    starts = line_starts(text)
    return (
        Edit(
            fixed[prefix : len(fixed) - suffix],
            location_of(prefix, starts),
            location_of(len(text) - suffix, starts),
        ),
    )


def _lines_touched(start: int, end: int, starts: Sequence[int]) -> range:
    first = bisect_right(starts, start) - 1
    last = bisect_right(starts, max(start, end - 1)) - 1
    return range(first, last + 1)


class NotWritten(Exception):
    """A fixed file that was deliberately left alone; the message says why."""


# The temporary file's name: `.app.py.bgtask-lint-1a2b3c.tmp` beside `app.py`.
TEMPORARY_MARK = ".bgtask-lint-"


def write_atomically(
    path: Path, text: str, encoding: str, *, expected: Optional[bytes] = None
) -> None:
    """Replace `path`'s content with `text` (encoded as `encoding`: a BOM is
    part of "utf-8-sig"; line endings are in `text` already), keeping the
    file's owner, group and mode, writing through a symlink.

    A temporary file beside the target, then a rename: the file is whole or
    untouched, whatever interrupts the run. A file with hard links is rewritten
    in place instead (a rename would split the links), with SIGINT and SIGTERM
    held back until it is written. With `expected`, the bytes the fix was
    computed from, a file that changed since it was read is left alone.
    Raises NotWritten (read-only, changed), OSError or UnicodeError with the
    original file untouched."""
    data = text.encode(encoding)
    target = Path(os.path.realpath(path))  # write through a symlink, keep the link
    info = os.stat(target)
    if not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise NotWritten("the file is read-only; not fixed")
    with _signals_held():
        if expected is not None and target.read_bytes() != expected:
            raise NotWritten("the file changed since it was read; not fixed (run again)")
        if info.st_nlink > 1:
            _write_in_place(target, data)
            return
        descriptor, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}{TEMPORARY_MARK}", suffix=".tmp"
        )
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, stat.S_IMODE(info.st_mode))
            _keep_owner(temporary, info)
            os.replace(temporary, target)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise


def _keep_owner(temporary: str, info: os.stat_result) -> None:
    if not hasattr(os, "chown"):
        return
    current = os.stat(temporary)
    if (current.st_uid, current.st_gid) == (info.st_uid, info.st_gid):
        return
    try:
        os.chown(temporary, info.st_uid, info.st_gid)
    except PermissionError:
        # Not ours to give away (not root): a rename would change the owner.
        raise NotWritten("the file belongs to another user; not fixed") from None


def _write_in_place(target: Path, data: bytes) -> None:
    with open(target, "r+b") as handle:
        handle.write(data)
        handle.truncate()
        handle.flush()
        os.fsync(handle.fileno())


class _signals_held:
    """Hold SIGINT and SIGTERM back while a file is written (main thread of a
    POSIX process only); they are delivered, and act, once it is done."""

    _SIGNALS = {getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name)}

    def __enter__(self) -> None:
        self.active = hasattr(signal, "pthread_sigmask") and (
            threading.current_thread() is threading.main_thread()
        )
        if self.active:
            self.previous = signal.pthread_sigmask(signal.SIG_BLOCK, self._SIGNALS)

    def __exit__(self, *exc_info: object) -> None:
        if self.active:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.previous)
