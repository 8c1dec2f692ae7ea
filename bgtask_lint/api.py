"""The public API: check (and optionally fix) source text, one file, or paths.

The CLI is a thin layer over these functions; tests and editors can call them
directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Optional, Union

from bgtask_lint.config import listing
from bgtask_lint.config.command import CheckOptions
from bgtask_lint.config.settings import Overrides, Settings, SettingsResolver
from bgtask_lint.diagnostic import Diagnostic, file_error
from bgtask_lint.run import files, fixing, runner
from bgtask_lint.run.collector import cycle_collector_paused
from bgtask_lint.run.result import Change, FixMode, RunResult
from bgtask_lint.text.source import DecodeError, decode_source

__all__ = [
    "Change",
    "CheckOptions",
    "FixMode",
    "RunResult",
    "add_noqa",
    "check_documents",
    "check_paths",
    "check_source",
    "check_stdin",
    "describe_settings",
    "files_to_check",
    "run_check",
    "settings_for",
]


def check_paths(
    paths: Sequence[Union[str, Path]],
    overrides: Optional[Overrides] = None,
    *,
    force_exclude: bool = False,
    fix: Optional[FixMode] = None,
    workers: Optional[int] = None,
    cache_dir: Optional[Path] = None,
    respect_gitignore: Optional[bool] = None,
) -> RunResult:
    """Check (and with `fix`, fix) every Python file under `paths`, each with the
    configuration that applies to it. Raises ConfigError for a bad configuration.

    A background task defined in another module of the project is followed
    there, but only the files under `paths` are reported on. With `cache_dir`,
    findings of unchanged files are reused (see cache.py); `workers` overrides
    the number of processes (by default, both cores when enough must be parsed).
    """
    listing.forget()  # a directory's entries are listed once per run, not once per process
    resolver = SettingsResolver(overrides or Overrides())
    result = RunResult()
    cache = None
    if cache_dir is not None and fix is None:
        from bgtask_lint.run.cache import Cache

        cache = Cache(cache_dir)
    run = runner.Run(resolver, result, fix, workers, cache)
    with cycle_collector_paused():
        runner.discover_into(run, [Path(p) for p in paths], force_exclude, respect_gitignore)
        run.execute()
        if fix is not None:
            fixing.settle_fixes(run)
    result.diagnostics.sort(key=lambda d: (d.filename, d.location, d.code))
    return result


def run_check(options: CheckOptions, stdin: Optional[bytes] = None) -> RunResult:
    """`bgtask-lint check` as `options` say, once configured
    (CheckOptions.configured): the source read from standard input (`stdin`,
    its bytes) or the paths, fixed when asked. Raises ConfigError for a bad
    configuration."""
    fix = FixMode(unsafe=bool(options.unsafe_fixes), write=not options.diff)
    if options.from_stdin:
        filename = options.stdin_filename or "-"
        return check_stdin(
            stdin or b"", filename, options.overrides, fix if options.fixes else None
        )
    return check_paths(
        options.targets,
        options.overrides,
        force_exclude=options.force_exclude,
        fix=fix if options.fixes else None,
        cache_dir=options.cache_dir,
        respect_gitignore=options.respect_gitignore,
    )


def check_stdin(
    data: bytes,
    filename: str,
    overrides: Optional[Overrides] = None,
    fix: Optional[FixMode] = None,
) -> RunResult:
    """Check source read from standard input, configured as if it were `filename`,
    within its project. With `fix`, the fixed text is in `result.changes`."""
    listing.forget()
    resolver = SettingsResolver(overrides or Overrides())
    result = RunResult(files_checked=1)
    try:
        decoded = decode_source(data)
    except DecodeError as error:
        result.diagnostics.append(file_error(filename, str(error)))
        return result
    path = Path(filename) if filename != "-" else Path.cwd() / "-"
    run = runner.Run(resolver, result)
    run.add(path)
    run.requested.append(os.path.abspath(path))
    file = run.files[0]
    file.name = filename
    file.text, file.encoding = decoded.text, decoded.encoding
    with cycle_collector_paused():
        run.index_context()  # the routes elsewhere whose chains lead into this file
        files.check_file(result, file, FixMode(unsafe=fix.unsafe, write=False) if fix else None)
    return result


def check_documents(
    texts: Mapping[str, str],
    paths: Optional[Sequence[str]] = None,
    overrides: Optional[Overrides] = None,
    *,
    fix: Optional[FixMode] = None,
) -> RunResult:
    """Check the files `paths` (by default, every key of `texts`) within
    their projects, where `texts` (absolute path -> text) stands for the
    files' contents: an editor's open buffers, saved or not. The findings a
    chain leads to in other files are reported too. With `fix`, nothing is
    written: the fixed texts are in `result.changes`. A file that
    `exclude` matches is not checked (as with `--force-exclude`). Raises
    ConfigError for a bad configuration."""
    listing.forget()
    resolver = SettingsResolver(overrides or Overrides())
    result = RunResult()
    overlay = {os.path.abspath(path): (text, "utf-8") for path, text in texts.items()}
    mode = FixMode(unsafe=fix.unsafe, write=False) if fix is not None else None
    # One process: an editor's server holds threads, and checks a few files.
    run = runner.Run(resolver, result, mode, workers=1, overlay=overlay)
    for path in texts if paths is None else paths:
        absolute = os.path.abspath(path)
        if resolver.for_path(absolute, is_dir=False).is_excluded_with_ancestors(Path(absolute)):
            continue
        run.add(absolute)
        run.requested.append(absolute)
    with cycle_collector_paused():
        run.execute()
        if mode is not None:
            fixing.settle_fixes(run)
    result.diagnostics.sort(key=lambda d: (d.filename, d.location, d.code))
    return result


def check_source(
    source: Union[str, bytes],
    filename: str = "<string>",
    settings: Optional[Settings] = None,
) -> list[Diagnostic]:
    """Diagnostics for one module's source, on its own (names imported from
    other modules are not followed). `filename` is only used in reports and to
    match `per-file-ignores`."""
    settings = settings or Settings(root=Path.cwd())
    if isinstance(source, bytes):
        try:
            source = decode_source(source).text
        except DecodeError as error:
            return [file_error(filename, str(error))]
    result = RunResult()
    file = files.SourceFile(filename, filename, settings, None, source)
    files.check_file(result, file, None, screen=True)
    if result.errors:
        raise RuntimeError(result.errors[0])
    return result.diagnostics


def add_noqa(
    paths: Sequence[Union[str, Path]],
    overrides: Optional[Overrides] = None,
    *,
    force_exclude: bool = False,
    respect_gitignore: Optional[bool] = None,
) -> tuple[int, RunResult]:
    """Add `# noqa: CODE` to the line of every current finding, so a team can
    adopt the tool now and fix later. Returns how many lines got a directive,
    and the check's result (its errors include files that could not be
    written)."""
    from bgtask_lint.engine.noqa_writer import add_directives

    result = check_paths(
        paths, overrides, force_exclude=force_exclude, respect_gitignore=respect_gitignore
    )
    by_file: dict[str, dict[int, set[str]]] = {}
    for d in result.diagnostics:
        if d.code.startswith("BGT9") or d.noqa_row is None:
            continue  # the input's own problems cannot be silenced
        by_file.setdefault(d.filename, {}).setdefault(d.noqa_row, set()).add(d.code)
    added = 0
    for filename, rows in by_file.items():
        count, error = add_directives(Path(filename), rows)
        added += count
        if error:
            result.errors.append(f"{filename}: {error}")
    return added, result


def settings_for(
    path: Union[str, Path], overrides: Optional[Overrides] = None, *, leniently: bool = False
) -> Settings:
    """The settings that apply to `path` (a file or a directory): `--config`'s,
    or the nearest configuration above it, with `overrides` applied. Raises
    ConfigError for a bad configuration, unless `leniently`: then a broken
    file is passed over, as if absent."""
    listing.forget()
    resolver = SettingsResolver(overrides or Overrides())
    return resolver.for_context(path) if leniently else resolver.for_path(path)


def describe_settings(path: Union[str, Path], overrides: Optional[Overrides] = None) -> str:
    """`--show-settings`: the settings `path` is checked with, as TOML."""
    from bgtask_lint.config.roots import find_project_root
    from bgtask_lint.output.settings_report import format_settings

    settings = settings_for(path, overrides)
    return format_settings(Path(path), settings, find_project_root(path))


def files_to_check(
    paths: Sequence[Union[str, Path]],
    overrides: Optional[Overrides] = None,
    *,
    force_exclude: bool = False,
    respect_gitignore: Optional[bool] = None,
) -> tuple[list[str], list[str]]:
    """What `check_paths` would check under `paths`, as sorted absolute
    paths, and the paths it could not walk (one line each)."""
    from bgtask_lint.run.discovery import discover

    listing.forget()
    resolver = SettingsResolver(overrides or Overrides())
    files, errors = set(), []
    found = discover(
        [Path(p) for p in paths],
        resolver,
        force_exclude=force_exclude,
        respect_gitignore=respect_gitignore,
    )
    for item in found:
        if item.error is not None:
            errors.append(f"{item.path}: {item.error}")
        else:
            files.add(item.absolute or os.path.abspath(item.path))
    return sorted(files), errors


def forget_what_was_read() -> None:
    """Drop what this process remembers of files read by earlier runs: the
    projects' pins, the formatter's line length, the listings of project
    roots, .gitignore files, project roots and the lines of reported files.
    A long-lived caller (`check --watch`) calls it before each run, so an
    edited configuration counts."""
    from bgtask_lint.analysis import project
    from bgtask_lint.config import documents, formatting, listing, pins, roots, settings
    from bgtask_lint.output import shared
    from bgtask_lint.run import gitignore

    pins.forget()
    documents.forget()
    listing.forget()
    settings.forget_rule_options()
    formatting.formatter_line_length.cache_clear()
    gitignore.load.cache_clear()
    gitignore.repository_root.cache_clear()
    project.forget_keys()
    roots.forget()
    shared.forget_file_lines()
