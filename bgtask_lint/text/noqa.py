"""`# noqa` directives: reading them (a finding on a line with `# noqa`, or with
`# noqa: BGT001,BGT003` naming its code, is suppressed, as flake8 and ruff do),
finding the ones that suppress nothing (BGT100), and adding them (--add-noqa).

Directives are read from comment tokens only: `"# noqa"` inside a string or a
docstring is text, not a directive, and a fix that edits a directive edits the
comment, never the code before it. As in ruff, a directive on the last line of
a logical line continued with `\\`, or of a multi-line string, covers every
line of it.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Optional

from bgtask_lint.text.source import NEWLINE

_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE,
)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)
# A file-level exemption, as ruff's `# ruff: noqa`: `# bgtask-lint: noqa` (the
# whole file) or `# bgtask-lint: noqa: BGT001, BGT003`; `# ruff: noqa: BGT001`
# too, since users put our codes in ruff's directives when they run both (a
# bare `# ruff: noqa` is about ruff's rules, and left to ruff). flake8's
# `# flake8: noqa` exempts the file from every plugin, ours included (as
# ruff reads it too).
_FILE_NOQA = re.compile(
    r"#\s*(?P<tool>bgtask-lint|ruff|flake8)\s*:\s*noqa"
    r"(?:\s*:\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE,
)
EVERY_CODE = "*"
_MENTIONS_NOQA = re.compile("noqa", re.IGNORECASE)
# A directive that names one of our codes (the only kind that can be unused).
_OWN_DIRECTIVE = re.compile(r"noqa\s*:[^\r\n]*\bBGT\d", re.IGNORECASE)
OWN_PREFIX = "BGT"


@dataclass(frozen=True)
class Comment:
    """A comment token: where its `#` is (row 1-based, column 0-based) and its text."""

    row: int
    column: int
    text: str


@dataclass(frozen=True)
class Directive:
    start: int  # offset of the directive's hash sign within its comment's text
    end: int
    codes: Optional[tuple[str, ...]]  # None for a bare directive (no codes)


class CannotTokenize(Exception):
    """The running Python's tokenizer rejects the text (newer syntax, say)."""


@dataclass(frozen=True)
class CommentMap:
    """The comments of one file, and which row's directives cover which row."""

    by_row: Mapping[int, Comment]
    # Rows inside a backslash-continued logical line or a multi-line string,
    # mapped to the row where their directive goes (the last one).
    noqa_rows: Mapping[int, int]

    def noqa_row(self, row: int) -> int:
        # A chain: a string may end on the line where the next one starts.
        for _ in range(len(self.noqa_rows)):
            if row not in self.noqa_rows:
                break
            row = self.noqa_rows[row]
        return row

    def directives(self, row: int) -> list[Directive]:
        comment = self.by_row.get(row)
        return directives(comment.text) if comment is not None else []

    def is_suppressed(self, row: int, code: str) -> bool:
        return any(d.codes is None or code in d.codes for d in self.directives(row))

    @cached_property
    def file_exemption(self) -> frozenset[str]:
        """The codes the file's file-level directives exempt it from (EVERY_CODE
        for all of them)."""
        exempt: set[str] = set()
        for comment in self.by_row.values():
            if "noqa" not in comment.text.lower():
                continue
            for match in _FILE_NOQA.finditer(comment.text):
                codes = match.group("codes")
                if codes:
                    exempt.update(c.upper() for c in _CODE.findall(codes))
                elif match.group("tool").lower() != "ruff":
                    exempt.add(EVERY_CODE)
        return frozenset(exempt)

    def exempts_file(self, code: str) -> bool:
        exempt = self.file_exemption
        return EVERY_CODE in exempt or code in exempt

    def rows_with_directives(self) -> list[int]:
        return sorted(row for row in self.by_row if self.directives(row))


EMPTY = CommentMap({}, {})


def mentions_noqa(text: str) -> bool:
    return _MENTIONS_NOQA.search(text) is not None


def mentions_own_directive(text: str) -> bool:
    """Whether `text` may hold a `# noqa: ...` naming a bgtask-lint code (a
    cheap look first: real files carry many `# noqa: E501`, and reading their
    comments means tokenizing the whole file)."""
    return OWN_PREFIX in text and _OWN_DIRECTIVE.search(text) is not None


def may_exempt_the_file(text: str) -> bool:
    """Whether `text` may hold a file-level directive (`# bgtask-lint: noqa`):
    without one, a file's exemptions need no tokenizing to tell."""
    return _FILE_NOQA.search(text) is not None


