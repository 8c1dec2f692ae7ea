"""`flake8 --select BGT` reports what `bgtask-lint check` reports."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, expectations, fixture_code, run_cli

from bgtask_lint.rules import DEFAULT_CODES

FIXTURE_FILES = sorted(FIXTURES.glob("BGT*.py"))
LINE = re.compile(r"^(?P<path>.+?):(?P<row>\d+):(?P<col>\d+): (?P<code>BGT\d{3}) (?P<message>.*)$")


def parse(output):
    return sorted(
        (os.path.abspath(m["path"]), int(m["row"]), int(m["col"]), m["code"], m["message"])
        for m in map(LINE.match, output.splitlines())
        if m
    )


def _checked_as(path: Path, where: Path) -> Path:
    """Where fixture `path` is checked: in place, or, when it has options of
    its own (`# fixture-config:`, or a rule off by default: BGT100 as ruff's
    RUF100, preview rules), copied into a project of its own under `where`
    configured with them."""
    options = re.findall(r"^# fixture-config: (.+)$", path.read_text(encoding="utf-8"), re.M)
    code = fixture_code(path)
    if code not in DEFAULT_CODES:
        options.append(f'extend-select = ["{code}"]')
    if not options:
        return path
    project = where / path.stem
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.bgtask-lint]\n" + "\n".join(options) + "\n")
    return Path(shutil.copy(path, project / path.name))


@pytest.fixture(scope="module")
def findings(tmp_path_factory) -> tuple[dict[Path, Path], list[tuple], list[tuple]]:
    """Every fixture through one flake8 run and one `bgtask-lint check` (a
    process per fixture took a fifth of the quick suite; which files are
    named together changes no finding): where each fixture was checked, what
    flake8 said and what the check said."""
    where = tmp_path_factory.mktemp("flake8")
    checked = {path: _checked_as(path, where) for path in FIXTURE_FILES}
    targets = [str(target) for target in checked.values()]
    flake8 = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "BGT", *targets],
        capture_output=True,
        text=True,
    )
    assert flake8.returncode in (0, 1), flake8.stderr
    ours = run_cli("check", "--output-format", "concise", *targets)
    return checked, parse(flake8.stdout), parse(ours.stdout.replace(" [*] ", " "))


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_flake8_reports_the_same_findings(path, findings):
    checked, by_flake8, by_check = findings
    target = os.path.abspath(checked[path])
    expected = [f for f in by_check if f[0] == target]
    assert [f for f in by_flake8 if f[0] == target] == expected
    # Every fixture with expectations reports something: the comparison is not empty.
    assert expected or not expectations(path.read_text(encoding="utf-8"))


def test_one_run_answers_the_files_as_they_are_on_disk_and_only_those(tmp_path, monkeypatch):
    """From the second file on, the plugin's findings come from one run over
    flake8's paths; a file whose text flake8 has from elsewhere (an editor's
    buffer), or that the run did not check, is checked alone."""
    from bgtask_lint import flake8_plugin
    from bgtask_lint.api import check_stdin

    monkeypatch.chdir(tmp_path)
    bug = "from fastapi import BackgroundTasks\nBackgroundTasks().add_task(print)\n"
    (tmp_path / "a.py").write_text(bug)
    (tmp_path / "b.py").write_text(bug)
    (tmp_path / "c.py").write_text("x = 1\n")
    runs = []
    from bgtask_lint import api

    original = api.check_paths
    monkeypatch.setattr(api, "check_paths", lambda paths: runs.append(paths) or original(paths))
    one = flake8_plugin._OneRun()
    paths = ["a.py", "b.py"]
    assert one.findings_for("a.py", bug, paths) is None  # the first: checked alone
    [found] = one.findings_for("b.py", bug, paths)
    assert (found.code, found.location.row) == ("BGT001", 2)
    assert one.findings_for("a.py", bug, paths) == check_stdin(bug.encode(), "a.py").diagnostics
    assert one.findings_for("a.py", "x = 2\n", paths) is None  # not the text on disk
    assert one.findings_for("c.py", "x = 1\n", paths) is None  # not one of the run's
    assert runs == [["a.py", "b.py"]]  # one run for them all


def test_check_paths_in_a_pool_worker_stays_in_its_process():
    """flake8 -j runs the plugin in a multiprocessing pool's workers, which
    may start no process of their own."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(1) as pool:
        inside = pool.apply(_located_in_crm)
    assert inside == _located_in_crm() and inside


def _located_in_crm():
    from bgtask_lint.api import check_paths

    crm = FIXTURES / "projects" / "crm"
    cwd = os.getcwd()
    os.chdir(crm)
    try:
        result = check_paths(["crm/handlers/orders.py", "crm/api/orders.py"])
    finally:
        os.chdir(cwd)
    return sorted((d.filename, d.location.row, d.code) for d in result.diagnostics)
