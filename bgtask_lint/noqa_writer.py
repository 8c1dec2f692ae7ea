"""--add-noqa: write `# noqa: CODES` onto the lines of current findings."""

from __future__ import annotations

import io
import tokenize
from pathlib import Path
from typing import Optional

from bgtask_lint.noqa import with_codes
from bgtask_lint.source import NEWLINE, DecodeError, decode_source


def add_directives(path: Path, rows: dict[int, set[str]]) -> tuple[int, Optional[str]]:
    """Add the codes of `rows` (row -> codes) to `path`'s lines; returns how many
    lines changed and an error, if the file was left alone."""
    import libcst as cst

    from bgtask_lint.fixer import write_atomically

    try:
        decoded = decode_source(path.read_bytes())
    except (OSError, DecodeError) as error:
        return 0, f"cannot read: {error}"
    text = decoded.text
    inside_strings = _rows_ending_inside_a_string(text)
    parts = NEWLINE.split(text)
    breaks = NEWLINE.findall(text)
    changed = 0
    for row, codes in rows.items():
        if row in inside_strings or not 0 < row <= len(parts):
            continue  # a `#` there would become part of the string
        updated = with_codes(parts[row - 1], codes)
        if updated != parts[row - 1]:
            parts[row - 1] = updated
            changed += 1
    if not changed:
        return 0, None
    new_text = "".join(
        part + (breaks[i] if i < len(breaks) else "") for i, part in enumerate(parts)
    )
    try:
        cst.parse_module(new_text)
        write_atomically(path, new_text, decoded.encoding)
    except (cst.ParserSyntaxError, OSError, UnicodeError) as error:
        return 0, f"left unchanged: {error}"
    return changed, None


def _rows_ending_inside_a_string(text: str) -> set[int]:
    """Rows whose end is inside a multi-line string (or f-string)."""
    rows: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.STRING or token.type == getattr(
                tokenize, "FSTRING_MIDDLE", -1
            ):
                rows.update(range(token.start[0], token.end[0]))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass  # newer syntax than this Python's tokenizer: libcst re-parses below
    return rows
