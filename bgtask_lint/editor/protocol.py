"""Findings and edits as LSP values.

Our rows and columns are 1-based and count characters (code points), as
ruff's do; LSP's are 0-based and count the code units of the encoding the
client and server agreed on (UTF-16 unless the client offers another).
Lines are split where libcst splits them: `\\r\\n`, `\\r`, `\\n` (LSP's own).
"""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Optional

from lsprotocol import types
from pygls.uris import from_fs_path

from bgtask_lint.diagnostic import SAFE, Diagnostic, Location
from bgtask_lint.text.source import NEWLINE

SOURCE = "bgtask-lint"
FIX_ALL = f"{types.CodeActionKind.SourceFixAll.value}.{SOURCE}"
_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}


def code_units(text: str, encoding: str) -> int:
    """How many code units of `encoding` (an LSP position encoding) `text` is."""
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class Lines:
    """A text's lines, to place our locations in LSP's units."""

    def __init__(self, text: str, encoding: str) -> None:
        self.text = text
        self.encoding = encoding
        self.starts = [0, *(m.end() for m in NEWLINE.finditer(text))]

    def _line(self, index: int) -> str:
        end = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.text)
        return NEWLINE.sub("", self.text[self.starts[index] : end])

    def position(self, location: Location) -> types.Position:
        row = min(max(location.row - 1, 0), len(self.starts) - 1)
        line = self._line(row)
        return types.Position(row, code_units(line[: max(location.column - 1, 0)], self.encoding))

    def range(self, start: Location, end: Location) -> types.Range:
        return types.Range(self.position(start), self.position(end))

    def at_offset(self, offset: int) -> types.Position:
        row = bisect_right(self.starts, offset) - 1
        return types.Position(row, code_units(self.text[self.starts[row] : offset], self.encoding))

    def character(self, position: types.Position) -> int:
        """The 0-based character column of an LSP position's column."""
        if position.line >= len(self.starts):
            return 0
        line, units, column = self._line(position.line), 0, 0
        for char in line:
            if units >= position.character:
                break
            units += code_units(char, self.encoding)
            column += 1
        return column


def diagnostic(
    d: Diagnostic, lines: Lines, lines_of: Callable[[str], Optional[Lines]]
) -> types.Diagnostic:
    """`d` in LSP's terms; `lines_of` gives another file's lines (None: the
    file cannot be read, its columns are taken as they are)."""
    related = []
    for other in d.related:
        other_lines = lines if other.filename == d.filename else lines_of(other.filename)
        at = (other_lines or Lines("", lines.encoding)).position(other.location)
        if other_lines is None:
            at = types.Position(other.location.row - 1, other.location.column - 1)
        related.append(
            types.DiagnosticRelatedInformation(
                location=types.Location(
                    uri=from_fs_path(os.path.abspath(other.filename)) or other.filename,
                    range=types.Range(at, at),
                ),
                message=other.message,
            )
        )
    return types.Diagnostic(
        range=lines.range(d.location, d.end_location),
        message=d.message,
        severity=_SEVERITY.get(d.severity, types.DiagnosticSeverity.Error),
        code=d.code,
        code_description=types.CodeDescription(href=d.url),
        source=SOURCE,
        related_information=related or None,
    )


def replacing(before: str, after: str, encoding: str) -> list[types.TextEdit]:
    """One edit turning `before` into `after`: the lines between their common
    first and last lines (the cursor and folds elsewhere stay)."""
    old, new = _split(before), _split(after)
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(old), len(new)) - prefix
        and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]
    ):
        suffix += 1
    start = sum(len(line) for line in old[:prefix])
    end = len(before) - sum(len(line) for line in old[len(old) - suffix :])
    lines = Lines(before, encoding)
    changed = "".join(new[prefix : len(new) - suffix])
    return [
        types.TextEdit(
            range=types.Range(lines.at_offset(start), lines.at_offset(end)), new_text=changed
        )
    ]


def _split(text: str) -> list[str]:
    """`text`'s lines, each with its line break."""
    parts, start = [], 0
    for match in NEWLINE.finditer(text):
        parts.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        parts.append(text[start:])
    return parts


def is_offered(d: Diagnostic, unsafe: bool) -> bool:
    return d.fix is not None and (d.fix.applicability == SAFE or unsafe)


def overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return p.line, p.character

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def kind_wanted(kind: str, only: Optional[Sequence[str]]) -> bool:
    """Whether a code action of `kind` answers a request for `only` kinds
    (kinds are hierarchical: `source.fixAll` asks for ours too)."""
    return not only or any(kind == o or kind.startswith(f"{o}.") for o in only)
