"""Reading a module in part (an outline keeping what a question needs, see
analysis/outline.py) is a cheaper read, never a different answer: every test
project, and each of its modules checked alone as pre-commit checks a changed
file, gives the same findings when every module is read whole."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import FIXTURES

from bgtask_lint.analysis import project as reading
from bgtask_lint.api import check_paths

PROJECTS = sorted(p for p in (FIXTURES / "projects").iterdir() if p.is_dir())


def findings(root: Path, *paths: str) -> str:
    result = check_paths([str(root / p) for p in paths], workers=1)
    return json.dumps(
        sorted(
            (
                os.path.relpath(d.filename, root),
                d.location.row,
                d.location.column,
                d.code,
                d.message,
            )
            for d in result.diagnostics
        )
    )


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_reading_modules_in_part_changes_no_finding(project, monkeypatch):
    monkeypatch.chdir(project)
    targets = [".", *sorted(str(p.relative_to(project)) for p in project.rglob("*.py"))]
    in_part = {target: findings(project, target) for target in targets}
    monkeypatch.setattr(reading, "READ_IN_PART", False)
    whole = {target: findings(project, target) for target in targets}
    assert whole == in_part
    assert in_part["."] != "[]"  # the project has findings to compare


def test_the_switch_reads_modules_whole(monkeypatch, tmp_path):
    """With READ_IN_PART off, a module that is not checked is parsed whole
    (the differential above would compare a path with itself otherwise)."""
    from bgtask_lint.analysis.project import Project

    module = tmp_path / "tasks.py"
    module.write_text("def send():\n    pass\n\n\ndef other():\n    pass\n")
    kept = frozenset({0})
    project = Project(tmp_path, [tmp_path])
    project.outline(module)
    part = project.model_keeping(module, kept)
    assert part is not None and "other" not in part.module_functions
    monkeypatch.setattr(reading, "READ_IN_PART", False)
    project = Project(tmp_path, [tmp_path])
    project.outline(module)
    whole = project.model_keeping(module, kept)
    assert whole is not None and "other" in whole.module_functions
