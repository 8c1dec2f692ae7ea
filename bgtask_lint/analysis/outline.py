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

A module is read by Python's parser once (`Outline`): a second question
about it reuses what the first found, and a model parsed for one question
answers the next when the definitions it leads to are already in it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Optional

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class _Definition:
    """A top-level `def` or `class`: its rows (decorators included) and the
    names its code uses."""

    first: int
    last: int
    uses: frozenset[str]


class Outline:
    """What Python's parser says about a module's top level, kept to outline
    it for any names."""

    def __init__(self, text: str, tree: ast.Module) -> None:
        self.text = text
        self.definitions: list[_Definition] = []
        self._named: dict[str, list[int]] = {}  # name -> indexes in `definitions`
        # Names a module-level statement that binds `name` uses (a statement
        # that is not a definition always stays; what it uses may lead on).
        self._binders: dict[str, list[frozenset[str]]] = {}
        for node in tree.body:
            if isinstance(node, _DEFINITIONS):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                self._named.setdefault(node.name, []).append(len(self.definitions))
                last = node.end_lineno or node.lineno
                self.definitions.append(_Definition(first, last, _uses(node)))
                continue
            uses = _uses(node)
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                    self._binders.setdefault(inner.id, []).append(uses)
                elif isinstance(inner, _DEFINITIONS):
                    self._binders.setdefault(inner.name, []).append(uses)

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
        """The definitions (indexes) that `names` lead to: theirs, and those of
        the names their code and the statements binding them use, in turn."""
        kept: set[int] = set()
        seen: set[str] = set()
        pending = list(names)
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            for index in self._named.get(name, ()):
                if index not in kept:
                    kept.add(index)
                    pending.extend(self.definitions[index].uses - seen)
            for uses in self._binders.get(name, ()):
                pending.extend(uses - seen)
        return frozenset(kept)

    def keeping(self, kept: frozenset[int]) -> str:
        """The text with every definition not in `kept` blanked (rows stay)."""
        if len(kept) == len(self.definitions):
            return self.text
        lines = self.text.splitlines(keepends=True)
        for index, definition in enumerate(self.definitions):
            if index in kept:
                continue
            for row in range(definition.first - 1, min(definition.last, len(lines))):
                line = lines[row]
                ending = line[len(line.rstrip("\r\n")) :]
                lines[row] = ending or "\n"
        return "".join(lines)


def _uses(node: ast.AST) -> frozenset[str]:
    return frozenset(inner.id for inner in ast.walk(node) if isinstance(inner, ast.Name))


def outline(text: str, names: tuple[str, ...]) -> Optional[str]:
    """`text` with only the top-level definitions that `names` lead to; None
    when Python's own parser cannot read it."""
    found = Outline.of(text)
    return found.keeping(found.leads_to(names)) if found is not None else None
