"""The command line as a real process, as a user and pre-commit run it: exit
codes, output, standard input and a fix on disk. The rest of the suite runs
the command line in its own process (conftest.run_cli); these prove that is
the same thing. Slow: each starts an interpreter."""

from __future__ import annotations

import pytest
from conftest import run_cli_process
from test_cli import BUGGY, write

pytestmark = pytest.mark.slow


def test_findings_exit_1_with_the_finding(tmp_path):
    write(tmp_path, "app.py", BUGGY)
    result = run_cli_process("check", "--output-format", "concise", ".", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("app.py:12:13: BGT001 ")


def test_clean_exits_0_and_bad_configuration_exits_2_in_one_line(tmp_path):
    write(tmp_path, "ok.py", "x = 1\n")
    assert run_cli_process("check", ".", cwd=tmp_path).returncode == 0
    write(tmp_path, "pyproject.toml", '[tool.bgtask-lint]\nselect = "BGT001"\n')
    result = run_cli_process("check", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_standard_input_is_checked_as_the_named_file(tmp_path):
    result = run_cli_process(
        "check",
        "--output-format",
        "concise",
        "--stdin-filename",
        "app.py",
        "-",
        cwd=tmp_path,
        stdin=BUGGY,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("app.py:12:13: BGT001 ")


def test_fix_rewrites_the_file_on_disk(tmp_path):
    path = write(tmp_path, "app.py", BUGGY)
    result = run_cli_process("check", "--fix", "--output-format", "concise", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 fixed, 0 remaining" in result.stdout
    fixed = path.read_text(encoding="utf-8")
    assert "def create(tasks: BackgroundTasks):\n    tasks.add_task(send, 1)\n" in fixed
    assert "BackgroundTasks()" not in fixed


QUICK_EXIT = """\
import atexit, sys
from bgtask_lint import cli

atexit.register(lambda: print("teardown ran", file=sys.stderr))
if sys.argv[1] == "message":
    def main():
        sys.exit("bgtask-lint: gone")
    cli.main = main
sys.argv = ["bgtask-lint", *sys.argv[2:]]
cli.run()
"""


def test_the_command_leaves_without_pythons_teardown_and_keeps_what_it_printed(tmp_path):
    """cli.run (the installed command, `python -m bgtask_lint`) ends with
    os._exit once its output is flushed: the exit code and every line of
    the report survive it; what Python's own exit would run does not."""
    import subprocess
    import sys

    for index in range(300):
        write(tmp_path, f"app{index}.py", BUGGY)
    script = tmp_path / "quick_exit.py"
    script.write_text(QUICK_EXIT)

    def command(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(script), *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    result = command("check", "check", "--no-cache", "--output-format", "concise", ".")
    assert result.returncode == 1, result.stderr
    assert len(result.stdout.splitlines()) >= 300  # buffered output, all of it
    assert "teardown ran" not in result.stderr
    result = command("message")
    assert (result.returncode, result.stderr.strip()) == (1, "bgtask-lint: gone")
