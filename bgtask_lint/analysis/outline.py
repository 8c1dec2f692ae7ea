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


@dataclass(frozen=True)
class _Part:
    """A top-level statement: its rows (a definition's decorators included)
    and the names its code uses."""

    first: int
    last: int
    uses: frozenset[str]


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
        for node in tree.body:
            index = len(self.parts)
            decorators = getattr(node, "decorator_list", ())
            first = min([node.lineno, *(d.lineno for d in decorators)])
            self.parts.append(_Part(first, node.end_lineno or node.lineno, _uses(node)))
            if isinstance(node, _DEFINITIONS):
                self._binders.setdefault(node.name, []).append(index)
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                    self._binders.setdefault(inner.id, []).append(index)
                elif isinstance(inner, _DEFINITIONS):
                    self._binders.setdefault(inner.name, []).append(index)
                elif isinstance(inner, _ALWAYS):
                    self._always.add(index)

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


def _uses(node: ast.AST) -> frozenset[str]:
    return frozenset(inner.id for inner in ast.walk(node) if isinstance(inner, ast.Name))


def outline(text: str, names: tuple[str, ...]) -> Optional[str]:
    """`text` with only the top-level definitions that `names` lead to; None
    when Python's own parser cannot read it."""
    found = Outline.of(text)
    return found.keeping(found.leads_to(names)) if found is not None else None
