"""Which files a run checks: walk the given paths, skip excluded directories."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from bgtask_lint.config import SettingsResolver

PYTHON_SUFFIXES = (".py", ".pyi")


@dataclass(frozen=True)
class Found:
    """A file to check, or a path that could not be walked (`error` set)."""

    path: Path
    error: Optional[str] = None


def discover(
    paths: Sequence[Path], resolver: SettingsResolver, *, force_exclude: bool = False
) -> Iterator[Found]:
    """Files under `paths`, in a stable order. A path named on the command line is
    checked even when it matches `exclude`, unless `force_exclude` (as in ruff,
    so that pre-commit, which names every file, still honours `exclude`)."""
    seen: set[str] = set()
    for path in paths:
        if not os.path.lexists(path):
            yield Found(path, "No such file or directory")
            continue
        if force_exclude and resolver.for_path(path).is_excluded_with_ancestors(path):
            continue
        if path.is_dir():
            yield from _walk(os.path.abspath(path), str(path), resolver, seen)
        elif str(path) not in seen:
            seen.add(str(path))
            yield Found(path)


def _walk(absolute: str, shown: str, resolver: SettingsResolver, seen: set[str]) -> Iterator[Found]:
    """Walk a directory; `shown` is how its paths are spelled in reports."""
    try:
        entries = sorted(os.scandir(absolute), key=lambda entry: entry.name)
    except OSError as error:
        yield Found(Path(shown), error.strerror or str(error))
        return
    settings = resolver.for_path(Path(absolute), is_dir=True)
    base = settings.relative_directory(absolute)
    for entry in entries:
        relative = f"{base}/{entry.name}" if base else entry.name
        if settings.is_excluded_name(entry.name, relative):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        child = os.path.join(shown, entry.name)
        if is_dir:
            yield from _walk(entry.path, child, resolver, seen)
        elif entry.name.endswith(PYTHON_SUFFIXES) and child not in seen:
            seen.add(child)
            yield Found(Path(child))
