"""Whether a function can raise out of itself: the first call that can fail
(network, database, file, subprocess work; `raise_for_status()`) or explicit
`raise` it reaches, through the helpers it calls and awaits across the
project's modules, that no `try` with a handler that swallows the error
wraps.

Asked by BGT014: Starlette stops a request's tasks at the first exception.
A call the project cannot see into (a library's `send_email`) counts as
safe: the rule reports what it can show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import libcst as cst

from bgtask_lint.analysis.blocking import blocking_name
from bgtask_lint.analysis.model import CallSite, FunctionInfo, FunctionRef, Model
from bgtask_lint.analysis.walk import own_nodes
from bgtask_lint.config.failing import FAILING_CALLS, RAISING_METHODS, fails
from bgtask_lint.config.options import DEFAULT_MAX_CALL_DEPTH

# Decorators that do not wrap a call: anything else may catch what it raises.
_PLAIN_DECORATORS = frozenset({"staticmethod", "classmethod", "builtins.staticmethod"})


@dataclass(frozen=True)
class FailurePath:
    """How a task can raise: task → helper → ... → what fails."""

    chain: tuple[str, ...]
    model: Model  # the module holding `node`
    node: cst.CSTNode  # the call that can fail, or the `raise`


@dataclass(frozen=True)
class _Body:
    """A function's own body, in source order: its calls and its `raise`
    statements (each with its statement line), and the ids of its `try`s."""

    events: tuple[Union[cst.Call, tuple[cst.Raise, cst.SimpleStatementLine]], ...]
    tries: frozenset[int]


def _read_body(function: cst.FunctionDef) -> _Body:
    """The calls, raises and tries of `function`, not of those nested in it."""
    events: list[Union[cst.Call, tuple[cst.Raise, cst.SimpleStatementLine]]] = []
    tries: set[int] = set()
    line: Optional[cst.SimpleStatementLine] = None
    for node in own_nodes(function):
        if isinstance(node, cst.SimpleStatementLine):
            line = node  # a `raise` is a small statement of the line before it
        elif isinstance(node, cst.Call):
            events.append(node)
        elif isinstance(node, cst.Raise) and line is not None:
            events.append((node, line))
        elif isinstance(node, cst.Try):
            tries.add(id(node))
    return _Body(tuple(events), frozenset(tries))


def handles_errors(statement: cst.Try) -> bool:
    """A `try` whose errors some handler swallows: a handler whose own body
    does not end the handling with a `raise` (logging and going on)."""
    return any(not _reraises(handler) for handler in statement.handlers)


def _reraises(handler: cst.ExceptHandler) -> bool:
    return any(
        isinstance(line, cst.SimpleStatementLine)
        and any(isinstance(small, cst.Raise) for small in line.body)
        for line in handler.body.body
    )


def wraps_calls(model: Model, info: FunctionInfo) -> bool:
    """A decorator that may catch what the function raises (a retry or
    error-logging wrapper): anything but `staticmethod` / `classmethod`."""
    for decorator in info.node.decorators:
        name = model.qualified_name(decorator.decorator)
        if name not in _PLAIN_DECORATORS:
            return True
    return False


class Failures:
    """Answers "can this task raise?" for one check, remembering each
    function's body walk (keyed by node: the trees live as long as the check)."""

    def __init__(
        self, extra: frozenset[str] = frozenset(), max_depth: int = DEFAULT_MAX_CALL_DEPTH
    ) -> None:
        self.failing = FAILING_CALLS | extra
        self.max_depth = max_depth
        self._bodies: dict[int, _Body] = {}

    def _body(self, info: FunctionInfo) -> _Body:
        known = self._bodies.get(id(info.node))
        if known is None:
            known = self._bodies[id(info.node)] = _read_body(info.node)
        return known

    def is_guarded(
        self, model: Model, info: FunctionInfo, statement: Optional[cst.CSTNode]
    ) -> bool:
        """Whether `statement` of `info` runs in the `try` body of a `try` of
        `info` that swallows errors."""
        if statement is None:
            return False
        tries = self._body(info).tries
        return any(
            arm == "try"
            and isinstance(branch, cst.Try)
            and id(branch) in tries
            and handles_errors(branch)
            for branch, arm in model.scopes.enclosing_branches(statement)
        )

    def path(self, task: FunctionRef) -> Optional[FailurePath]:
        """The first way `task` can raise, in source order, or None when it
        handles every error it can meet (or a decorator wraps it)."""
        return self._walk(task, (task.info.display_name,), 0, set())

    def _walk(
        self, ref: FunctionRef, chain: tuple[str, ...], depth: int, seen: set[int]
    ) -> Optional[FailurePath]:
        seen.add(id(ref.info.node))
        model, info = ref.model, ref.info
        if wraps_calls(model, info):
            return None
        for event in self._body(info).events:
            if isinstance(event, tuple):
                raise_node, line = event
                if not self.is_guarded(model, info, line):
                    return FailurePath((*chain, "raise"), model, raise_node)
                continue
            site = model.site_of(event)
            if site is None or site.function is not info or site.in_lambda:
                continue
            if self.is_guarded(model, info, site.statement):
                continue
            name = failing_name(model, site, self.failing)
            if name is not None:
                return FailurePath((*chain, name), model, site.node)
            if depth >= self.max_depth:
                continue
            helper = model.resolve_function(site.node.func, site.function)
            if helper is None or id(helper.info.node) in seen:
                continue
            if helper.info.is_async and not isinstance(site.parent, cst.Await):
                continue  # a coroutine made, not run
            below = self._walk(helper, (*chain, helper.info.display_name), depth + 1, seen)
            if below is not None:
                return below
        return None


def failing_name(model: Model, site: CallSite, failing: frozenset[str]) -> Optional[str]:
    """How the chain names `site`'s call when it can fail, else None: BGT003's
    naming of typed calls, asked with what can fail (`failing`: the built-in
    calls and the configured ones) instead of what blocks."""
    func = site.node.func
    if isinstance(func, cst.Attribute) and func.attr.value in RAISING_METHODS:
        return func.attr.value
    return blocking_name(model, site, failing, fails)
