"""`# noqa` and `# noqa: BGT001,BGT003` on the reported line, as flake8 and ruff
read them: a bare `# noqa` silences every code on its line."""

from __future__ import annotations

import re

_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE,
)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)


def is_suppressed(line: str, code: str) -> bool:
    if "noqa" not in line.lower():
        return False
    for match in _NOQA.finditer(line):
        codes = match.group("codes")
        if codes is None:
            return True
        if code in (c.upper() for c in _CODE.findall(codes)):
            return True
    return False
