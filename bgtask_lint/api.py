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
from bgtask_lint.engine import DecodeError, check_text, decode_source, file_error
from bgtask_lint.fixer import fix_text, write_atomically


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


def check_source(
    source: Union[str, bytes],
    filename: str = "<string>",
    settings: Optional[Settings] = None,
) -> list[Diagnostic]:
    """Diagnostics for one module's source. `filename` is only used in reports and
    to match `per-file-ignores`."""
    result = RunResult()
    _check_one(result, source, filename, settings or Settings(root=Path.cwd()), None)
    if result.errors:
        raise RuntimeError(result.errors[0])
    return result.diagnostics


def check_paths(
    paths: Sequence[Union[str, Path]],
    overrides: Optional[Overrides] = None,
    *,
    force_exclude: bool = False,
    fix: Optional[FixMode] = None,
) -> RunResult:
    """Check (and with `fix`, fix) every Python file under `paths`, each with the
    configuration that applies to it. Raises ConfigError for a bad configuration."""
    resolver = SettingsResolver(overrides or Overrides())
    result = RunResult()
    for found in discover([Path(p) for p in paths], resolver, force_exclude=force_exclude):
        if found.error is not None:
            result.diagnostics.append(file_error(str(found.path), found.error))
            continue
        result.files_checked += 1
        try:
            data = found.path.read_bytes()
        except OSError as error:
            message = f"cannot read file: {error.strerror or error}"
            result.diagnostics.append(file_error(str(found.path), message))
            continue
        _check_one(result, data, str(found.path), resolver.for_path(found.path), fix)
    return result


def check_stdin(
    data: bytes,
    filename: str,
    overrides: Optional[Overrides] = None,
    fix: Optional[FixMode] = None,
) -> RunResult:
    """Check source read from standard input, configured as if it were `filename`.
    With `fix`, the fixed text is in `result.changes` (nothing is written)."""
    resolver = SettingsResolver(overrides or Overrides())
    settings = resolver.for_path(Path(filename) if filename != "-" else Path.cwd())
    result = RunResult(files_checked=1)
    fix = FixMode(unsafe=fix.unsafe, write=False) if fix else None
    _check_one(result, data, filename, settings, fix)
    return result


def _check_one(
    result: RunResult,
    source: Union[str, bytes],
    filename: str,
    settings: Settings,
    fix: Optional[FixMode],
) -> None:
    encoding = "utf-8"
    if isinstance(source, bytes):
        try:
            decoded = decode_source(source)
        except DecodeError as error:
            result.diagnostics.append(file_error(filename, str(error)))
            return
        source, encoding = decoded.text, decoded.encoding
    codes = settings.enabled_codes(Path(filename))
    options = settings.rule_options()
    try:
        if fix is None:
            result.diagnostics.extend(check_text(source, filename, codes, options))
            return
        outcome = fix_text(source, filename, codes, options, unsafe=fix.unsafe)
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
            write_atomically(Path(filename), outcome.text, encoding)
        except (OSError, UnicodeError) as error:
            result.errors.append(f"{filename}: cannot write the fixed file: {error}")
            result.diagnostics.extend(check_text(source, filename, codes, options))
            return
    result.diagnostics.extend(outcome.remaining)
    if outcome.text != source:
        result.fixed.update(outcome.fixed)
        result.changes.append(Change(filename, source, outcome.text))