def comment_map_within(text: str, spans: Iterable[tuple[int, int]]) -> CommentMap:
    """The comments of the rows `spans` (first and last row, 1-based) of
    `text`, each span a whole top-level statement (with the comment lines
    before it): what comment_map says of those rows, from tokenizing them
    alone. A finding's directive is on its statement's rows (a multi-line
    string or a `\\` continuation ends within the statement), and a file of
    a thousand lines is tokenized for the few it reports on. Raises
    CannotTokenize as comment_map does."""
    lines = NEWLINE.split(text)
    by_row: dict[int, Comment] = {}
    noqa_rows: dict[int, int] = {}
    for first, last in sorted(set(spans)):
        part = comment_map("\n".join(lines[first - 1 : last]) + "\n")
        shift = first - 1
        for row, comment in part.by_row.items():
            by_row[row + shift] = Comment(row + shift, comment.column, comment.text)
        for row, target in part.noqa_rows.items():
            if row + shift <= last:
                noqa_rows[row + shift] = target + shift
    return CommentMap(by_row, noqa_rows)


def comment_map(text: str) -> CommentMap:
    """Every comment of `text`, read with the tokenizer. Raises CannotTokenize
    when this Python cannot tokenize it (the caller may ask libcst instead)."""
    by_row: dict[int, Comment] = {}
    noqa_rows: dict[int, int] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            kind, (start_row, start_col), (end_row, _) = token.type, token.start, token.end
            if kind == tokenize.COMMENT:
                by_row[start_row] = Comment(start_row, start_col, token.string)
            elif end_row > start_row and kind in _MULTILINE_TOKENS:
                for row in range(start_row, end_row):
                    noqa_rows[row] = end_row
    except (tokenize.TokenError, SyntaxError) as error:
        raise CannotTokenize(str(error)) from None
    _map_continuations(text, noqa_rows, by_row)
    return CommentMap(by_row, noqa_rows)


# Tokens that may span lines: strings (and the pieces of f-strings on 3.12+).
_MULTILINE_TOKENS = frozenset(
    {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
)


def _map_continuations(
    text: str, noqa_rows: dict[int, int], comments: Mapping[int, Comment]
) -> None:
    """Rows ending in a backslash continuation map to the row where the logical
    line ends. (A row with a comment cannot continue; rows inside strings are
    mapped to the string's end already.)"""
    lines = NEWLINE.split(text)
    for row in range(len(lines) - 1, 0, -1):
        if lines[row - 1].endswith("\\") and row not in comments and row not in noqa_rows:
            noqa_rows[row] = noqa_rows.get(row + 1, row + 1)


def directives(comment: str) -> list[Directive]:
    """The `# noqa` directives in one comment's text."""
    if "noqa" not in comment.lower():
        return []
    found = []
    for match in _NOQA.finditer(comment):
        codes = match.group("codes")
        parsed = tuple(c.upper() for c in _CODE.findall(codes)) if codes else None
        found.append(Directive(match.start(), match.end(), parsed))
    return found


def unused_codes(comment: str, used: Iterable[str], enabled: frozenset[str]) -> list[str]:
    """The bgtask-lint codes a comment's directives name that suppressed nothing.
    Bare `# noqa` and other tools' codes are theirs to judge; codes of rules
    that are not enabled are left alone too (another configuration may use
    them)."""
    used = set(used)
    return [
        code
        for directive in directives(comment)
        for code in directive.codes or ()
        if code.startswith(OWN_PREFIX) and code in enabled and code not in used
    ]


def without_codes(comment: str, remove: Iterable[str]) -> str:
    """`comment` with `remove` taken out of its directives. A directive left with
    no code goes; what the comment said besides stays (`# noqa: BGT003 - legacy`
    becomes `# - legacy`); "" when nothing is left of the comment."""
    remove = set(remove)
    for directive in reversed(directives(comment)):
        if directive.codes is None:
            continue
        kept = [c for c in directive.codes if c not in remove]
        if len(kept) == len(directive.codes):
            continue
        replacement = f"# noqa: {', '.join(kept)}" if kept else ""
        comment = comment[: directive.start] + replacement + comment[directive.end :]
    comment = comment.strip()
    if comment.strip("# \t") == "":
        return ""
    if not comment.startswith("#"):
        comment = f"# {comment}"
    return re.sub(r"^#\s*#\s*", "# ", comment)


def with_codes(line: str, codes: Iterable[str], comment: Optional[Comment]) -> str:
    """`line` with a directive naming `codes`: merged into the line's existing
    directive, or appended after two spaces (PEP 8's inline comment spacing)."""
    codes = sorted(set(codes))
    if comment is not None:
        for directive in directives(comment.text):
            if directive.codes is None:
                return line  # a bare directive already covers everything
            merged = sorted(set(directive.codes) | set(codes))
            start = comment.column + directive.start
            end = comment.column + directive.end
            return line[:start] + f"# noqa: {', '.join(merged)}" + line[end:]
    return f"{line.rstrip()}  # noqa: {', '.join(codes)}"
