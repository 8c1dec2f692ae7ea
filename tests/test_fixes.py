"""Autofix: each fixture beside its expected fixed output, compared exactly;
a second --fix changes nothing; CRLF, BOM and a coding cookie survive; a
failing fix never leaves a half-written file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import FIXTURES, fixture_code, selecting

from bgtask_lint.api import FixMode, check_paths, check_source, forget_what_was_read
from bgtask_lint.engine import fix as fixer
from bgtask_lint.output.shared import diagnostic_to_json

FIXED = {"safe": ".fixed", "unsafe": ".unsafe-fixed"}
PAIRS = sorted(
    (source, mode)
    for source in FIXTURES.glob("*.py")
    for mode, suffix in FIXED.items()
    if source.with_name(source.name + suffix).exists()
)


def run_fix(path, *, unsafe=False):
    source = path.read_bytes().decode("utf-8", errors="replace")
    overrides = selecting(fixture_code(path), source=source)[1]
    return check_paths([path], fix=FixMode(unsafe=unsafe), overrides=overrides)


@pytest.mark.parametrize("source, mode", PAIRS, ids=lambda v: getattr(v, "name", v))
def test_fix_matches_expected_output(tmp_path, source, mode):
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    result = run_fix(copy, unsafe=mode == "unsafe")
    assert not result.errors
    expected = source.with_name(source.name + FIXED[mode]).read_text(encoding="utf-8")
    assert copy.read_text(encoding="utf-8") == expected


@pytest.mark.parametrize("source, mode", PAIRS, ids=lambda v: getattr(v, "name", v))
def test_second_fix_changes_nothing(tmp_path, source, mode):
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    run_fix(copy, unsafe=mode == "unsafe")
    once = copy.read_text(encoding="utf-8")
    again = run_fix(copy, unsafe=mode == "unsafe")
    assert copy.read_text(encoding="utf-8") == once
    assert not again.changes and not again.fixed


def test_every_fixable_fixture_has_its_expected_output():
    for source in FIXTURES.glob("*.py"):
        result = check_paths([source])
        modes = {d.fix.applicability for d in result.diagnostics if d.fix}
        for mode in modes:
            expected = source.with_name(source.name + FIXED[mode])
            assert expected.exists(), f"{expected.name} is missing"


def test_fixed_outputs_parse_and_round_trip():
    import libcst as cst

    from bgtask_lint.engine.fix import is_applicable

    checked = 0
    for expected in [*FIXTURES.glob("*.fixed"), *FIXTURES.glob("*.unsafe-fixed")]:
        text = expected.read_text(encoding="utf-8")
        assert cst.parse_module(text).code == text
        # Each expected output is real Python and a fixed point of its mode:
        # nothing left that the same `--fix` would change.
        compile(text, str(expected), "exec")
        unsafe = expected.name.endswith(".unsafe-fixed")
        left = [d for d in check_source(text, str(expected)) if is_applicable(d.fix, unsafe)]
        assert not left, (expected.name, [(d.code, d.location.row) for d in left])
        checked += 1
    assert checked >= 10


BUG = (
    "from fastapi import BackgroundTasks, FastAPI\n"
    "app = FastAPI()\n"
    "@app.post('/')\n"
    "def create():\n"
    "    tasks = BackgroundTasks()\n"
    "    tasks.add_task(print, 'x')\n"
    "    return {}\n"
)
FIXED_BUG = (
    "from fastapi import BackgroundTasks, FastAPI\n"
    "app = FastAPI()\n"
    "@app.post('/')\n"
    "def create(tasks: BackgroundTasks):\n"
    "    tasks.add_task(print, 'x')\n"
    "    return {}\n"
)


def test_crlf_line_endings_survive(tmp_path):
    path = tmp_path / "app.py"
    path.write_bytes(BUG.replace("\n", "\r\n").encode())
    run_fix(path)
    assert path.read_bytes() == FIXED_BUG.replace("\n", "\r\n").encode()


def test_bom_survives(tmp_path):
    path = tmp_path / "app.py"
    path.write_bytes(b"\xef\xbb\xbf" + BUG.encode())
    run_fix(path)
    assert path.read_bytes() == b"\xef\xbb\xbf" + FIXED_BUG.encode()


def test_latin1_coding_cookie_survives(tmp_path):
    cookie = "# -*- coding: latin-1 -*-\n"
    path = tmp_path / "app.py"
    path.write_bytes((cookie + BUG + "NAME = 'été'\n").encode("latin-1"))
    run_fix(path)
    assert path.read_bytes() == (cookie + FIXED_BUG + "NAME = 'été'\n").encode("latin-1")


def test_permissions_survive(tmp_path):
    path = tmp_path / "app.py"
    path.write_text(BUG)
    path.chmod(0o640)
    run_fix(path)
    assert path.read_text() == FIXED_BUG
    assert (path.stat().st_mode & 0o777) == 0o640


def test_symlink_is_written_through(tmp_path):
    target = tmp_path / "real.py"
    target.write_text(BUG)
    link = tmp_path / "link.py"
    link.symlink_to(target)
    check_paths([link], fix=FixMode())
    assert link.is_symlink()
    assert target.read_text() == FIXED_BUG


def test_fix_that_breaks_syntax_leaves_the_file_untouched(tmp_path, monkeypatch):
    path = tmp_path / "app.py"
    path.write_text(BUG)
    real_apply = fixer.apply_fixes

    def broken(text, diagnostics):
        new, applied = real_apply(text, diagnostics)
        return new + "def (:\n", applied

    monkeypatch.setattr(fixer, "apply_fixes", broken)
    result = run_fix(path)
    assert path.read_text() == BUG
    assert "produced invalid code" in result.errors[0]
    assert [d.code for d in result.diagnostics] == ["BGT001"]


def test_fixes_that_never_settle_leave_the_file_untouched(tmp_path, monkeypatch):
    path = tmp_path / "app.py"
    path.write_text(BUG)
    monkeypatch.setattr(fixer, "apply_fixes", lambda text, ds: (text + "\n", list(ds)))
    result = run_fix(path)
    assert path.read_text() == BUG
    assert "did not settle" in result.errors[0]


def test_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "app.py"
    path.write_text(BUG)

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    result = run_fix(path)
    assert path.read_text() == BUG
    assert "cannot write the fixed file" in result.errors[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.py"]


def _ruff_passes(text: str, *args: str) -> bool:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--isolated", "--stdin-filename", "app.py", "-"],
        input=text,
        capture_output=True,
        text=True,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0


@pytest.mark.parametrize("source, mode", PAIRS, ids=lambda v: getattr(v, "name", v))
@pytest.mark.parametrize(
    "check", [("format", "--check"), ("check", "--select", "I,F401")], ids=["format", "isort"]
)
def test_fixed_output_leaves_nothing_for_ruff(source, mode, check):
    """A file that `ruff format --check` (or `ruff check --select I,F401`)
    accepted is still accepted once fixed: the fix keeps the layout, puts
    its imports where isort would and leaves none unused."""
    pytest.importorskip("ruff")  # in the test extra; not in the oldest-libcst run
    before = source.read_text(encoding="utf-8")
    if not _ruff_passes(before, *check):
        pytest.skip("the fixture itself does not pass")
    after = source.with_name(source.name + FIXED[mode]).read_text(encoding="utf-8")
    assert _ruff_passes(after, *check)


WRITE_LOG = (
    "async def write_log(line: str) -> None:\n"
    "    with open('log.txt', 'a') as fh:\n"
    "        fh.write(line)\n"
)
ROUTE = (
    "from fastapi import BackgroundTasks, FastAPI\n"
    "{imports}"
    "app = FastAPI()\n"
    "@app.post('/a')\n"
    "async def a(bt: BackgroundTasks):\n"
    "{body}"
    "    bt.add_task(write_log, 'later')\n"
)


def _def_fix_offered(cli, root, *named):
    result = cli("check", "--unsafe-fixes", "--output-format", "json", *named, cwd=root)
    assert result.returncode == 1, result.stderr
    [finding] = [item for item in json.loads(result.stdout) if item["code"] == "BGT003"]
    return finding["fix"] is not None


def test_a_task_awaited_in_its_own_module_does_not_become_a_def(cli, tmp_path):
    """`async def` -> `def` compiled, but the request awaiting the function
    then failed (`NoneType can't be used in 'await' expression`)."""
    (tmp_path / "app.py").write_text(
        WRITE_LOG + ROUTE.format(imports="", body="    await write_log('now')\n")
    )
    assert not _def_fix_offered(cli, tmp_path, "app.py")
    (tmp_path / "app.py").write_text(WRITE_LOG + ROUTE.format(imports="", body=""))
    assert _def_fix_offered(cli, tmp_path, "app.py")  # used only as a task: offered


@pytest.mark.parametrize("named", ["app/routes.py", "app/logs.py", "app/other.py", "."])
def test_a_task_awaited_in_another_module_does_not_become_a_def(cli, tmp_path, named):
    package = tmp_path / "app"
    package.mkdir()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    (package / "__init__.py").write_text("")
    (package / "logs.py").write_text(WRITE_LOG)
    (package / "routes.py").write_text(
        ROUTE.format(imports="from app.logs import write_log\n", body="")
    )
    (package / "other.py").write_text(
        "from app import logs\nasync def now():\n    await logs.write_log('now')\n"
    )
    if named == "app/other.py":  # the finding is not shown; the fix is judged with it
        named = "app/logs.py"
        assert not _def_fix_offered(cli, tmp_path, "app/logs.py", "app/other.py")
    assert not _def_fix_offered(cli, tmp_path, named)
    (package / "other.py").write_text("from app import logs\nNAME = logs.__name__\n")
    assert _def_fix_offered(cli, tmp_path, named)


RAISING_ROUTE = (
    "from fastapi import BackgroundTasks, HTTPException\n"
    "from app.main import app\n"
    "@app.post('/a')\n"
    "async def a(bt: BackgroundTasks):\n"
    "    bt.add_task(print, 'audit')\n"
    "    raise HTTPException(status_code=404, detail='gone')\n"
)


@pytest.mark.parametrize(
    "registration",
    [
        "@app.exception_handler(HTTPException)\nasync def h(request, exc): ...\n",
        "@app.exception_handler(StarletteHTTPException)\nasync def h(request, exc): ...\n",
        "async def h(request, exc): ...\napp.add_exception_handler(404, h)\n",
        "",  # the default handler: the fix is offered
    ],
)
def test_bgt012_fix_is_not_offered_when_the_app_handles_http_exceptions(
    cli, tmp_path, registration
):
    """`return JSONResponse(...)` in place of the raise would bypass the app's
    own handler (its body, its headers): no fix then, wherever it is registered."""
    package = tmp_path / "app"
    package.mkdir()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(
        "from fastapi import FastAPI, HTTPException\n"
        "from starlette.exceptions import HTTPException as StarletteHTTPException\n"
        "app = FastAPI()\n" + registration
    )
    (package / "routes.py").write_text(RAISING_ROUTE)
    for named in ("app/routes.py", "."):
        result = cli("check", "--unsafe-fixes", "--output-format", "json", named, cwd=tmp_path)
        [finding] = [item for item in json.loads(result.stdout) if item["code"] == "BGT012"]
        assert (finding["fix"] is not None) == (registration == ""), named


def _apply_json_edits(text: str, items: list, unsafe: bool) -> str:
    """What a suggestion consumer (reviewdog, review bots) does with the
    JSON: each fix's edits, by row and column, first fix first; suggestions
    are by line, so a fix touching a line a taken one touches waits for the
    next round, even with an edit equal to one taken."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def offset(location):
        return starts[location["row"] - 1] + location["column"] - 1

    fixes = [
        sorted((offset(e["location"]), offset(e["end_location"]), e["content"]) for e in fix)
        for fix in (
            item["fix"]["edits"]
            for item in items
            if item["fix"] and (unsafe or item["fix"]["applicability"] == "safe")
        )
    ]

    def rows(start, end):
        first = next(r for r in range(len(starts) - 1, -1, -1) if starts[r] <= start)
        last = next(r for r in range(len(starts) - 1, -1, -1) if starts[r] <= max(start, end - 1))
        return set(range(first, last + 1))

    taken: list[tuple[int, int, str]] = []
    taken_rows: set[int] = set()
    for edits in sorted(fixes):
        touched = set().union(*(rows(start, end) for start, end, _ in edits))
        if not touched & taken_rows:
            taken.extend(edits)
            taken_rows |= touched
    for start, end, content in sorted(taken, reverse=True):
        text = text[:start] + content + text[end:]
    return text


@pytest.mark.parametrize("source, mode", PAIRS, ids=lambda v: getattr(v, "name", v))
def test_applying_the_json_edits_gives_what_fix_writes(cli, tmp_path, source, mode):
    """The JSON edits left behind the imports --fix removes (engine/tidy.py),
    so a consumer applying them got ruff F401 findings; applied round after
    round, as ruff applies its own, they now give --fix's file byte for byte."""
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    unsafe = mode == "unsafe"
    overrides = selecting(fixture_code(source), source=source.read_text(encoding="utf-8"))[1]
    for _ in range(10):
        forget_what_was_read()  # the file changed since the last round read it
        result = check_paths([copy], overrides=overrides)
        items = [diagnostic_to_json(d) for d in result.diagnostics]
        text = copy.read_text(encoding="utf-8")
        fixed = _apply_json_edits(text, items, unsafe)
        if fixed == text:
            break
        copy.write_text(fixed, encoding="utf-8")
    expected = source.with_name(source.name + FIXED[mode]).read_text(encoding="utf-8")
    assert copy.read_text(encoding="utf-8") == expected
