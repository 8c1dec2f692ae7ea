"""Parsing a module one top-level statement at a time, reusing the statements
an edit did not change.

An editor's server re-parses a document on every pause in typing, and libcst
takes about 120 ms for 1,000 lines: more than the rest of a check. Most of
that text is the same as at the last keystroke. So, while reuse is switched
on (the language server does; a command-line run parses each file once and
would only pay for the cache), the text is cut where top-level statements
begin, each piece is parsed on its own or taken from the cache, and the
pieces are put together as one Module.

The result must be the tree a whole parse gives, node for node, or the
findings could depend on how the file was read. So a cut is made only where
a whole parse would hand every line on the far side to the next statement:
between two statements, only empty lines and comments at column 0 (a line
of spaces or an indented comment there belongs to the block above, as its
footer). A piece
that parses alone to other text, or with another indentation or line break
than the module's, and any text Python's own parser cannot split, is parsed
whole. tests/test_statements.py compares the two over every fixture.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional, Union

import libcst as cst

from bgtask_lint.analysis import parsing

MAX_CACHED_PIECES = 20_000
# Smaller texts are parsed whole: one parse is as quick as the cut.
MIN_CUT_SIZE = 2000
_pieces: OrderedDict[str, _Piece] = OrderedDict()
# The exact code of each statement a piece gave, so that the code of a module
# put together from pieces is not generated again (see code_of).
_code: dict[cst.CSTNode, str] = {}
Statement = Union[cst.SimpleStatementLine, cst.BaseCompoundStatement]
_alike: dict[tuple[cst.Module, str, str], bool] = {}
_reusing = False

# Text Python's parser and libcst count lines of differently, or that
# parse_source rewrites before parsing: parsed whole.
_UNSPLITTABLE = re.compile(r"\r(?!\n)|\f|\\[ \t]*(?:\r\n|\n)?\Z")
_NEWLINE = re.compile(r"\r\n|\n")


def parse_source(text: str) -> tuple[cst.Module, str, dict[int, int]]:
    """parsing.parse_source, from pieces while reuse is on."""
    if _reusing:
        module = parse_in_pieces(text)
        if module is not None:
            return module, text, {}
    return parsing.parse_source(text)


def parse_module(text: str) -> cst.Module:
    """parsing.parse_module, from pieces while reuse is on."""
    if _reusing:
        module = parse_in_pieces(text)
        if module is not None:
            return module
    return parsing.parse_module(text)


def reuse_statements(on: bool = True) -> None:
    """Switch reuse on (for a long-lived process) or off (dropping the cache)."""
    global _reusing
    _reusing = on
    if not on:
        _pieces.clear()
        _code.clear()
        _alike.clear()


def is_reusing() -> bool:
    return _reusing


def code_of(statement: cst.CSTNode) -> Optional[str]:
    """The exact code of a top-level statement of a module put together from
    pieces (None: not known, generate it)."""
    return _code.get(statement)


def module_code(module: cst.Module) -> str:
    """`module.code`, with the code of statements from pieces taken as known
    (an edit of one statement then writes only that statement)."""
    if not _code:
        return module.code
    parts = [module.code_for_node(line) for line in module.header]
    parts.extend(code_of(s) or module.code_for_node(s) for s in module.body)
    parts.extend(module.code_for_node(line) for line in module.footer)
    code = "".join(parts)
    if not module.has_trailing_newline and code.endswith(module.default_newline):
        code = code[: -len(module.default_newline)]
    elif module.has_trailing_newline and not code:
        code = module.default_newline
    return code


@dataclass(frozen=True)
class _Piece:
    module: cst.Module  # the piece parsed alone
    opens_a_block: bool  # so its indentation is the piece's own (see _opens_a_block)
    # Its statements when it is not the first piece: the lines above them
    # (its module's header) lead the first one, as in a whole parse.
    inner: tuple[Statement, ...]


def parse_in_pieces(text: str) -> Optional[cst.Module]:
    """The module of `text` put together from its statements' pieces, or None
    when it must be parsed whole (the caller does: a syntax error is then
    reported as a whole parse reports it)."""
    cut = _cut(text)
    if cut is None:
        return None
    found = []
    for text_of_piece in cut:
        piece = _pieces.get(text_of_piece)
        if piece is None:
            piece = _parse_piece(text_of_piece)
            if piece is None:
                return None
        else:
            _pieces.move_to_end(text_of_piece)
        found.append(piece)
    newline_match = _NEWLINE.search(text)
    newline = newline_match.group() if newline_match else "\n"
    # The module's indentation is its first indented block's.
    indent = next((p.module.default_indent for p in found if p.opens_a_block), "    ")
    body: list[Statement] = list(found[0].module.body)
    for index, piece in enumerate(found):
        if not _written_alike(piece.module, indent, newline):
            return None  # its blocks or lines would be written another way
        if index < len(found) - 1 and piece.module.footer:
            return None
        if index > 0:
            body.extend(piece.inner)
    first, last = found[0].module, found[-1].module
    return cst.Module(
        body=body,
        header=first.header,
        footer=last.footer,
        encoding=first.encoding,
        default_indent=indent,
        default_newline=newline,
        has_trailing_newline=last.has_trailing_newline,
    )


def _parse_piece(text: str) -> Optional[_Piece]:
    """Parse a piece and remember it, with the code of each statement (None:
    it does not parse alone, or not to its own text)."""
    try:
        module = parsing.parse_module(text)
    except Exception:  # a syntax error, or too deep: the whole parse says so
        return None
    if not module.body:
        return None
    header = "".join(module.code_for_node(line) for line in module.header)
    footer = "".join(module.code_for_node(line) for line in module.footer)
    codes = [module.code_for_node(statement) for statement in module.body]
    if header + "".join(codes) + footer not in (text, text + module.default_newline):
        return None
    inner = list(module.body)
    if module.header:
        inner[0] = inner[0].with_changes(leading_lines=[*module.header, *inner[0].leading_lines])
    if len(_pieces) >= MAX_CACHED_PIECES:
        _pieces.clear()  # a new set of documents: start afresh
        _code.clear()
        _alike.clear()
    for statement, code in zip(module.body, codes):
        _code[statement] = code
    _code[inner[0]] = header + codes[0]
    piece = _Piece(module, _opens_a_block(module), tuple(inner))
    _pieces[text] = piece
    return piece


def _written_alike(module: cst.Module, indent: str, newline: str) -> bool:
    """Whether `module`'s code is the same under the whole module's
    indentation and line break (a node that leaves them to the module
    is written with the module's)."""
    if module.default_indent == indent and module.default_newline == newline:
        return True
    key = (module, indent, newline)
    if key not in _alike:
        changed = module.with_changes(default_indent=indent, default_newline=newline)
        _alike[key] = changed.code == module.code
    return _alike[key]


# What the cut has to see past: strings (a triple-quoted one spans lines),
# comments, brackets and line breaks. Cheaper than any parse: one pass in C.
_SCAN = re.compile(
    r"""
    [rRbBuUfFtT]{0,2}(?:
        \"\"\"(?:\\.|[^\\])*?\"\"\" | '''(?:\\.|[^\\])*?'''
      | "(?:\\.|[^"\\\r\n])*" | '(?:\\.|[^'\\\r\n])*'
    )
    | \#[^\r\n]* | [()\[\]{}] | \\?\r?\n
    """,
    re.VERBOSE,
)
# A line at column 0 that carries on the statement above it.
_CARRIES_ON = re.compile(r"[)\]}]|(?:else|elif|except|finally)\b")


def _cut(text: str) -> Optional[list[str]]:
    """`text` cut where top-level statements start (see the module's
    docstring), or None when it is not worth cutting.

    A cut in the wrong place (inside a string or brackets the scan misread)
    leaves a piece that does not parse, and the whole text is then parsed:
    a cut can cost time, never change the tree."""
    if len(text) < MIN_CUT_SIZE or _UNSPLITTABLE.search(text):
        return None
    starts = []  # offsets of the lines that start outside strings and brackets
    depth = 0
    for match in _SCAN.finditer(text):
        token = match.group()
        if token[-1] == "\n":
            if depth == 0 and token[0] != "\\":  # not a continued line
                starts.append(match.end())
        elif token in "([{":
            depth += 1
        elif token in ")]}":
            depth = max(depth - 1, 0)
    lines = text.splitlines(keepends=True)
    if len(lines) != text.count("\n") + (not text.endswith("\n")):
        return None  # a line break Python's splitlines sees and the parsers do not
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    row_at = {offset: row for row, offset in enumerate(offsets)}
    cuts = [0]  # 0-based first rows of the pieces
    seen_code = decorated = False
    for row in (row_at[offset] for offset in [0, *starts] if offset in row_at):
        line = lines[row] if row < len(lines) else ""
        if not line or line[0] in " \t\r\n#":
            continue
        if seen_code and not decorated and not _CARRIES_ON.match(line):
            first = row  # with the empty lines and column-0 comments above it
            while first > cuts[-1] and (
                lines[first - 1] in ("\n", "\r\n") or lines[first - 1][0] == "#"
            ):
                first -= 1
            if first > cuts[-1]:
                cuts.append(first)
        seen_code, decorated = True, line[0] == "@"
    if len(cuts) < 2:
        return None
    cuts.append(len(lines))
    return ["".join(lines[a:b]) for a, b in zip(cuts, cuts[1:]) if b > a]


def _opens_a_block(module: cst.Module) -> bool:
    """Whether the piece's parse met an indented block, and so took its
    indentation from the piece (libcst's is the first block's)."""
    return any(
        isinstance(s, cst.Match)
        or (isinstance(s, cst.BaseCompoundStatement) and isinstance(s.body, cst.IndentedBlock))
        for s in module.body
    )
