"""Colour as ruff prints it, in a terminal only: checked through a real
pseudo-terminal, and through a pipe."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys

import pytest
from conftest import FIXTURES

pty = pytest.importorskip("pty")  # POSIX only

ESC = "\x1b["
RED_BOLD_CODE = "\x1b[1;31mBGT001\x1b[0m"
CYAN_FIX = "\x1b[36m[*]\x1b[0m"


def environment(**changes: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE")
    }
    env.update(TERM="xterm-256color", BGTASK_LINT_NO_CACHE="1", **changes)
    return env


def in_terminal(cwd, *args: str, **env: str) -> str:
    """The command's output as a terminal receives it."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bgtask_lint", "check", *args],
        cwd=cwd,
        stdout=terminal,
        stderr=terminal,
        stdin=subprocess.DEVNULL,
        env=environment(**env),
    )
    os.close(terminal)
    chunks = []
    while True:
        ready, _, _ = select.select([controller], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(60)
    os.close(controller)
    return b"".join(chunks).decode("utf-8", "replace")


def piped(cwd, *args: str, **env: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "bgtask_lint", "check", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment(**env),
    ).stdout


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    shutil.copy(FIXTURES / "BGT001.py", tmp_path / "app.py")
    return tmp_path


@pytest.mark.parametrize("output_format", ["full", "concise", "grouped"])
def test_a_terminal_gets_rufflike_colour(project, output_format):
    text = in_terminal(project, "--output-format", output_format, "app.py")
    assert RED_BOLD_CODE in text and CYAN_FIX in text
    assert "\x1b[1mapp.py\x1b[0m" in text  # the path in bold
    if output_format == "full":
        assert "\x1b[1;31m^" in text  # the carets in red


def test_the_summary_is_coloured_too(project):
    assert f"{CYAN_FIX} " in in_terminal(project, "app.py").split("Found", 1)[1]


def test_no_colour_when_piped_or_asked_not_to(project):
    assert ESC not in piped(project, "app.py")
    assert ESC not in in_terminal(project, "app.py", NO_COLOR="1")
    assert ESC not in in_terminal(project, "--color", "never", "app.py")
    assert ESC not in in_terminal(project, "--output-format", "json", "app.py")


def test_colour_forced_through_a_pipe(project):
    assert RED_BOLD_CODE in piped(project, "app.py", FORCE_COLOR="1")
    assert RED_BOLD_CODE in piped(project, "app.py", CLICOLOR_FORCE="1")
    assert ESC not in piped(project, "app.py", CLICOLOR_FORCE="0")
    assert RED_BOLD_CODE in piped(project, "--color", "always", "app.py")
    # The command line wins over the environment.
    assert ESC not in piped(project, "--color", "never", "app.py", FORCE_COLOR="1")


def test_an_output_file_is_never_coloured(project):
    piped(project, "--color", "always", "--output-file", "report.txt", "app.py")
    text = (project / "report.txt").read_text()
    assert "BGT001" in text and ESC not in text
