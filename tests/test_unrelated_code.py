"""No finding depends on code unrelated to it: a definition, a constant or a
class added to any fixture module, at its end or before its first definition,
leaves every finding of the fixture, and of each project, where it was (a
task's findings once vanished when its module gained `def third(): pass`)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, fixture_code, selecting

from bgtask_lint.api import check_paths, check_source

UNRELATED = """

def _unrelated_helper():
    pass


_UNRELATED_LIMIT = 3


class _UnrelatedThing:
    size = 1

    def describe(self):
        return "unrelated"
"""

PROJECTS = sorted(p for p in (FIXTURES / "projects").iterdir() if p.is_dir())
FIXTURE_FILES = sorted(FIXTURES.glob("*.py"))
# The first top-level definition or decorator: code goes in before it.
FIRST_DEFINITION = re.compile(r"^(?:@|def |async def |class )", re.MULTILINE)


def with_unrelated(source: str, where: str) -> tuple[str, tuple[int, int]]:
    """`source` with UNRELATED added at its end or before its first
    definition, and the rows that moved: from which row, by how many."""
    found = FIRST_DEFINITION.search(source) if where == "before" else None
    if found is None:
        return source.rstrip("\n") + "\n" + UNRELATED, (0, 0)
    at = found.start()
    added = UNRELATED.lstrip("\n") + "\n\n"
    return source[:at] + added + source[at:], (source.count("\n", 0, at) + 1, added.count("\n"))


def moved(row: int, shift: tuple[int, int]) -> int:
    first, by = shift
    return row + by if by and row >= first else row


def moved_in(message: str, filename: str, shift: tuple[int, int]) -> str:
    """`message` with the rows it gives for places in `filename` moved."""
    return re.sub(
        rf"{re.escape(filename)}:(\d+)", lambda m: f"{filename}:{moved(int(m[1]), shift)}", message
    )


@pytest.mark.parametrize("where", ["end", "before"])
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_unrelated_code_in_a_fixture_changes_no_finding(path, where):
    source = path.read_text(encoding="utf-8")
    settings = selecting(fixture_code(path), source=source)[0]
    shift = with_unrelated(source, where)[1]
    before = {
        (moved(d.location.row, shift), d.code, moved_in(d.message, str(path), shift))
        for d in check_source(source, str(path), settings)
    }
    changed, _ = with_unrelated(source, where)
    after = {
        (d.location.row, d.code, d.message) for d in check_source(changed, str(path), settings)
    }
    assert after == before


def project_findings(root: Path, *paths: str) -> list[tuple[str, int, str, str]]:
    result = check_paths([str(root / p) for p in paths], workers=1)
    return sorted(
        (os.path.relpath(d.filename, root), d.location.row, d.code, d.message)
        for d in result.diagnostics
    )


def shifted(findings, module: str, shift: tuple[int, int]) -> list[tuple[str, int, str, str]]:
    """`findings` as they are once `module` (relative to the cwd) moved by `shift`."""
    target = os.path.abspath(module)
    return sorted(
        (f, moved(row, shift) if f == module else row, code, moved_in(message, target, shift))
        for f, row, code, message in findings
    )


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_unrelated_code_in_a_project_module_changes_no_finding(project, tmp_path, monkeypatch):
    """Each module of the project in turn gets the unrelated code; the whole
    project and that module alone are checked, from the project's root."""
    root = tmp_path / project.name
    shutil.copytree(project, root)
    monkeypatch.chdir(root)
    modules = sorted(str(p.relative_to(root)) for p in root.rglob("*.py"))
    whole = project_findings(root, ".")
    alone = {module: project_findings(root, module) for module in modules}
    for module in modules:
        target = root / module
        original = target.read_text(encoding="utf-8")
        for where in ("end", "before"):
            changed, shift = with_unrelated(original, where)
            target.write_text(changed, encoding="utf-8")
            case = (module, where)
            assert project_findings(root, ".") == shifted(whole, module, shift), case
            assert project_findings(root, module) == shifted(alone[module], module, shift), case
        target.write_text(original, encoding="utf-8")
