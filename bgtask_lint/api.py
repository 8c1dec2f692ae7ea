"""The public API: check source text, one file, or a set of paths.

The CLI is a thin layer over these functions; tests and editors can call them
directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Optional, Union

from bgtask_lint.config import Overrides, Settings, SettingsResolver
from bgtask_lint.diagnostic import Diagnostic
from bgtask_lint.discovery import discover
from bgtask_lint.engine import DecodeError, check_text, decode_source, file_error


@dataclass
class RunResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files_checked: int = 0
    # One line per file a bug of ours failed on; the run went on without it.
    internal_errors: list[str] = field(default_factory=list)

    def add_file(self, path: str, check: Callable[[], list[Diagnostic]]) -> None:
        self.files_checked += 1
        try:
            self.diagnostics.extend(check())
        except Exception as error:  # a bug in a rule must not end the run
            self.internal_errors.append(
                f"internal error while checking {path}: {type(error).__name__}: {error} "
                "(please report this)"
            )


def check_source(
    source: Union[str, bytes],
    filename: str = "<string>",
    settings: Optional[Settings] = None,
) -> list[Diagnostic]:
    """Diagnostics for one module's source. `filename` is only used in reports and
    to match `per-file-ignores`."""
    settings = settings or Settings(root=Path.cwd())
    if isinstance(source, bytes):
        try:
            source = decode_source(source).text
        except DecodeError as error:
            return [file_error(filename, str(error))]
    codes = settings.enabled_codes(Path(filename))
    return check_text(source, filename, codes, settings.extra_blocking_calls)


def check_file(path: Path, settings: Settings) -> list[Diagnostic]:
    try:
        data = path.read_bytes()
    except OSError as error:
        return [file_error(str(path), f"cannot read file: {error.strerror or error}")]
    return check_source(data, str(path), settings)


def check_paths(
    paths: Sequence[Union[str, Path]],
    overrides: Optional[Overrides] = None,
    *,
    force_exclude: bool = False,
) -> RunResult:
    """Check every Python file under `paths` with the configuration that applies
    to it. Raises ConfigError for a bad configuration."""
    resolver = SettingsResolver(overrides or Overrides())
    result = RunResult()
    for found in discover([Path(p) for p in paths], resolver, force_exclude=force_exclude):
        if found.error is not None:
            result.diagnostics.append(file_error(str(found.path), found.error))
            continue
        settings = resolver.for_path(found.path)
        result.add_file(str(found.path), partial(check_file, found.path, settings))
    return result


def check_stdin(data: bytes, filename: str, overrides: Optional[Overrides] = None) -> RunResult:
    """Check source read from standard input, configured as if it were `filename`."""
    resolver = SettingsResolver(overrides or Overrides())
    settings = resolver.for_path(Path(filename) if filename != "-" else Path.cwd())
    result = RunResult()
    result.add_file(filename, partial(check_source, data, filename, settings))
    return result
