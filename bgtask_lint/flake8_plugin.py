"""flake8 integration: `flake8 --select BGT` runs the same rules, with the same
codes and messages, for projects that keep flake8.

flake8 hands each file's lines to the plugin; bgtask-lint checks that text
within the file's project, as `bgtask-lint check - --stdin-filename FILE` would,
so tasks defined in other modules are still followed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from bgtask_lint import __version__


class Flake8Plugin:
    name = "bgtask-lint"
    version = __version__

    def __init__(self, tree: Any, filename: str, lines: Sequence[str]) -> None:
        self.filename = filename
        self.lines = lines

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        from bgtask_lint.api import check_stdin

        result = check_stdin("".join(self.lines).encode("utf-8"), self.filename)
        for d in result.diagnostics:
            if d.code.startswith("BGT9"):
                continue  # flake8 reports files it cannot read or parse itself
            # flake8 columns are 0-based; ours, like ruff's, 1-based.
            yield d.location.row, d.location.column - 1, f"{d.code} {d.message}", type(self)
