"""Line and column numbers, computed only for the nodes that are reported.

libcst's PositionProvider records a range for every node of the module, which
costs about twice the parse (DESIGN §4). Most checked files report nothing, and
those that do report a handful of nodes, so we run libcst's own position-tracking
code generator ourselves and stop it as soon as the last node we need is done.
"""

from __future__ import annotations

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


def node_ranges(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> dict[cst.CSTNode, CodeRange]:
    """Ranges (1-based lines, 0-based columns) of `nodes`, which must be in `module`."""
    wanted = set(nodes)
    if not wanted:
        return {}
    recorder = _Recorder(set(wanted))
    state = _StoppingCodegenState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        provider=recorder,  # type: ignore[arg-type]  # it stands in for libcst's provider
    )
    with suppress(_Done):
        module._codegen(state)
    return {node: recorder._computed[node] for node in wanted if node in recorder._computed}
