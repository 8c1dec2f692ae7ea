"""Whether a yield dependency's teardown can close what it gave.

FastAPI runs the code after a dependency's `yield` when the request ends
(before the response on 0.106 to 0.117, after the tasks elsewhere). Only
that code, an enclosing `finally` or an enclosing `with` can close the value,
and only through a call: a dependency that yields a singleton and stops,
yields plain data (`gives_plain_data`) or only sets values after `yield`
closes nothing, and handing its value to a task is safe on every version.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Optional, Union

import libcst as cst

from bgtask_lint.analysis.model import FunctionInfo
from bgtask_lint.analysis.scopes import Scopes
from bgtask_lint.analysis.walk import nodes_in_scope

# Calls after `yield` that only report: they close nothing.
REPORTING = frozenset({"print", "debug", "info", "warning", "warn", "error", "exception", "log"})

Block = Sequence[Union[cst.BaseStatement, cst.BaseSmallStatement]]


def runs_in_teardown(scopes: Scopes, function: FunctionInfo, statement: cst.CSTNode) -> bool:
    """`statement` of dependency `function` can run after one of its yields
    (later in the code, not on a branch exclusive with it): in the teardown."""
    return any(scopes.can_run_after(y, statement) for y in function.yield_statements)


def closes_on_teardown(function: FunctionInfo) -> bool:
    """`function` is a yield dependency whose teardown can close what it gave."""
    yields = function.yields
    return bool(yields) and tears_down(function.node) and not gives_plain_data(yields)


def tears_down(function: cst.FunctionDef) -> bool:
    """Some yield of `function` can be followed by code that closes something:
    a `with` around it, or a call other than logging after it (in its block,
    an enclosing one, or the `finally` of a `try` around it)."""
    return any(_after_yield(function.body.body, ()))


def _after_yield(block: Block, later: tuple[Block, ...]) -> Iterator[bool]:
    """For each statement of `block` holding a yield: whether teardown follows
    it. `later` holds the statements that run after `block`, innermost first."""
    for index, statement in enumerate(block):
        rest = block[index + 1 :]
        if isinstance(statement, cst.SimpleStatementLine):
            for i, small in enumerate(statement.body):
                if _holds_yield(small):
                    yield _does_work((statement.body[i + 1 :], rest, *later))
            continue
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        if isinstance(statement, cst.With) and _holds_yield(statement.body):
            yield True
            continue
        after = (rest, *later)
        if isinstance(statement, (cst.Try, cst.TryStar)) and statement.finalbody:
            after = (_suite(statement.finalbody.body), *after)  # runs first
        for inner in _blocks_of(statement):
            yield from _after_yield(inner, after)


def _blocks_of(statement: cst.CSTNode) -> Iterator[Block]:
    """The statement lists directly inside a compound statement."""
    for child in statement.children:
        if isinstance(child, cst.BaseSuite):
            yield _suite(child)
        elif isinstance(child, (cst.Else, cst.ExceptHandler, cst.ExceptStarHandler, cst.Finally)):
            yield _suite(child.body)
        elif isinstance(child, cst.If):  # elif
            yield from _blocks_of(child)
        elif isinstance(child, cst.MatchCase):
            yield _suite(child.body)


def _suite(suite: cst.BaseSuite) -> Block:
    if isinstance(suite, cst.IndentedBlock):
        return suite.body
    if isinstance(suite, cst.SimpleStatementSuite):
        return suite.body
    return ()


def _holds_yield(node: cst.CSTNode) -> bool:
    """A yield in `node`, outside nested functions, lambdas and classes."""
    return any(isinstance(n, cst.Yield) for n in nodes_in_scope(node))


def _does_work(blocks: tuple[Block, ...]) -> bool:
    """Some statement of `blocks` makes a call that can close: one that is
    not a logging call (`db.close()`, `await conn.aclose()`, `release(db)`).
    Without a call, code only sets values (`state["done"] = True`) or returns."""
    return any(
        isinstance(node, cst.Call) and _called_name(node.func) not in REPORTING
        for block in blocks
        for statement in block
        for node in nodes_in_scope(statement)
    )


def _called_name(func: cst.BaseExpression) -> Optional[str]:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else None


def gives_plain_data(yields: Sequence[cst.Yield]) -> bool:
    """Every yield gives a literal made of constants (`{}`, `{"debug": True}`,
    `None`): data, nothing a teardown could close."""
    return bool(yields) and all(
        isinstance(y.value, cst.BaseExpression) and _is_constant(y.value) for y in yields
    )


def _is_constant(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.BaseNumber, cst.SimpleString, cst.ConcatenatedString)):
        return True
    if isinstance(node, cst.Name):
        return node.value in ("None", "True", "False")
    if isinstance(node, cst.UnaryOperation):
        return _is_constant(node.expression)
    if isinstance(node, cst.Dict):
        return all(
            isinstance(e, cst.DictElement) and _is_constant(e.key) and _is_constant(e.value)
            for e in node.elements
        )
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return all(isinstance(e, cst.Element) and _is_constant(e.value) for e in node.elements)
    return False
