"""Small questions about libcst nodes alone, with no model behind them:
the argument a call gives a parameter, what a string annotation says, the
members of an `X | Y` union."""

from __future__ import annotations

from typing import Optional

import libcst as cst


def call_argument(call: cst.Call, position: int, keyword: str) -> Optional[cst.Arg]:
    """The argument given at `position` or as `keyword=`, if any."""
    positional = [a for a in call.args if a.keyword is None and not a.star]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg
    return positional[position] if position < len(positional) else None


def parse_string_annotation(node: cst.SimpleString) -> Optional[cst.BaseExpression]:
    text = node.evaluated_value
    if not isinstance(text, str):
        return None
    try:
        return cst.parse_expression(text.strip())
    except cst.ParserSyntaxError:
        return None


def union_members(expr: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):
        return [*union_members(expr.left), *union_members(expr.right)]
    return [expr]


def is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def assigned_name(statement: Optional[cst.CSTNode]) -> Optional[str]:
    """`t` when `statement`, the parent of a call, is `t = <call>` (or
    `t: T = <call>`) with the call its whole right-hand side."""
    if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
        target = statement.targets[0].target
        return target.value if isinstance(target, cst.Name) else None
    if isinstance(statement, cst.AnnAssign) and isinstance(statement.target, cst.Name):
        return statement.target.value
    return None
