"""`flake8 --select BGT` reports what `bgtask-lint check` reports."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, expectations, run_cli

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
    source = path.read_text(encoding="utf-8")
    # A fixture's own options (`# fixture-config:`) go in the project's
    # configuration, as does BGT100, off by default (as ruff's RUF100).
    options = re.findall(r"^# fixture-config: (.+)$", source, re.M)
    if path.name.startswith("BGT100"):
        options.append('extend-select = ["BGT100"]')
    if options:
        (tmp_path / "pyproject.toml").write_text("[tool.bgtask-lint]\n" + "\n".join(options) + "\n")
        path = Path(shutil.copy(path, tmp_path / path.name))
    flake8 = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "BGT", str(path)],
        capture_output=True,
        text=True,
    )
    ours = run_cli("check", "--output-format", "concise", str(path))
    expected = [f for f in parse(ours.stdout.replace(" [*] ", " "))]
    assert parse(flake8.stdout) == expected, flake8.stderr
    # Every fixture with expectations reports something: the comparison is not empty.
    assert expected or not expectations(source)
