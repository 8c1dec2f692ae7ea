from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent

# `# expect: BGT001:13, BGT004:20` on an offending line: code and 1-based column.
_EXPECT = re.compile(r"#\s*expect:\s*(?P<items>[A-Z]+\d+(?::\d+)?(?:\s*,\s*[A-Z]+\d+(?::\d+)?)*)")


def expectations(source: str) -> set[tuple[int, int, str]]:
    """(row, column, code) written in the fixture's `# expect:` comments."""
    found = set()
    for row, line in enumerate(source.splitlines(), start=1):
        match = _EXPECT.search(line)
        if not match:
            continue
        for item in match.group("items").split(","):
            code, _, column = item.strip().partition(":")
            found.add((row, int(column) if column else 0, code))
    return found


def run_cli(
    *args: str, cwd: Path | None = None, stdin: str | None = None, cache: bool = False
) -> subprocess.CompletedProcess:
    """The command line, run in this process (click's CliRunner: a process per
    call cost the quick suite a third of its time), from a fresh start: what
    the process remembers of files read by earlier runs is dropped first, as
    `--watch` does. The result cache stays off unless a test is about it, so
    tests leave no cache behind. An exception the command lets out is raised
    here (a process would print its traceback)."""
    from click.testing import CliRunner

    from bgtask_lint.api import forget_what_was_read
    from bgtask_lint.cli import main

    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        runner = CliRunner()  # click 8.2 keeps stderr apart by default
    env = {"BGTASK_LINT_NO_CACHE": None if cache else "1"}
    forget_what_was_read()
    before = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = runner.invoke(main, list(args), input=stdin, env=env, prog_name="bgtask-lint")
    finally:
        os.chdir(before)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(
        ["bgtask-lint", *args], result.exit_code, result.stdout, result.stderr
    )


def run_cli_process(
    *args: str, cwd: Path | None = None, stdin: str | None = None, cache: bool = False
) -> subprocess.CompletedProcess:
    """The real command line, in a subprocess, as a user runs it: for what only
    a process shows (its interpreter start, signals, the hash seed)."""
    env = dict(os.environ)
    env.pop("BGTASK_LINT_NO_CACHE", None)
    if not cache:
        env["BGTASK_LINT_NO_CACHE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "bgtask_lint", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.fixture
def cli():
    return run_cli


def selecting(*codes: str, source: str = ""):
    """Settings (for check_source) and Overrides (for check_paths) that also
    run `codes`: BGT100, like ruff's RUF100, runs only when selected. A
    fixture's `# fixture-config: KEY = VALUE` lines set options, as
    `--config "KEY = VALUE"` does."""
    from bgtask_lint.config.settings import Overrides, Settings
    from bgtask_lint.config.versions import tomllib

    table = tuple(
        (key.strip(), tomllib.loads(f"v = {value}")["v"])
        for key, _, value in (
            line.partition("=") for line in re.findall(r"^# fixture-config: (.+)$", source, re.M)
        )
    )
    overrides = Overrides(extend_select=tuple(code for code in codes if code), config_table=table)
    # A fixture stands for application code, wherever it lies (tests/fixtures).
    return overrides.apply(Settings(root=Path.cwd(), test_code=())), overrides


def fixture_code(path: Path) -> str:
    """`BGT001` for BGT001.py, BGT001_helpers.py and their fixed files; "" for
    a file that is not a rule's fixture."""
    code = path.name.split(".")[0].split("_")[0]
    return code if re.fullmatch(r"BGT\d{3}", code) else ""
