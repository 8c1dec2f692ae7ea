"""`# noqa` directives: reading them (a finding on a line with `# noqa`, or with
`# noqa: BGT001,BGT003` naming its code, is suppressed, as flake8 and ruff do),
finding the ones that suppress nothing (BGT100), and adding them (--add-noqa).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Optional

_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE,
)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)
OWN_PREFIX = "BGT"


@dataclass(frozen=True)
class Directive:
    start: int  # column (0-based) of the `#`
    end: int
    codes: Optional[tuple[str, ...]]  # None for a bare `# noqa`


def directives(line: str) -> list[Directive]:
    if "noqa" not in line.lower():
        return []
    found = []
    for match in _NOQA.finditer(line):
        codes = match.group("codes")
        parsed = tuple(c.upper() for c in _CODE.findall(codes)) if codes else None
        found.append(Directive(match.start(), match.end(), parsed))
    return found


def is_suppressed(line: str, code: str) -> bool:
    return any(d.codes is None or code in d.codes for d in directives(line))


def unused_codes(line: str, used: Iterable[str], enabled: frozenset[str]) -> list[str]:
    """The bgtask-lint codes a line's directives name that suppressed nothing.
    Bare `# noqa` and other tools' codes are theirs to judge; codes of rules
    that are not enabled are left alone too (another configuration may use
    them)."""
    used = set(used)
    return [
        code
        for directive in directives(line)
        for code in directive.codes or ()
        if code.startswith(OWN_PREFIX) and code in enabled and code not in used
    ]


def without_codes(line: str, remove: Iterable[str]) -> str:
    """`line` with `remove` taken out of its directives; a directive left with
    no code goes entirely (with the spaces before it)."""
    remove = set(remove)
    for directive in reversed(directives(line)):
        if directive.codes is None:
            continue
        kept = [c for c in directive.codes if c not in remove]
        if len(kept) == len(directive.codes):
            continue
        if kept:
            replacement = f"# noqa: {', '.join(kept)}"
            line = line[: directive.start] + replacement + line[directive.end :]
        else:
            line = (line[: directive.start].rstrip() + line[directive.end :]).rstrip()
    return line


def with_codes(line: str, codes: Iterable[str]) -> str:
    """`line` with a directive naming `codes`: merged into an existing one, or
    appended after two spaces (PEP 8's inline comment spacing)."""
    codes = sorted(set(codes))
    for directive in directives(line):
        if directive.codes is None:
            return line  # a bare `# noqa` already covers everything
        merged = sorted(set(directive.codes) | set(codes))
        return line[: directive.start] + f"# noqa: {', '.join(merged)}" + line[directive.end :]
    return f"{line.rstrip()}  # noqa: {', '.join(codes)}"
