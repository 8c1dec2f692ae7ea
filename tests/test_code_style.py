"""The project's own code passes `ruff check` and `ruff format --check`."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def ruff(*args):
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_ruff_check():
    result = ruff("check", "--no-cache", "bgtask_lint", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format():
    result = ruff("format", "--check", "--no-cache", "bgtask_lint", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr
