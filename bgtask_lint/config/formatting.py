"""The line length the project's formatter keeps (ruff, else black), so that
fixes wrap what they write as the formatter would and `ruff format --check`
still passes on a fixed file.

Read from the project root: `ruff.toml` / `.ruff.toml` (`line-length`),
`pyproject.toml` (`[tool.ruff] line-length`, then `[tool.black]
line-length`); 88 (both formatters' default) otherwise.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from bgtask_lint.config.documents import toml_document
from bgtask_lint.config.listing import names_in
from bgtask_lint.config.versions import tomllib

DEFAULT_LINE_LENGTH = 88


@lru_cache(maxsize=64)
def formatter_line_length(root: Path) -> int:
    names = names_in(root)
    for name in (".ruff.toml", "ruff.toml"):
        found = _line_length(_read(root / name)) if name in names else 0
        if found:
            return found
    document = _read(root / "pyproject.toml") if "pyproject.toml" in names else {}
    tool = document.get("tool")
    if not isinstance(tool, dict):
        return DEFAULT_LINE_LENGTH
    for formatter in ("ruff", "black"):
        table = tool.get(formatter)
        found = _line_length(table if isinstance(table, dict) else {})
        if found:
            return found
    return DEFAULT_LINE_LENGTH


def _read(path: Path) -> dict[str, Any]:
    if not os.path.isfile(path):
        return {}
    try:
        return toml_document(os.fspath(path))
    except (OSError, UnicodeError, tomllib.TOMLDecodeError):
        return {}  # the formatter's own reading reports it


def _line_length(table: dict[str, Any]) -> int:
    value = table.get("line-length")
    # A formatter's own setting of another shape is the formatter's to reject.
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
