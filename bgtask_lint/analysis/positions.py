"""Line and column numbers, computed only for the nodes that are reported.

libcst's PositionProvider records a range for every node of the module, which
costs about twice the parse (DESIGN §4). Most checked files report nothing, and
those that do report a handful of nodes, so we run libcst's own position-tracking
code generator ourselves, only over the top-level statements that hold those
nodes, and stop it as soon as the last one is done. Where each top-level
statement starts comes from Python's own parser (ten times faster than
libcst's code generator over a whole module); without the text, or when it
cannot say, the generator runs from the top of the module.
"""

from __future__ import annotations

import ast
import bisect
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Optional, cast

import libcst as cst
from libcst._position import CodePosition, CodeRange
from libcst.metadata.position_provider import PositionProvidingCodegenState


class _Done(Exception):
    """Raised inside code generation once every wanted node has its range."""


class _Recorder:
    """Stands in for libcst's provider: the codegen state writes into `_computed`."""

    def __init__(self, wanted: set[cst.CSTNode]) -> None:
        self._computed: dict[cst.CSTNode, CodeRange] = {}
        self.wanted = wanted


class _StoppingCodegenState(PositionProvidingCodegenState):
    def after_codegen(self, node: cst.CSTNode) -> None:
        super().after_codegen(node)
        recorder = cast(_Recorder, self.provider)
        if node in recorder.wanted:
            recorder.wanted.discard(node)
            if not recorder.wanted:
                raise _Done

    @contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: Optional[cst.CSTNode] = None,
        end_node: Optional[cst.CSTNode] = None,
    ) -> Iterator[None]:
        # libcst's version reads child ranges in a `finally`; while _Done unwinds
        # the stack some of those children were never finished, so stand down.
        start = CodePosition(self.line, self.column)
        yield
        computed = cast(_Recorder, self.provider)._computed
        if start_node is not None:
            start = computed[start_node].start
        end = computed[end_node].end if end_node is not None else None
        computed[node] = CodeRange(start, end or CodePosition(self.line, self.column))


def node_ranges(
    module: cst.Module, nodes: Iterable[cst.CSTNode], text: Optional[str] = None
) -> dict[cst.CSTNode, CodeRange]:
    """Ranges (1-based lines, 0-based columns) of `nodes`, which must be in
    `module`; `text` is the text `module` was parsed from, if at hand."""
    wanted = set(nodes)
    if not wanted:
        return {}
    ranges: dict[cst.CSTNode, CodeRange] = {}
    rows = _statement_rows(module, text) if text is not None else None
    if rows is not None:
        for statement, row, inside in _holding(module, wanted):
            ranges.update(_generate(module, statement, inside, row))
    missing = wanted - ranges.keys()
    if missing:
        ranges.update(_generate(module, module, missing, 1))
    return {node: ranges[node] for node in wanted if node in ranges}


def _generate(
    module: cst.Module, root: cst.CSTNode, wanted: set[cst.CSTNode], row: int
) -> dict[cst.CSTNode, CodeRange]:
    """Run the code generator over `root`, which starts at column 0 of `row`,
    until every node of `wanted` has its range."""
    recorder = _Recorder(set(wanted))
    state = _StoppingCodegenState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        provider=recorder,  # type: ignore[arg-type]  # it stands in for libcst's provider
    )
    state.line = row
    with suppress(_Done):
        root._codegen(state)
    return recorder._computed


# The start rows of the last modules asked about (a file's findings are
# placed in one go, but a rule may ask first).
_ROWS: dict[int, tuple[cst.Module, str, Optional[list[int]]]] = {}


def _statement_rows(module: cst.Module, text: str) -> Optional[list[int]]:
    """The row each of `module.body`'s statements starts on (its leading
    blank and comment lines included), from Python's parser; None when it
    cannot read `text` or sees other statements than libcst."""
    cached = _ROWS.get(id(module))
    if cached is not None and cached[0] is module and cached[1] is text:
        return cached[2]
    rows: Optional[list[int]] = []
    try:
        body = ast.parse(text).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        body, rows = [], None
    index = 0
    for statement in module.body if rows is not None else ():
        if index >= len(body):
            rows = None
            break
        first = body[index]
        decorators = getattr(first, "decorator_list", None) or ()
        row = min([first.lineno, *(d.lineno for d in decorators)])
        assert rows is not None
        rows.append(row - len(statement.leading_lines))
        index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
    if rows is not None and index != len(body):
        rows = None
    if len(_ROWS) > 32:
        _ROWS.clear()
    _ROWS[id(module)] = (module, text, rows)
    return rows


def statement_spans(
    module: cst.Module, text: str, rows: Iterable[int]
) -> Optional[list[tuple[int, int]]]:
    """For each of `rows`, the first and last row of the top-level statement
    of `module` holding it (its leading comment lines included: up to the
    row before the next statement's); None when Python's parser cannot
    say where the statements start (see _statement_rows)."""
    starts = _statement_rows(module, text)
    if not starts:
        return None
    ends = [start - 1 for start in starts[1:]] + [text.count("\n") + 1]
    spans = []
    for row in rows:
        index = bisect.bisect_right(starts, row) - 1
        if index < 0:
            return None  # above the first statement: a comment of the module's head
        spans.append((starts[index], max(ends[index], starts[index])))
    return spans


def _holding(
    module: cst.Module, wanted: set[cst.CSTNode]
) -> Iterator[tuple[cst.CSTNode, int, set[cst.CSTNode]]]:
    """(top-level statement, its start row, the wanted nodes in it), in order,
    until every wanted node is found."""
    from bgtask_lint.analysis.walk import walk

    rows = _ROWS[id(module)][2]
    assert rows is not None
    left = set(wanted)
    for statement, row in zip(module.body, rows):
        inside = {node for node, entering in walk(statement) if entering and node in left}
        if inside:
            left -= inside
            yield statement, row, inside
        if not left:
            return
