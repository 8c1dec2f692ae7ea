"""Output formats. Each writer takes the run's diagnostics and returns text.

`json` is ruff's schema field for field (plus nothing), so that anything that
reads `ruff check --output-format json` reads ours.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from typing import Callable, Optional

from bgtask_lint.diagnostic import Diagnostic, Edit, Fix, Location

FORMATS = ("full", "concise", "json")


def display_path(filename: str) -> str:
    """Paths under the working directory are shown relative to it, as ruff does."""
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename
    return filename if relative.startswith("..") else relative


def fixable_mark(diagnostic: Diagnostic, unsafe_fixes: bool = False) -> str:
    fix = diagnostic.fix
    if fix is not None and (fix.applicability == "safe" or unsafe_fixes):
        return "[*] "
    return ""


def format_concise(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False) -> str:
    return "".join(
        f"{display_path(d.filename)}:{d.location.row}:{d.location.column}: "
        f"{d.code} {fixable_mark(d, unsafe_fixes)}{d.message}\n"
        for d in diagnostics
    )


def format_full(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False) -> str:
    """The source line under a caret, in ruff's current layout."""
    blocks = []
    for d in diagnostics:
        header = (
            f"{d.code} {fixable_mark(d, unsafe_fixes)}{d.message}\n"
            f" --> {display_path(d.filename)}:{d.location.row}:{d.location.column}\n"
        )
        blocks.append(header + _excerpt(d))
    return "\n".join(blocks)


def _excerpt(d: Diagnostic) -> str:
    lines = d.source_lines
    if not lines:
        return ""
    first = max(d.location.row - 1, 1)
    last = min(d.end_location.row + 1, len(lines), d.location.row + 5)
    # Trailing empty context lines add nothing.
    while last > d.location.row and not lines[last - 1].strip():
        last -= 1
    width = len(str(last))
    gutter = " " * width + " |"
    out = [gutter]
    for row in range(first, last + 1):
        text = lines[row - 1].expandtabs(1)
        out.append(f"{row:>{width}} | {text}".rstrip())
        if row == d.location.row:
            start = d.location.column - 1
            if d.end_location.row == row:
                length = d.end_location.column - d.location.column
            else:
                length = len(text) - start
            out.append(f"{gutter} {' ' * start}{'^' * max(length, 1)}")
    out.append(gutter)
    return "\n".join(out) + "\n"


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
        "severity": "error",
        "url": d.url,
    }


def format_json(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False) -> str:
    return json.dumps([diagnostic_to_json(d) for d in diagnostics], indent=2) + "\n"


WRITERS: dict[str, Callable[[Sequence[Diagnostic], bool], str]] = {
    "full": format_full,
    "concise": format_concise,
    "json": format_json,
}


def format_statistics(diagnostics: Sequence[Diagnostic]) -> str:
    counts = Counter(d.code for d in diagnostics)
    names = {d.code: d.name for d in diagnostics}
    fixable = {d.code for d in diagnostics if d.fix is not None}
    width = max((len(str(n)) for n in counts.values()), default=1)
    return "".join(
        f"{count:>{width}}\t{code}\t{'[*]' if code in fixable else '[ ]'} {names[code]}\n"
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )


def format_summary(diagnostics: Sequence[Diagnostic]) -> str:
    if not diagnostics:
        return "All checks passed!\n"
    count = len(diagnostics)
    return f"Found {count} error{'s' if count != 1 else ''}.\n"
