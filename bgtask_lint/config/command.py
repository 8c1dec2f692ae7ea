"""What `bgtask-lint check` is asked, as one value: the command line parses
into it (cli.py), the API runs it (api.run_check), and the report is made
from it and the result."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional, TypeVar

from bgtask_lint.config.settings import Overrides, Settings

T = TypeVar("T")
STDIN = Path("-")


@dataclass(frozen=True)
class CheckOptions:
    """`None` where the command line is silent and the configuration (then a
    default) decides: see `configured`."""

    paths: tuple[Path, ...] = ()
    # What changes the settings: selection, ignores, pins, `--config`...
    overrides: Overrides = field(default_factory=Overrides)
    fix: Optional[bool] = None
    fix_only: bool = False
    show_fixes: bool = False
    unsafe_fixes: Optional[bool] = None
    diff: bool = False
    exit_non_zero_on_fix: bool = False
    output_format: Optional[str] = None
    output_file: Optional[Path] = None
    exit_zero: bool = False
    statistics: bool = False
    quiet: bool = False
    stdin_filename: Optional[str] = None
    add_noqa: bool = False
    respect_gitignore: Optional[bool] = None
    no_cache: bool = False
    force_exclude: bool = False
    color: str = "auto"
    cache_dir: Optional[Path] = None

    @property
    def targets(self) -> tuple[Path, ...]:
        """The paths to check: the current directory when none is given."""
        return self.paths or (Path("."),)

    @property
    def from_stdin(self) -> bool:
        return self.paths == (STDIN,) or (not self.paths and self.stdin_filename is not None)

    @property
    def fixes(self) -> bool:
        """Whether fixes are worked out (written, or shown by `--diff`)."""
        return bool(self.fix or self.fix_only or self.diff)

    def configured(self, settings: Settings, cache_directory: Optional[Path]) -> CheckOptions:
        """These options with what the command line does not say taken from
        the configuration where the command runs (ruff's `fix`,
        `unsafe-fixes`, `output-format`, `cache-dir`), then the defaults.
        `cache_directory`: the default cache's, None for no cache."""
        cache_dir = None
        if cache_directory is not None and not self.no_cache:
            cache_dir = self.cache_dir or settings.cache_dir or cache_directory
        return replace(
            self,
            fix=_given(self.fix, settings.fix, False) or self.fix_only,
            unsafe_fixes=_given(self.unsafe_fixes, settings.unsafe_fixes, False),
            output_format=_given(self.output_format, settings.output_format, "full"),
            cache_dir=cache_dir,
        )

    def misused_stdin(self) -> Optional[str]:
        """What is wrong with how standard input is asked for, if anything."""
        if not self.from_stdin and STDIN in self.paths:
            return "`-` (standard input) cannot be combined with other paths"
        if self.stdin_filename is not None and not self.from_stdin:
            return "`--stdin-filename` names source read from standard input: give `-` as the path"
        return None


def _given(value: Optional[T], configured: Optional[T], default: T) -> T:
    """The command line's value, else the configuration's, else the default."""
    if value is not None:
        return value
    return configured if configured is not None else default
