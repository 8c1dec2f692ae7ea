"""What SQLAlchemy sessions do to the objects they load: the query chains
that return ORM objects (`db.query(User).filter(...).first()`), and the
objects a function adds to a session and commits. Such an object stays
bound to its session: once the session is closed, reading an expired or
lazy attribute raises `DetachedInstanceError`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.model import FunctionInfo, Model
from bgtask_lint.analysis.origins import (
    QUERY_RESULTS,
    QUERY_STEPS,
    SESSION_LOADS,
    SESSION_QUERIES,
    SESSION_TYPES,
    Origin,
    held_types,
)
from bgtask_lint.analysis.scopes import Binding


def loaded_through(call: cst.Call) -> Optional[cst.BaseExpression]:
    """The session a call loads ORM objects through: `db` in `db.get(User, 1)`,
    `db.query(User).filter(...).first()`, `(await db.execute(s)).scalar_one()`."""
    steps: list[str] = []
    node: cst.BaseExpression = call
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        steps.append(node.func.attr.value)
        node = node.func.value
        if isinstance(node, cst.Await):
            node = node.expression
    steps.reverse()
    if len(steps) == 1 and steps[0] in SESSION_LOADS:
        return node
    if (
        len(steps) >= 2
        and steps[0] in SESSION_QUERIES
        and steps[-1] in QUERY_RESULTS
        and all(step in QUERY_STEPS for step in steps[1:-1])
    ):
        return node
    return None


def holds_session(origins: Iterable[Origin]) -> bool:
    return any(held in SESSION_TYPES for held in held_types(origins))


def names_binding(model: Model, expr: cst.BaseExpression, binding: Binding) -> bool:
    """`expr` is the name bound by `binding`, or a list or tuple holding it."""
    if isinstance(expr, (cst.List, cst.Tuple)):
        return any(names_binding(model, e.value, binding) for e in expr.elements)
    return isinstance(expr, cst.Name) and any(
        found is binding for found in model.scopes.bindings_of(expr)
    )


def sessions_committing(
    model: Model, binding: Binding, function: FunctionInfo
) -> Iterator[cst.BaseExpression]:
    """The sessions `function` adds the object `binding` names to
    (`db.add(user)`, `db.add_all([user])`) and commits (`db.commit()`)."""
    committed = {
        model.module.code_for_node(func.value)
        for func in (site.node.func for site in function.calls)
        if isinstance(func, cst.Attribute) and func.attr.value == "commit"
    }
    if not committed:
        return
    for site in function.calls:
        func = site.node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("add", "add_all")
            and site.node.args
            and names_binding(model, site.node.args[0].value, binding)
            and model.module.code_for_node(func.value) in committed
        ):
            yield func.value
