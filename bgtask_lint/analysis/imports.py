"""Import statements and definitions read off a module's text, without
parsing it: which modules a file imports, for the walk that finds the files
leading into the checked ones (run/context.py), where a project's every file
is read; and what a function uses from other modules, to tell whether a
module that mentions no task hands values on to one that does
(Project.hands_on)."""

from __future__ import annotations

import re
from typing import Optional

# An import statement, matched where its line starts: what it names is the
# rest of the line, over backslash continuations, or in `from a import (b,
# c)` all within the parentheses.
_LINE_REST = r"[^#\n\\]*(?:\\\r?\n[^#\n\\]*)*"
_FROM = re.compile(rf"[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]*(\([^)]*\)|{_LINE_REST})")
_IMPORT = re.compile(rf"[ \t]*import[ \t]+({_LINE_REST})")
_COMMENT = re.compile(r"#[^\n]*")
_AS = re.compile(r"\s+as\s+")


def imported_modules(text: str, module: Optional[str], is_package: bool) -> set[str]:
    """The absolute module names the import lines of `text` (module `module`)
    name: for `from a import b`, both `a` and `a.b` (b may be a module)."""
    if "import" not in text:
        return set()
    names: set[str] = set()
    froms, imports = import_statements(text)
    for base, items in froms:
        absolute = absolute_module(base, module, is_package)
        if absolute is None:
            continue
        names.add(absolute)
        for name, _ in _aliases(items.strip("()")):
            if name.isidentifier():
                names.add(f"{absolute}.{name}" if absolute else name)
    for items in imports:
        for name, _ in _aliases(items):
            if name and all(part.isidentifier() for part in name.split(".")):
                names.add(name)
    return names


def imported_bindings(text: str) -> dict[str, list[tuple[Optional[str], str]]]:
    """Each name the import statements of `text` bind, with what it stands
    for, as (the module of `from <module> import` as written, or None for
    `import`; the name imported): `y` -> ("..db", "x") for `from ..db import
    x as y`; `a` -> (None, "a.b") for `import a.b`, which binds `a` and
    reaches a.b through it (every such import of the name is listed)."""
    bound: dict[str, list[tuple[Optional[str], str]]] = {}
    froms, imports = import_statements(text)
    for base, items in froms:
        for name, local in _aliases(items.strip("()")):
            if name.isidentifier():
                bound.setdefault(local or name, []).append((base, name))
    for items in imports:
        for name, local in _aliases(items):
            if name and all(part.isidentifier() for part in name.split(".")):
                bound.setdefault(local or name.partition(".")[0], []).append((None, name))
    return bound


def _aliases(items: str) -> list[tuple[str, str]]:
    """(`b`, `x`) and (`c`, "") of `b as x, c`."""
    if "#" not in items and "\\" not in items and "as" not in items:
        return [(item.strip(), "") for item in items.split(",")]  # most imports
    found = []
    for item in _COMMENT.sub("", items).replace("\\", " ").split(","):
        name, _, local = _AS.sub(" as ", item.strip()).partition(" as ")
        found.append((name.strip(), local.strip()))
    return found


def definition_text(text: str, name: str) -> Optional[str]:
    """The code of top-level `def name` / `class name` in `text` (from its
    line to the next top-level statement), None when there is none. Found
    with `str.find` first: most modules asked about do not define it."""
    first = None
    for keyword in ("def ", "class "):
        at = text.find(keyword + name)
        while at != -1 and first is None:
            line = text.rfind("\n", 0, at) + 1
            after = at + len(keyword) + len(name)
            ends = after == len(text) or not (text[after].isalnum() or text[after] == "_")
            if ends and text[line:at] in ("", "async "):
                first = line
            at = text.find(keyword + name, at + 1)
    if first is None:
        return None
    header_end = text.find("\n", first)
    for top in _TOP_LEVEL.finditer(text, header_end if header_end != -1 else len(text)):
        if not top.group().startswith((")", "]", "}", "#")):
            return text[first : top.start()]
    return text[first:]


_TOP_LEVEL = re.compile(r"^\S[^\n]*", re.M)


def may_forward(text: str, name: str) -> bool:
    """Whether `text` may pass top-level `name` on from elsewhere, as
    Outline.forwards tells: an import binds it (`from .orders import name`),
    or a top-level `name = other` or `name = mod.other`. False only when
    neither can be: then Python's parser need not be asked."""
    if name in imported_bindings(text):
        return True
    for assigned in re.finditer(rf"^{re.escape(name)}[ \t]*=(?!=)([^\n]*)", text, re.M):
        value = re.sub(r"\s", "", assigned[1].partition("#")[0])
        # A name or an attribute, maybe in parentheses or over lines; not a
        # call (`ChatTable()`), a literal or an expression.
        if re.fullmatch(r"[\w.()\\]*", value) and not re.search(r"[\w)]\(", value):
            return True
    return False


def import_statements(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The (module, names) of each `from` import and the names of each
    `import` statement in `text`. Each line holding the word is matched from
    its start: five times faster than matching at every line of the file."""
    froms: list[tuple[str, str]] = []
    imports: list[str] = []
    at = text.find("import")
    while at != -1:
        line = text.rfind("\n", 0, at) + 1
        statement = _FROM.match(text, line)
        if statement is not None and at < statement.end():
            froms.append((statement[1], statement[2]))
        else:
            statement = _IMPORT.match(text, line)
            if statement is not None and at < statement.end():
                imports.append(statement[1])
            else:
                statement = None
        at = text.find("import", statement.end() if statement is not None else at + 6)
    return froms, imports


def absolute_module(base: str, module: Optional[str], is_package: bool) -> Optional[str]:
    """`shop.api.tasks` for `.tasks` imported in module `shop.api.routes`
    (`module`; `is_package`: it is a package's `__init__`); None when it
    cannot be told."""
    if not base.startswith("."):
        return base
    if module is None:
        return None
    dots = len(base) - len(base.lstrip("."))
    package = module.split(".") if is_package else module.split(".")[:-1]
    if dots - 1 > len(package):
        return None
    parts = package[: len(package) - (dots - 1)]
    rest = base[dots:]
    return ".".join([*parts, rest] if rest else parts)
