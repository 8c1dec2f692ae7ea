"""Shell completion comes from click: `_BGTASK_LINT_COMPLETE=bash_source bgtask-lint`."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script(shell):
    exe = shutil.which("bgtask-lint")
    env = {**os.environ, "_BGTASK_LINT_COMPLETE": f"{shell}_source"}
    result = subprocess.run([exe], env=env, capture_output=True, text=True)
    assert result.returncode == 0
    assert "_BGTASK_LINT_COMPLETE" in result.stdout


def test_completion_of_subcommands():
    exe = shutil.which("bgtask-lint")
    env = {
        **os.environ,
        "_BGTASK_LINT_COMPLETE": "bash_complete",
        "COMP_WORDS": "bgtask-lint ch",
        "COMP_CWORD": "1",
    }
    result = subprocess.run([exe], env=env, capture_output=True, text=True)
    assert "check" in result.stdout
