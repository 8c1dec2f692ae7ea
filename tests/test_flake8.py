"""`flake8 --select BGT` reports what `bgtask-lint check` reports."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli

FIXTURE_FILES = sorted(FIXTURES.glob("BGT*.py"))
LINE = re.compile(r"^(?P<path>.+?):(?P<row>\d+):(?P<col>\d+): (?P<code>BGT\d{3}) (?P<message>.*)$")


def parse(output):
    return sorted(
        (os.path.abspath(m["path"]), int(m["row"]), int(m["col"]), m["code"], m["message"])
        for m in map(LINE.match, output.splitlines())
        if m
    )


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_flake8_reports_the_same_findings(path, tmp_path):
    if path.name.startswith("BGT100"):
        # Off by default (as ruff's RUF100): selected in the project's configuration.
        (tmp_path / "pyproject.toml").write_text('[tool.bgtask-lint]\nextend-select = ["BGT100"]\n')
        path = Path(shutil.copy(path, tmp_path / path.name))
    flake8 = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "BGT", str(path)],
        capture_output=True,
        text=True,
    )
    ours = run_cli("check", "--output-format", "concise", str(path))
    expected = [f for f in parse(ours.stdout.replace(" [*] ", " "))]
    assert parse(flake8.stdout) == expected, flake8.stderr
    assert expected or path.name.startswith("BGT002_own")
