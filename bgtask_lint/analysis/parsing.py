"""Parsing with libcst without letting a pathological file take the run down.

libcst's native parser recurses once per nesting level on the C stack, and its
time grows much faster than the nesting: a chain of 2,000 calls takes 8 s, 4,000
take 42 s, and 3,000 nested brackets or a sum of 10,000 terms overflow the stack
and kill the process (SIGSEGV: no output, every other file's findings lost).
CPython itself rejects such files (too many nested parentheses past 200 levels;
a RecursionError when compiling a sum of 4,000 terms).

So before libcst sees a file, one linear scan of its text estimates how deep the
parser would have to recurse (bracket levels plus the operators and trailers
chained at each level) and refuses files past a bound that CPython's limits
already imply. What passes is parsed on a thread with a large stack, so that
the estimate does not have to be exact for the process to survive.

libcst checks every node it builds (`CSTNode.__post_init__` validates it),
which is an eighth of its parse; a tree its own parser builds is valid by
construction (libcst's source says as much beside that call), so those
checks are skipped while it parses. Nodes built afterwards (the fixes')
are checked as usual. The switch is process-wide while a parse lasts: a
program that builds libcst nodes on another thread at that moment would
get them unchecked (bgtask-lint itself parses on one thread at a time).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional

import libcst as cst
from libcst._nodes.base import CSTNode

# Past 200 nested brackets CPython's tokenizer refuses the file; a chain of
# operators and trailers of this length costs libcst about a second.
MAX_BRACKET_DEPTH = 200
MAX_NESTING = 1500
# CPython's compiler gives up (RecursionError) between 2,000 and 4,000 links:
# past this, the file is a syntax error for CPython too; below, it may compile
# and is only skipped.
CPYTHON_NESTING = 4000
# Nesting the parser survives on the usual 8 MiB stack with room to spare (it
# first crashed there at about 2,000 levels); deeper files get a thread.
MAIN_STACK_NESTING = 400
# Virtual size: only the pages the parser touches are ever used.
PARSER_STACK_BYTES = 256 * 1024 * 1024


class CannotParse(Exception):
    """A file libcst is not handed (it would crash on it or take minutes over
    it): the message is the one-line reason. `cpython_rejects`: CPython
    refuses it too (a syntax error); otherwise the file is only skipped (a
    sum of 2,000 terms compiles, but costs libcst seconds)."""

    def __init__(self, message: str, *, cpython_rejects: bool) -> None:
        super().__init__(message)
        self.cpython_rejects = cpython_rejects


# Strings and comments, taken out first (in C, by one substitution), then the
# characters that matter walked: brackets, resets, and the links of a chain.
_STRINGS_AND_COMMENTS = re.compile(
    r"""
    [rRbBuUfFtT]{0,2}(?:
        \"\"\"(?:\\.|[^\\])*?\"\"\" | '''(?:\\.|[^\\])*?'''
      | "(?:\\.|[^"\\\r\n])*" | '(?:\\.|[^'\\\r\n])*'
    )
    | \#[^\r\n]*
    """,
    re.VERBOSE,
)
_SIGNIFICANT = re.compile(r"\*\*|//|<<|>>|[()\[\]{}\n,;:=\-+*/%@&|^~.]")
_TOO_DEEP = f"an expression is nested more than {MAX_NESTING} levels deep"


def nesting_problem(text: str) -> Optional[str]:
    """Why `text` is too deeply nested to parse safely, or None."""
    return nesting(text)[0]


def nesting(text: str) -> tuple[Optional[str], int]:
    """(why `text` is too deeply nested to parse safely or None, how deep it
    goes). Brackets count a level each; inside a level, each operator or
    trailer (`.x`, `(...)`, `[...]`) chained since the last `,` `:` `=` `;` or
    line end counts one."""
    chain = [0]  # links chained so far, per open bracket level
    total = 0  # sum of `chain`: the recursion the parser needs here
    deepest = 0
    for token in _SIGNIFICANT.findall(_STRINGS_AND_COMMENTS.sub(" ", text)):
        char = token[0] if len(token) == 1 else "+"  # `**`, `//`, `<<`, `>>`: links
        if char in "([{":
            chain[-1] += 1  # a call or subscript is a link of the chain outside
            total += 1
            chain.append(0)
            if len(chain) > MAX_BRACKET_DEPTH:
                message = f"too many nested parentheses (more than {MAX_BRACKET_DEPTH} levels)"
                return message, total + len(chain)
            deepest = max(deepest, total + len(chain))
            if deepest > CPYTHON_NESTING:
                return _TOO_DEEP, deepest
        elif char in ")]}":
            if len(chain) > 1:
                total -= chain.pop()
        elif char in ",;:=" or (char == "\n" and len(chain) == 1):
            # A line break inside brackets continues the expression.
            total -= chain[-1]
            chain[-1] = 0
        elif char != "\n":
            chain[-1] += 1
            total += 1
            deepest = max(deepest, total + len(chain))
            if deepest > CPYTHON_NESTING:
                return _TOO_DEEP, deepest
    return (_TOO_DEEP if deepest > MAX_NESTING else None), deepest


_INDENT_WITH_FORM_FEED = re.compile(r"^[ \t\f]*\f", re.MULTILINE)


# Blank lines ended by a backslash at the very end of a file: CPython accepts
# them, libcst's tokenizer stops at "unexpected end of file after a line
# continuation".
_TRAILING_CONTINUATIONS = re.compile(r"(?:[ \t\f]*\\(?:\r\n|\r|\n)[ \t\f\r\n]*)+\Z")


def parse_source(text: str) -> tuple[cst.Module, str, dict[int, int]]:
    """Parse `text` as CPython reads it: (module, the text the module was parsed
    from, columns removed per row). Where libcst's tokenizer rejects what
    CPython accepts, the file is parsed again with the part CPython ignores
    taken out, so the code means the same and rows do not move:
    - a form feed in the indentation at the start of a block (a form feed
      resets the indentation count): the indentation up to the last form feed
      goes, and columns on those rows move;
    - backslash continuations of blank lines at the end of the file."""
    try:
        return parse_module(text), text, {}
    except cst.ParserSyntaxError as error:
        first_error = error
    shifts: dict[int, int] = {}

    def drop(match: re.Match) -> str:
        row = text.count("\n", 0, match.start()) + 1
        shifts[row] = len(match.group())
        return ""

    normalized = _INDENT_WITH_FORM_FEED.sub(drop, text) if "\f" in text else text
    normalized = _TRAILING_CONTINUATIONS.sub("\n", normalized)
    if normalized == text:
        raise first_error
    try:
        return parse_module(normalized), normalized, shifts
    except cst.ParserSyntaxError:
        raise first_error from None


def parse_module(text: str) -> cst.Module:
    """`libcst.parse_module(text)`, refusing null bytes and pathological
    nesting (CannotParse), parsing on a thread with a large stack. Raises what
    libcst raises."""
    if "\0" in text:
        raise CannotParse("source code cannot contain null bytes", cpython_rejects=True)
    problem, depth = nesting(text)
    if problem is not None:
        # Past 200 brackets CPython's tokenizer refuses the file, past 4,000
        # links its compiler; in between it may compile the file.
        rejects = problem.startswith("too many nested") or depth > CPYTHON_NESTING
        raise CannotParse(problem, cpython_rejects=rejects)
    if depth <= MAIN_STACK_NESTING:
        with _parser_trusted():
            return cst.parse_module(text)  # the usual stack is plenty: no thread to pay for
    outcome: dict[str, Any] = {}

    def parse() -> None:
        try:
            with _parser_trusted():
                outcome["module"] = cst.parse_module(text)
        except BaseException as error:  # re-raised on the calling thread
            outcome["error"] = error

    previous = threading.stack_size()
    try:
        threading.stack_size(PARSER_STACK_BYTES)
        thread = threading.Thread(target=parse, name="bgtask-lint-parser", daemon=True)
        thread.start()
    except (RuntimeError, ValueError, MemoryError):
        with _parser_trusted():
            return cst.parse_module(text)  # no thread to be had: parse here
    finally:
        threading.stack_size(previous)
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["module"]


def _no_validation(node: CSTNode) -> None:
    pass


@contextmanager
def _parser_trusted() -> Iterator[None]:
    """While libcst parses, the nodes it builds are not validated (see the
    module's docstring)."""
    validating = CSTNode.__dict__["__post_init__"]
    CSTNode.__post_init__ = _no_validation  # type: ignore[method-assign,assignment]  # see above
    try:
        yield
    finally:
        CSTNode.__post_init__ = validating  # type: ignore[method-assign]
