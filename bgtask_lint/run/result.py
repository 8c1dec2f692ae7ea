"""What a run produces: its findings, the files it fixed, and what failed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bgtask_lint.diagnostic import Diagnostic


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
    encoding: str = "utf-8"  # the file's, as decode_source names it ("utf-8-sig": a BOM)


@dataclass
class RunResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files_checked: int = 0
    # The absolute paths of the files checked, in the order they were found.
    checked_paths: list[str] = field(default_factory=list)
    fixed: Counter = field(default_factory=Counter)
    # The same, per file (for --show-fixes): file name -> code -> number fixed.
    fixed_by_file: dict[str, Counter] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    # One line per file we failed on (a bug of ours, a write that failed); the
    # run went on without it, and the exit code is 2.
    errors: list[str] = field(default_factory=list)
