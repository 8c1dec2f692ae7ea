"""--add-noqa (and the editor's "disable for this line"): `# noqa: CODES` on
the lines of current findings."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from bgtask_lint.text.noqa import CannotTokenize, comment_map, with_codes
from bgtask_lint.text.source import NEWLINE, DecodeError, UnreadableFile, decode_source, read_file


def add_directives(path: Path, rows: dict[int, set[str]]) -> tuple[int, Optional[str]]:
    """Add the codes of `rows` (row -> codes; rows are the findings' noqa rows,
    so never inside a string or a backslash continuation) to `path`'s lines;
    returns how many lines changed and an error, if the file was left alone."""
    import libcst as cst

    from bgtask_lint.analysis.parsing import CannotParse, parse_module
    from bgtask_lint.engine.fix import NotWritten, write_atomically

    try:
        data, _ = read_file(str(path))
        decoded = decode_source(data)
    except (UnreadableFile, DecodeError) as error:
        return 0, f"cannot read: {error}"
    text = decoded.text
    try:
        new_text, changed = with_directives(text, rows)
    except CannotTokenize as error:
        return 0, f"left unchanged: this Python cannot read its comments ({error})"
    if not changed:
        return 0, None
    try:
        parse_module(new_text)
        write_atomically(path, new_text, decoded.encoding, expected=data)
    except (
        cst.ParserSyntaxError,
        CannotParse,
        RecursionError,
        NotWritten,
        OSError,
        UnicodeError,
    ) as error:
        return 0, f"left unchanged: {error}"
    return changed, None


def with_directives(text: str, rows: dict[int, set[str]]) -> tuple[str, int]:
    """`text` with the codes of `rows` (see add_directives) added to their
    lines' directives, and how many lines changed. Raises CannotTokenize
    when this Python cannot read the comments."""
    comments = comment_map(text)
    parts = NEWLINE.split(text)
    breaks = NEWLINE.findall(text)
    changed = 0
    for row, codes in sorted(rows.items()):
        if comments.noqa_row(row) != row or not 0 < row <= len(parts):
            continue  # inside a string or a continued line: a `#` there is no comment
        updated = with_codes(parts[row - 1], codes, comments.by_row.get(row))
        if updated != parts[row - 1]:
            parts[row - 1] = updated
            changed += 1
    if not changed:
        return text, 0
    joined = "".join(part + (breaks[i] if i < len(breaks) else "") for i, part in enumerate(parts))
    return joined, changed
