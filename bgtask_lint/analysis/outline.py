"""A module's outline: its text with the top-level definitions a question
does not need blanked out.

Following a value into another module (`from app.db import SessionLocal`,
a call of `app.services.notify`) needs the names asked about, their
definitions, and what those use in turn: not the hundreds of routes a large
module also defines. The standard library's parser finds the top-level
statements (it is an order of magnitude faster than libcst). Every statement
that is not a function or class definition stays, so every module-level name
keeps its binding; a definition stays when the names asked about lead to it,
through the definitions and the module-level statements binding the names
they use. The others become empty lines, so every row stays where it was.
"""

from __future__ import annotations

import ast
from typing import Optional, Union

Definition = Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef]
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def outline(text: str, names: tuple[str, ...]) -> Optional[str]:
    """`text` with only the top-level definitions that `names` lead to; None
    when Python's own parser cannot read it (the caller then parses the whole
    module)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    definitions: dict[str, list[Definition]] = {}
    binders: dict[str, list[ast.stmt]] = {}  # module-level statements binding a name
    for node in tree.body:
        if isinstance(node, _DEFINITIONS):
            definitions.setdefault(node.name, []).append(node)
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                binders.setdefault(inner.id, []).append(node)
            elif isinstance(inner, _DEFINITIONS):
                binders.setdefault(inner.name, []).append(node)
    kept: set[int] = set()
    followed: set[int] = set()
    pending = list(names)
    seen_names: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen_names:
            continue
        seen_names.add(name)
        for node in [*definitions.get(name, []), *binders.get(name, [])]:
            if id(node) in followed:
                continue
            followed.add(id(node))
            if isinstance(node, _DEFINITIONS):
                kept.add(id(node))
            pending.extend(
                inner.id
                for inner in ast.walk(node)
                if isinstance(inner, ast.Name) and inner.id not in seen_names
            )
    dropped = [node for nodes in definitions.values() for node in nodes if id(node) not in kept]
    if not dropped:
        return text
    lines = text.splitlines(keepends=True)
    for node in dropped:
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        last = node.end_lineno or node.lineno
        for index in range(first - 1, min(last, len(lines))):
            line = lines[index]
            ending = line[len(line.rstrip("\r\n")) :]
            lines[index] = ending or "\n"
    return "".join(lines)
