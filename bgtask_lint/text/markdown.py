"""Markdown files as text: which files they are, and their fenced Python
code blocks with where each sits (checked by engine/markdown.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

from bgtask_lint.diagnostic import Location

MARKDOWN_SUFFIXES = (".md", ".markdown")
PYTHON_INFO = frozenset({"python", "py", "python3", "py3"})
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\s`]*)[^`]*$")
# What the block is read with when it uses BackgroundTasks without importing it.
PRELUDE = "from fastapi import BackgroundTasks\n"
_BINDS_BACKGROUND_TASKS = re.compile(r"\bimport\b[^\n]*\bBackgroundTasks\b|\bBackgroundTasks\s*=")


def is_markdown(filename: str) -> bool:
    return filename.lower().endswith(MARKDOWN_SUFFIXES)


@dataclass(frozen=True)
class CodeBlock:
    """A fenced Python block: its first content line (0-based, in the file's
    lines), how many lines it has, the fence's indentation, and its code."""

    first: int
    count: int
    indent: str
    code: str
    prelude: bool  # PRELUDE is prepended to `code` when it is checked

    @property
    def source(self) -> str:
        return (PRELUDE if self.prelude else "") + self.code

    def to_file(self, location: Location) -> Optional[Location]:
        """Where a location in `source` is in the Markdown file (None: on
        the prelude)."""
        row = location.row - (1 if self.prelude else 0)
        if row < 1 or row > self.count + 1:
            return None
        return Location(self.first + row, location.column + len(self.indent))


def code_blocks(lines: list[str]) -> Iterator[CodeBlock]:
    """The Python blocks of a Markdown file split into `lines` (no line ends)."""
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        index += 1
        if opening is None:
            continue
        fence, indent = opening.group("fence"), opening.group("indent")
        start = index
        while index < len(lines):
            closing = lines[index].strip()
            if closing.startswith(fence[0] * len(fence)) and not closing.strip(fence[0]):
                break
            index += 1
        body = lines[start:index]
        index += 1  # past the closing fence
        if opening.group("info").lower() not in PYTHON_INFO:
            continue
        if any(line.strip() and not line.startswith(indent) for line in body):
            continue  # not indented as its fence: not a block we can put back
        code = "".join(line[len(indent) :] + "\n" for line in body)
        uses = "BackgroundTasks" in code and not _BINDS_BACKGROUND_TASKS.search(code)
        yield CodeBlock(start, len(body), indent, code, uses)
