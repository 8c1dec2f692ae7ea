"""TOML files parsed once, whoever reads them: the settings, the formatter's
line length and the pins all read a project's pyproject.toml, and parsing
it three times (TOML is parsed in Python) was a sixteenth of a warm run on
the corpus of whole checkouts. A document is kept by the file's size and
modification time, so a process that runs again sees an edited file."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from bgtask_lint.config.versions import tomllib


def toml_document(path: str) -> dict[str, Any]:
    """The parsed TOML file at `path`. Raises OSError, UnicodeDecodeError
    or tomllib.TOMLDecodeError (not kept: the next reader meets it again).
    The document is shared: readers must not change it."""
    status = os.stat(path)
    return _parsed(path, status.st_size, status.st_mtime_ns)


@lru_cache(maxsize=256)
def _parsed(path: str, size: int, mtime_ns: int) -> dict[str, Any]:
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def forget() -> None:
    """See api.forget_what_was_read."""
    _parsed.cache_clear()
