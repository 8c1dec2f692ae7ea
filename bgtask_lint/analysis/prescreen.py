"""The questions provenance answers from a module's text, before (or
instead of) parsing it: whether it defines a name as an `Annotated` alias,
assigns a module global an object, defines a class, or stores a value on
`request.state`. Each is a pre-screen: a "yes" leads to the parse that
gives the answer, a "no" spares it. This is the one module of analysis/
that reads Python with regular expressions.
"""

from __future__ import annotations

import re

from bgtask_lint.analysis.origins import FACTORY_NAMES


def defines_alias(text: str, name: str) -> bool:
    """`name = Annotated[...]` (or `name: TypeAlias = ...`) at the start of a line."""
    pattern = (
        rf"^{re.escape(name)}[ \t]*(?::[^=\n]*)?=[ \t]*(?:typing\.|typing_extensions\.)?Annotated\["
    )
    return re.search(pattern, text, re.MULTILINE) is not None


def assigns_an_object(text: str, name: str) -> bool:
    """`name = <factory or Class>(...)` (or `name: T = ...`) at the start of a
    line of `text`: a module global worth parsing the module for."""
    found = re.search(
        rf"^{re.escape(name)}[ \t]*(?::[^=\n]*)?=[ \t]*([\w.]+)[ \t]*\(", text, re.MULTILINE
    )
    if found is None:
        return False
    called = found.group(1).rpartition(".")[2]
    return called[:1].isupper() or called in FACTORY_NAMES


def defines_class(text: str, name: str) -> bool:
    """`class name` at the start of a line."""
    return re.search(rf"^class[ \t]+{re.escape(name)}\b", text, re.MULTILINE) is not None


def stores_on_state(text: str, name: str) -> bool:
    """`<...>.state.name = ...` somewhere in the text (a middleware)."""
    return re.search(rf"\.state\.{re.escape(name)}\s*=[^=]", text) is not None
