"""What several output formats need: how paths are shown, the lines around a
finding, and a finding in ruff's JSON schema."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Optional

from bgtask_lint.diagnostic import Diagnostic, Edit, Fix, Location
from bgtask_lint.text.source import NEWLINE, read_source


def display_path(filename: str) -> str:
    """Paths under the working directory are shown relative to it, as ruff does."""
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename
    return filename if relative.startswith("..") else relative


def source_lines(d: Diagnostic) -> tuple[str, ...]:
    """The lines of the file a finding is in (read again for cached findings)."""
    return d.source_lines or _file_lines(d.filename)


@lru_cache(maxsize=64)
def _file_lines(filename: str) -> tuple[str, ...]:
    """A file's lines, for findings that came from the cache without them."""
    text = read_source(Path(filename))[0] if os.path.isfile(filename) else None
    return tuple(NEWLINE.split(text)) if text is not None else ()


def _location(location: Location) -> dict:
    return {"column": location.column, "row": location.row}


def _edit(edit: Edit) -> dict:
    return {
        "content": edit.content,
        "end_location": _location(edit.end_location),
        "location": _location(edit.location),
    }


def _fix(fix: Optional[Fix]) -> Optional[dict]:
    if fix is None:
        return None
    return {
        "applicability": fix.applicability,
        "edits": [_edit(e) for e in fix.edits],
        "message": fix.message,
    }


def diagnostic_to_json(d: Diagnostic) -> dict:
    return {
        "cell": None,
        "code": d.code,
        "end_location": _location(d.end_location),
        "filename": os.path.abspath(d.filename) if d.filename != "-" else d.filename,
        "fix": _fix(d.fix),
        "location": _location(d.location),
        "message": d.message,
        "name": d.name,
        "noqa_row": d.noqa_row,
        "severity": d.severity,
        "url": d.url,
    }
