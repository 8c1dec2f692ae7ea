"""Where a project starts: the nearest directory holding a project marker.

The root decides which settings apply, what a module's dotted name is and
which files are one project's; a run asks it for every file.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Optional, Union

from bgtask_lint.config import listing

PROJECT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")


def find_project_root(path: Union[str, Path], *, is_dir: Optional[bool] = None) -> Path:
    """The nearest directory at or above `path` with a pyproject.toml,
    setup.cfg, setup.py or .git; else, as ruff does, the working directory
    when the path is below it, or the path's own directory."""
    absolute = path if isinstance(path, str) and os.path.isabs(path) else os.path.abspath(path)
    if is_dir is None:
        is_dir = os.path.isdir(absolute)
    directory = absolute if is_dir else os.path.dirname(absolute)
    return _root_path(_marked_ancestor(directory) or _unmarked_root(directory))


def _unmarked_root(directory: str) -> str:
    cwd = os.getcwd()
    inside = directory == cwd or directory.startswith(cwd.rstrip(os.sep) + os.sep)
    return cwd if inside else directory


@lru_cache(maxsize=4096)
def _root_path(directory: str) -> Path:
    return Path(directory)


_MARKED: dict[str, Optional[str]] = {}


def forget() -> None:
    """See api.forget_what_was_read."""
    _MARKED.clear()


def _marked_ancestor(directory: str) -> Optional[str]:
    """The nearest directory at or above `directory` with a project marker.
    Cached per directory (a run over thousands of files asks each ancestor
    once); a loop, since a tree can be deeper than Python's stack."""
    walked = []
    found: Optional[str] = None
    while True:
        if directory in _MARKED:
            found = _MARKED[directory]
            break
        walked.append(directory)
        names = listing.names_in(directory)
        if any(
            marker in names and os.path.exists(os.path.join(directory, marker))
            for marker in PROJECT_MARKERS
        ):
            found = directory
            break
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    for seen in walked:
        _MARKED[seen] = found
    return found
