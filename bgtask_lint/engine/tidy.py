"""What fixes leave behind: imports that only the fixed code used.

`time.sleep(1)` fixed to `await asyncio.sleep(1)` leaves `import time`
unused when nothing else needs it; a corrected annotation leaves
`from starlette.background import BackgroundTask` unused. ruff's F401 would
report them on the next run, so the fix removes them — only those: an import
that something still mentions, or that was unused before the fix, is not
ours to touch.

"Mentions" is textual on purpose: a name that appears anywhere else in the
fixed file (code, a string annotation, `__all__`, a comment) keeps its
import. That keeps the step incapable of breaking code, at the price of
leaving an import ruff would also remove.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import PurePath
from typing import Any, Optional, Union

import libcst as cst

from bgtask_lint.analysis.names import dotted_name
from bgtask_lint.analysis.statements import module_code, parse_module
from bgtask_lint.analysis.walk import walk
from bgtask_lint.rules.rewrite import remove_item

ImportNode = Union[cst.Import, cst.ImportFrom]


def imported_names(text: str) -> Optional[frozenset[str]]:
    """The names `text`'s import statements bind, read with Python's own
    parser (a small fraction of a libcst parse); None when it cannot read
    the text (syntax newer than this Python's)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names = set()
    # Imports only at the top level (the usual case): no walk of every node.
    nodes = ast.walk(tree) if _imported_in_blocks(text) else iter(tree.body)
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
    return frozenset(names)


def may_leave_imports_unused(
    removed: Sequence[str],
    written: Sequence[str],
    imported: Optional[frozenset[str]],
    mentions: Optional[Counter[str]] = None,
) -> bool:
    """Whether edits that replace the texts `removed` with `written` can
    leave an import unused: only by taking away a mention of an imported
    name (of `imported`; None: of any name) that they do not write again,
    and, given the file's `mentions` (see mention_counts), its last ones.
    This screen spares a parse of the fixed file for most fixes: a file
    with 400 `time.sleep` calls fixed one by one keeps `import time` until
    the last."""
    words = {w for text in removed for w in _WORD.findall(text)}
    if not words:
        return False
    words -= {w for text in written for w in _WORD.findall(text)}
    if imported is not None:
        words &= imported
    if mentions is not None:
        # Every occurrence in the removed text counts as a mention taken
        # away (an over-count: the fixed file is parsed more, never less).
        taken = Counter(w for text in removed for w in _WORD.findall(text))
        words = {w for w in words if mentions[w] <= taken[w]}
    return bool(words)


def mention_counts(text: str) -> Counter[str]:
    """How often each name is mentioned outside the import statements of
    `text`, as drop_imports_left_unused counts mentions."""
    return Counter(_MENTION.findall(_outside_imports(text)))


_WORD = re.compile(r"[^\W\d]\w*")
# A mention as _mentioned finds one: a whole word not after a dot.
_MENTION = re.compile(r"(?<![\w.])[^\W\d]\w*")


def drop_imports_left_unused(original: str, fixed: str, filename: str) -> str:
    """`fixed` without the imports whose every other mention the fixes
    removed. `__init__.py` files are left alone: their imports are
    often re-exports (ruff treats them the same way)."""
    if PurePath(filename).name == "__init__.py" or original == fixed:
        return fixed
    try:
        module = parse_module(fixed)
    except (cst.ParserSyntaxError, RecursionError):
        return fixed
    before, after = _outside_imports(original), _outside_imports(fixed)
    at_top = not _imported_in_blocks(fixed)
    unused = {
        name
        for name in set(_imported_names(module, at_top))
        if _mentioned(before, name) and not _mentioned(after, name)
    }
    if not unused:
        return fixed
    if at_top:
        # Every import is at the top level: no need to walk (and rebuild)
        # every function of the module, which took 10 s of 17 on 20,000 lines.
        return module_code(module.with_changes(body=_tidied(module.body, unused)))
    return module_code(module.visit(_DropImports(unused)))


def _imported_in_blocks(text: str) -> bool:
    """Whether an import statement of `text` may sit in an indented block
    (a line that starts with indentation and then `import` / `from`)."""
    return any(match.group(0)[:1] in " \t" for match in _IMPORT_LINE.finditer(text))


class _DropImports(cst.CSTTransformer):
    """Removes the imports of `unused` names from every block; a block left
    empty gets a `pass`."""

    def __init__(self, unused: set[str]) -> None:
        super().__init__()
        self.unused = unused

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        return updated_node.with_changes(body=_tidied(updated_node.body, self.unused))

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        body = _tidied(updated_node.body, self.unused)
        return updated_node.with_changes(body=body or [cst.SimpleStatementLine([cst.Pass()])])


def _tidied(statements: Sequence[Any], unused: set[str]) -> list[Any]:
    """`statements` (each has `leading_lines`) without the imports of
    `unused` names, keeping the comments above removed lines."""
    body: list[Any] = []
    carried: list[cst.EmptyLine] = []  # the lines above removed imports
    opening = False  # the block's first statement was removed
    for index, statement in enumerate(statements):
        kept: Any = _without(statement, unused)
        if kept is None:
            opening = opening or index == 0
            if index == 0 or any(line.comment for line in statement.leading_lines):
                carried.extend(statement.leading_lines)
            continue
        if opening and not body:
            # The new first statement takes the block's opening lines, not
            # the blank line that separated it from the removed import.
            own = list(kept.leading_lines)
            while own and own[0].comment is None:
                own.pop(0)
            kept = kept.with_changes(leading_lines=[*carried, *own])
        elif carried:
            kept = kept.with_changes(leading_lines=[*carried, *kept.leading_lines])
        carried = []
        body.append(kept)
    return body


def _imported_names(module: cst.Module, at_top: bool) -> Iterator[str]:
    """The names the imports bind (`at_top`: every import is a top-level
    statement, so only those are looked at)."""
    if at_top:
        nodes: Iterator[cst.CSTNode] = (
            small
            for statement in module.body
            if isinstance(statement, cst.SimpleStatementLine)
            for small in statement.body
        )
    else:
        nodes = (node for node, entering in walk(module) if entering)
    for node in nodes:
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            if isinstance(node.names, cst.ImportStar):
                continue
            for alias in node.names:
                yield _bound_name(alias)


def _bound_name(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    # `import a.b` binds `a`.
    return (dotted_name(alias.name) or "").split(".")[0]


_IMPORT_LINE = re.compile(r"^[ \t]*(?:from[ \t]+\S+[ \t]+)?import[ \t(].*?$", re.M)


def _outside_imports(text: str) -> str:
    """`text` without the import statements' first lines. (A name on the
    continuation line of a parenthesised import stays, and so counts as a
    mention: the import is then kept, which is safe.)"""
    return _IMPORT_LINE.sub("", text)


def _mentioned(outside: str, name: str) -> bool:
    """`name` appears as a word in `outside` (see _outside_imports)."""
    return re.search(rf"(?<![\w.]){re.escape(name)}\b", outside) is not None


def _without(statement: cst.BaseStatement, unused: set[str]) -> Optional[cst.BaseStatement]:
    """`statement` without the aliases binding `unused` names (None when
    nothing is left of it)."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return statement
    smalls: list[cst.BaseSmallStatement] = []
    changed = False
    for small in statement.body:
        if not isinstance(small, (cst.Import, cst.ImportFrom)) or isinstance(
            small.names, cst.ImportStar
        ):
            smalls.append(small)
            continue
        names: Sequence[cst.ImportAlias] = small.names
        for alias in list(names):
            if _bound_name(alias) in unused:
                names = remove_item(names, alias)
                changed = True
        if names:
            last = names[-1]
            if len(names) < len(small.names) and getattr(small, "lpar", None) is None:
                # `from m import a, b` without `b`: no trailing comma is left.
                names = [*names[:-1], last.with_changes(comma=cst.MaybeSentinel.DEFAULT)]
            smalls.append(small.with_changes(names=names))
    if not changed:
        return statement
    if not smalls:
        return None
    last_small = smalls[-1]
    if isinstance(last_small, (cst.Import, cst.ImportFrom)) or len(smalls) < len(statement.body):
        smalls[-1] = last_small.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
    return statement.with_changes(body=smalls)
