"""Writes docs/rules/ from the rules' own documentation, so the pages and
`bgtask-lint rule CODE` never disagree (a test checks they are in sync).

    python -m bgtask_lint.rules.docs docs/rules
"""

from __future__ import annotations

import sys
from pathlib import Path

from bgtask_lint.rules import ALL_RULES


def index_page() -> str:
    rows = "\n".join(
        f"| [{rule.code}]({rule.code}.md) | `{rule.name}` | {rule.fix_availability} | "
        f"{rule.summary} |"
        for rule in ALL_RULES
    )
    return (
        "# Rules\n\n"
        "| code | name | fix | summary |\n|---|---|---|---|\n"
        f"{rows}\n\n"
        "Two more codes report problems with the input itself and cannot be selected "
        "or suppressed: `BGT900` (syntax-error: the file does not parse) and `BGT901` "
        "(io-error: the file cannot be found, read or decoded).\n"
    )


def expected_pages() -> dict[str, str]:
    pages = {f"{rule.code}.md": rule.documentation() for rule in ALL_RULES}
    pages["README.md"] = index_page()
    return pages


def write(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in expected_pages().items():
        (directory / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/rules"))
