"""The directories a module puts on `sys.path` itself.

Scripts and apps that are not installed often make their imports work at
run time: `sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))`
at the top of `backend/server/app.py`, then `from utils import ...` for
`backend/utils.py`. Without those directories the project cannot find the
module, nor the blocking call two calls down in it. Only what is computed
from `__file__` is followed (a relative path depends on the working
directory, unknown here): `os.path.dirname` / `abspath` / `realpath` /
`normpath` / `join`, `pathlib.Path(...)` with `.parent`, `.parents[n]`,
`.resolve()`, `.absolute()` and `/`, `str(...)` and `os.fspath(...)`, and
module-level names bound to such a value. The standard library's parser reads
the module, only when its text mentions `sys.path`.
"""

from __future__ import annotations

import ast
import os
from typing import Optional

# Calls that leave the path where it is, for this purpose.
_SAME = frozenset({"os.path.abspath", "os.path.realpath", "os.path.normpath", "str", "os.fspath"})
_PATHS = frozenset({"Path", "pathlib.Path", "PurePath", "pathlib.PurePath"})
_KEEPING_METHODS = frozenset({"resolve", "absolute"})


def added_to_search_path(text: Optional[str], path: str) -> tuple[str, ...]:
    """The absolute directories module `path` (text `text`) adds to
    `sys.path` with `insert` or `append` at module level, in order."""
    if not text or "sys.path" not in text:
        return ()
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    names: dict[str, Optional[str]] = {}
    added: list[str] = []
    for statement in _module_level(tree.body):
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                names[target.id] = _evaluate(statement.value, path, names)
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            directory = _added(statement.value, path, names)
            if directory is not None:
                added.append(directory)
    return tuple(dict.fromkeys(added))


def _module_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements run when the module is imported: its body, and the
    bodies of its `if` and `try` blocks (`if str(ROOT) not in sys.path:`)."""
    found: list[ast.stmt] = []
    for statement in body:
        found.append(statement)
        if isinstance(statement, (ast.If, ast.Try)):
            found.extend(_module_level([*statement.body, *statement.orelse]))
    return found


def _added(call: ast.Call, path: str, names: dict[str, Optional[str]]) -> Optional[str]:
    """The directory of `sys.path.insert(i, d)` / `sys.path.append(d)`."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and _dotted(func.value) == "sys.path"):
        return None
    if func.attr == "insert" and len(call.args) == 2:
        return _evaluate(call.args[1], path, names)
    if func.attr == "append" and len(call.args) == 1:
        return _evaluate(call.args[0], path, names)
    return None


def _evaluate(node: ast.expr, path: str, names: dict[str, Optional[str]]) -> Optional[str]:
    """The absolute path `node` computes from `__file__`, normalised."""
    if isinstance(node, ast.Name):
        return os.path.abspath(path) if node.id == "__file__" else names.get(node.id)
    if isinstance(node, ast.Attribute):
        if node.attr == "parent":
            inner = _evaluate(node.value, path, names)
            return os.path.dirname(inner) if inner is not None else None
        return None
    if isinstance(node, ast.Subscript):  # `Path(__file__).parents[1]`
        base, index = node.value, node.slice
        if (
            isinstance(base, ast.Attribute)
            and base.attr == "parents"
            and isinstance(index, ast.Constant)
            and type(index.value) is int
            and index.value >= 0
        ):
            inner = _evaluate(base.value, path, names)
            if inner is None:
                return None
            for _ in range(index.value + 1):  # `parents[0]` is the parent
                inner = os.path.dirname(inner)
            return inner
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):  # `ROOT / "src"`
        left, right = _evaluate(node.left, path, names), _literal(node.right)
        return os.path.normpath(os.path.join(left, right)) if left and right else None
    if isinstance(node, ast.Call):
        return _called(node, path, names)
    return None


def _called(call: ast.Call, path: str, names: dict[str, Optional[str]]) -> Optional[str]:
    func, args = call.func, call.args
    if isinstance(func, ast.Attribute) and func.attr in _KEEPING_METHODS and not args:
        return _evaluate(func.value, path, names)  # `Path(__file__).resolve()`
    dotted = _dotted(func)
    if call.keywords or not args:
        return None
    if dotted in _SAME or dotted in _PATHS:
        if len(args) != 1:
            return None
        inner = _evaluate(args[0], path, names)
        return os.path.normpath(inner) if inner is not None else None
    if dotted == "os.path.dirname" and len(args) == 1:
        inner = _evaluate(args[0], path, names)
        return os.path.dirname(inner) if inner is not None else None
    if dotted == "os.path.join":
        first = _evaluate(args[0], path, names)
        rest = [_literal(arg) for arg in args[1:]]
        if first is None or any(part is None for part in rest):
            return None
        return os.path.normpath(os.path.join(first, *[p for p in rest if p is not None]))
    return None


def _literal(node: ast.expr) -> Optional[str]:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _dotted(node: ast.expr) -> Optional[str]:
    """`os.path.dirname` for that attribute chain (as written: `from os import
    path` then `path.dirname` is not followed)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])
