"""Text edits: from a rewritten module to ruff-style edits, and back onto text.

Fixes are computed as whole-module rewrites, then reduced to the smallest edits
that turn the old text into the new one. Edits are what the JSON output shows
and what the fixer merges: non-overlapping fixes from several findings are
applied in one round, as ruff does.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from bgtask_lint.diagnostic import Edit, Location

_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+$")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split only at CR, LF and CRLF (as Python's
    tokenizer and libcst count lines; str.splitlines also splits at U+2028,
    form feeds and others)."""
    return _LINE.findall(text)


def line_starts(text: str) -> list[int]:
    """Offsets where each line begins (line breaks as libcst counts them)."""
    starts, offset = [0], 0
    for line in split_lines(text):
        offset += len(line)
        starts.append(offset)
    return starts


def location_of(offset: int, starts: Sequence[int]) -> Location:
    row = _row_index(offset, starts)
    return Location(row + 1, offset - starts[row] + 1)


def offset_of(location: Location, starts: Sequence[int]) -> int:
    return starts[location.row - 1] + location.column - 1


def _row_index(offset: int, starts: Sequence[int]) -> int:
    low, high = 0, len(starts) - 1
    while low < high:  # last start <= offset
        middle = (low + high + 1) // 2
        if starts[middle] <= offset:
            low = middle
        else:
            high = middle - 1
    return low


def diff_edits(old: str, new: str) -> tuple[Edit, ...]:
    """The edits that turn `old` into `new`: changed line blocks, each trimmed to
    the characters that actually differ."""
    old_lines, new_lines = split_lines(old), split_lines(new)
    starts = line_starts(old)
    edits = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start, end = starts[i1], starts[i2]
        before, after = old[start:end], "".join(new_lines[j1:j2])
        prefix = _common_prefix(before, after)
        suffix = _common_suffix(before[prefix:], after[prefix:])
        content = after[prefix : len(after) - suffix]
        edits.append(
            Edit(
                content=content,
                location=location_of(start + prefix, starts),
                end_location=location_of(end - suffix, starts),
            )
        )
    return tuple(edits)


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _common_suffix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(reversed(a), reversed(b)):
        if x != y:
            break
        n += 1
    return n
