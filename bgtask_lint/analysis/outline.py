"""A module's outline: its text with the top-level statements a question
does not need blanked out.

Following a value into another module (`from app.db import SessionLocal`,
a call of `app.services.notify`) needs the names asked about, their
definitions, and what those use in turn: not the hundreds of routes a large
module also defines, nor its thousand lines of settings. The standard
library's parser finds the top-level statements (it is an order of
magnitude faster than libcst). The imports stay (they resolve the names of
the rest); any other statement, a definition or an assignment, stays when
the names asked about lead to it: it binds one of them, or a name that the
code of a statement kept already uses. The others become empty lines, so
every row stays where it was.

A module is read by Python's parser once (`Outline`): a second question
about it reuses what the first found, and a model parsed for one question
answers the next when the definitions it leads to are already in it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Optional

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_IMPORTS = (ast.Import, ast.ImportFrom)
# Parts kept whatever is asked (see Outline._always); `match` is 3.10+.
_ALWAYS = (*_IMPORTS, *((ast.Match,) if hasattr(ast, "Match") else ()))
# Rows as Python's parser counts them (str.splitlines also breaks at form
# feeds and other characters, which would move rows).
_LINES = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+\Z")


# An import statement: the module of `from <module> import <names>` as
# written (`..db`), or None for `import <names>`; and each name (dotted for
# `import a.b`) with the name it binds (`y` for `x as y`, `a` for `import a.b`).
Imported = tuple[Optional[str], tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class _Part:
    """A top-level statement: its rows (a definition's decorators included),
    the names its code uses, the imports in it (a function's own too), and
    whether it is an import statement itself."""

    first: int
    last: int
    uses: frozenset[str]
    imports: tuple[Imported, ...]
    is_import: bool = False


class Outline:
    """What Python's parser says about a module's top level, kept to outline
    it for any names."""

    def __init__(self, text: str, tree: ast.Module) -> None:
        self.text = text
        self.parts: list[_Part] = []
        # Per name, the parts that bind it: its definitions, and the other
        # statements that assign it.
        self._binders: dict[str, list[int]] = {}
        # Parts kept whatever is asked: those holding an import (what they
        # bind is cheap to parse and resolves the names of the rest), and a
        # `match` (its captures are not plain names).
        self._always: set[int] = set()
        # Per part, the names it binds (the other way round from _binders).
        self._binds: list[set[str]] = []
        # The parts that are an import, or a name for another (`A = mod.B`).
        self._forwarders: set[int] = set()
        for node in tree.body:
            index = len(self.parts)
            decorators = getattr(node, "decorator_list", ())
            first = min([node.lineno, *(d.lineno for d in decorators)])
            nodes = _nodes_in(node)
            uses, imports = _uses_and_imports(nodes)
            last = node.end_lineno or node.lineno
            self.parts.append(_Part(first, last, uses, imports, isinstance(node, _IMPORTS)))
            self._binds.append(set())
            if isinstance(node, _IMPORTS) or _is_alias(node):
                self._forwarders.add(index)
            if isinstance(node, _DEFINITIONS):
                self._bind(node.name, index)
                continue
            for inner in nodes:
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                    self._bind(inner.id, index)
                elif isinstance(inner, _DEFINITIONS):
                    self._bind(inner.name, index)
                elif isinstance(inner, _ALWAYS):
                    self._always.add(index)
                if isinstance(inner, _IMPORTS):
                    for alias in inner.names:
                        self._bind(alias.asname or alias.name.partition(".")[0], index)

    def forwards(self, name: str) -> bool:
        """Whether the module only passes `name` on from elsewhere: it binds
        it, and only by imports (`from .orders import OrderHandler`, a
        package's `__init__`) or as another name (`Handler = OrderHandler`)."""
        binders = self._binders.get(name, [])
        return bool(binders) and all(index in self._forwarders for index in binders)

    def binders(self, name: str) -> list[int]:
        """The parts that bind module-level `name` (its definitions, the
        statements assigning or importing it)."""
        return self._binders.get(name, [])

    def _bind(self, name: str, index: int) -> None:
        self._binders.setdefault(name, []).append(index)
        self._binds[index].add(name)

    @classmethod
    def of(cls, text: str) -> Optional[Outline]:
        """None when Python's own parser cannot read `text` (the caller then
        parses the whole module)."""
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        return cls(text, tree)

    def leads_to(self, names: tuple[str, ...]) -> frozenset[int]:
        """The parts (indexes) that `names` lead to: the imports, the
        statements binding the names, and, in turn, those binding the names
        their code uses."""
        kept: set[int] = set()
        seen: set[str] = set()
        pending = list(names)
        for index in self._always:
            pending.extend(self.parts[index].uses)
        kept.update(self._always)
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            for index in self._binders.get(name, ()):
                if index not in kept:
                    kept.add(index)
                    pending.extend(self.parts[index].uses - seen)
        return frozenset(kept)

    def matching(self, pattern: re.Pattern[str]) -> frozenset[int]:
        """The parts whose text `pattern` finds something in (`name(`: a
        call of it), with what they lead to: what a question about those
        spots needs of the module."""
        rows = {
            self.text.count("\n", 0, found.start()) + 1 for found in pattern.finditer(self.text)
        }
        spots = {
            i
            for i, part in enumerate(self.parts)
            if any(part.first <= r <= part.last for r in rows)
        }
        uses = set().union(*(self.parts[index].uses for index in spots))
        return self.leads_to(tuple(sorted(uses))) | spots

    def reaching(self, seeds: set[int], names: frozenset[str] = frozenset()) -> frozenset[int]:
        """The parts a call from outside could go through to reach `seeds`
        or the bindings `names`: the seeds, the parts whose code uses a name
        they bind or one of `names`, and, in turn, those using a name such a
        part binds; with what they all lead to."""
        reached = set(seeds)
        pending = set(names).union(*(self._binds[index] for index in seeds))
        seen: set[str] = set()
        while pending:
            seen |= pending
            users = [
                index
                for index, part in enumerate(self.parts)
                if index not in reached and not part.uses.isdisjoint(pending)
            ]
            reached.update(users)
            pending = set().union(*(self._binds[index] for index in users)) - seen
        uses = set().union(*(self.parts[index].uses for index in reached))
        return self.leads_to(tuple(sorted(uses))) | reached

    def keeping(self, kept: frozenset[int]) -> str:
        """The text with every part not in `kept` blanked. Rows stay; a row
        shared with a kept part (`a = 1; b = 2`) stays whole."""
        if len(kept) == len(self.parts):
            return self.text
        spans = (self.parts[index] for index in kept)
        keep_rows = {row for part in spans for row in range(part.first, part.last + 1)}
        lines = _LINES.findall(self.text)
        for index, part in enumerate(self.parts):
            if index in kept:
                continue
            for row in range(part.first, min(part.last, len(lines)) + 1):
                if row in keep_rows:
                    continue
                line = lines[row - 1]
                ending = line[len(line.rstrip("\r\n")) :]
                lines[row - 1] = ending or "\n"
        return "".join(lines)


def _is_alias(node: ast.stmt) -> bool:
    """`A = B` or `A = mod.B`: one name for another."""
    return (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, (ast.Name, ast.Attribute))
    )


def _nodes_in(node: ast.AST) -> list[ast.AST]:
    """`node` and every node below it, in ast.walk's order (breadth first);
    a list, as the outline reads them twice, and built without ast.walk's
    generators (a large module has a hundred thousand nodes)."""
    found = [node]
    for inner in found:  # grows as it is read
        for name in inner._fields:
            value = getattr(inner, name, None)
            if isinstance(value, list):
                found.extend(item for item in value if isinstance(item, ast.AST))
            elif isinstance(value, ast.AST):
                found.append(value)
    return found


def _uses_and_imports(nodes: list[ast.AST]) -> tuple[frozenset[str], tuple[Imported, ...]]:
    uses: set[str] = set()
    imports: list[Imported] = []
    for inner in nodes:
        if isinstance(inner, ast.Name):
            uses.add(inner.id)
        elif isinstance(inner, ast.ImportFrom):
            base = "." * inner.level + (inner.module or "")
            imports.append((base, tuple((a.name, a.asname or a.name) for a in inner.names)))
        elif isinstance(inner, ast.Import):
            bound = tuple((a.name, a.asname or a.name.partition(".")[0]) for a in inner.names)
            imports.append((None, bound))
    return frozenset(uses), tuple(imports)


def outline(text: str, names: tuple[str, ...]) -> Optional[str]:
    """`text` with only the top-level definitions that `names` lead to; None
    when Python's own parser cannot read it."""
    found = Outline.of(text)
    return found.keeping(found.leads_to(names)) if found is not None else None
