"""What several output formats need: how paths are shown, the lines around a
finding, and a finding in ruff's JSON schema."""

from __future__ import annotations

import os
from collections.abc import Mapping
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


def forget_file_lines() -> None:
    """See api.forget_what_was_read."""
    _file_lines.cache_clear()


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
        # Ours, beyond ruff's schema: the other places on the finding's chain
        # (every route a value comes from, each task that reaches a call).
        "related": [
            {
                "filename": r.filename,
                "location": _location(r.location),
                "message": r.message,
            }
            for r in d.related
        ],
        "severity": d.severity,
        "url": d.url,
    }


class Palette:
    """ANSI styles for the text formats, as ruff colours them: the code red
    and bold, the path bold, `[*]` cyan, the gutter blue, the carets red.
    Disabled, every style is the text itself."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def _style(self, text: str, codes: str) -> str:
        return f"\x1b[{codes}m{text}\x1b[0m" if self.enabled and text else text

    def code(self, text: str) -> str:
        return self._style(text, "1;31")

    def path(self, text: str) -> str:
        return self._style(text, "1")

    def separator(self, text: str) -> str:
        return self._style(text, "36")

    def fix(self, text: str) -> str:
        return self._style(text, "36")

    def gutter(self, text: str) -> str:
        return self._style(text, "1;34")

    def caret(self, text: str) -> str:
        return self._style(text, "1;31")

    def bold(self, text: str) -> str:
        return self._style(text, "1")


PLAIN = Palette(False)


def colour_wanted(choice: str, stream_is_terminal: bool, environ: Mapping[str, str]) -> bool:
    """Whether to colour: `--color always|never` decides; for `auto`,
    `NO_COLOR` turns it off, `FORCE_COLOR` / `CLICOLOR_FORCE` on (even when
    piped), and otherwise a terminal gets colour and a pipe does not."""
    if choice in ("always", "never"):
        return choice == "always"
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR") or environ.get("CLICOLOR_FORCE", "0") != "0":
        return True
    return stream_is_terminal and environ.get("TERM") != "dumb"
