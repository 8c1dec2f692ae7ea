"""flake8 integration: `flake8 --select BGT` runs the same rules, with the same
codes and messages, for projects that keep flake8.

flake8 hands each file's lines to the plugin; bgtask-lint checks that text
within the file's project, as `bgtask-lint check - --stdin-filename FILE` would,
so tasks defined in other modules are still followed. Checked alone, each file
reads its project again for the chains that lead into it (flake8 on a
300-file application took 50 s with the plugin, 6 s without), so from the
second file a flake8 process hands over, one run over every path flake8 was
asked to check answers the files it holds, as they are on disk; a file it
does not hold, or whose text flake8 has from elsewhere, is still checked alone.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Optional

from bgtask_lint import __version__

if TYPE_CHECKING:
    from bgtask_lint.diagnostic import Diagnostic


class Flake8Plugin:
    name = "bgtask-lint"
    version = __version__
    # The paths flake8 was asked to check (parse_options).
    paths: tuple[str, ...] = ()

    def __init__(self, tree: Any, filename: str, lines: Sequence[str]) -> None:
        self.filename = filename
        self.lines = lines

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        cls.paths = tuple(getattr(options, "filenames", None) or ())
        _ONE_RUN.reset()

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        text = "".join(self.lines)
        diagnostics = _ONE_RUN.findings_for(self.filename, text, self.paths)
        if diagnostics is None:
            from bgtask_lint.api import check_stdin

            diagnostics = check_stdin(text.encode("utf-8"), self.filename).diagnostics
        for d in diagnostics:
            if d.code.startswith("BGT9"):
                continue  # flake8 reports files it cannot read or parse itself
            # flake8 columns are 0-based; ours, like ruff's, 1-based.
            yield d.location.row, d.location.column - 1, f"{d.code} {d.message}", type(self)


class _OneRun:
    """Per flake8 process: the findings of one run over flake8's paths, made
    when a second file is asked about (a run of one file stays as cheap as
    checking it alone)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.asked = 0
        self.by_file: Optional[dict[str, list[Diagnostic]]] = None

    def findings_for(
        self, filename: str, text: str, paths: Sequence[str]
    ) -> Optional[list[Diagnostic]]:
        """The findings of `filename` with `text`, from the run; None when the
        run cannot answer (the file is checked alone)."""
        self.asked += 1
        if self.asked < 2 or not paths or "-" in paths:
            return None
        if self.by_file is None:
            self.by_file = self._run(paths)
        key = os.path.abspath(filename)
        if key not in self.by_file or not _same_as_on_disk(key, text):
            return None
        return self.by_file[key]

    @staticmethod
    def _run(paths: Sequence[str]) -> dict[str, list[Diagnostic]]:
        """Per file the run checked (absolute path), its findings; nothing
        when the run fails (each file is then checked alone and says why)."""
        from bgtask_lint.api import check_paths

        try:
            result = check_paths(list(paths))
        except Exception:  # a bad configuration: checked alone, each file reports it
            return {}
        if result.errors:
            return {}
        by_file: dict[str, list[Diagnostic]] = {path: [] for path in result.checked_paths}
        for diagnostic in result.diagnostics:
            key = os.path.abspath(diagnostic.filename)
            if key in by_file:
                by_file[key].append(diagnostic)
        return by_file


def _same_as_on_disk(path: str, text: str) -> bool:
    """Whether flake8's text of `path` is the file's (flake8 reads lines with
    universal newlines)."""
    from pathlib import Path

    from bgtask_lint.text.source import read_source

    on_disk, _ = read_source(Path(path))
    if on_disk is None:
        return False
    return on_disk.replace("\r\n", "\n").replace("\r", "\n") == text


_ONE_RUN = _OneRun()
