"""Regressions from the stress run: fixes that changed what code means or broke
it, inputs that crashed or hung a run, and stale cache results. Each test names
the item of the reliability issue it holds."""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import selecting

from bgtask_lint import api
from bgtask_lint.api import FixMode, check_paths, check_source, check_stdin


def _write(path: Path, source: str) -> Path:
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def _fix(path: Path, *, unsafe: bool = False) -> api.RunResult:
    # With BGT100 (off by default, as ruff's RUF100), whose fix is tested here too.
    return check_paths([path], fix=FixMode(unsafe=unsafe), overrides=selecting("BGT100")[1])


# -- 1. noqa directives are comments, not text -------------------------------

NOQA_TEXT = '''\
from fastapi import BackgroundTasks

TIMEOUT = 1
budget = TIMEOUT  # noqa: BGT003 - legacy
MARKER = "# noqa: BGT001"
spill = TIMEOUT  # noqa: BGT003 ) (


def documented():
    """Explains a directive:
    # noqa: BGT001
    """
'''


def test_unused_noqa_fix_edits_only_the_comment(tmp_path):
    path = tmp_path / "a.py"
    path.write_text(NOQA_TEXT)
    result = _fix(path)
    assert result.errors == []
    assert path.read_text() == NOQA_TEXT.replace("# noqa: BGT003 - legacy", "# - legacy").replace(
        "# noqa: BGT003 ) (", "# ) ("
    )


def test_noqa_inside_a_string_suppresses_nothing():
    source = (
        "from fastapi import BackgroundTasks\n"
        "def f():\n"
        "    BackgroundTasks().add_task(print, '# noqa')\n"
    )
    assert [d.code for d in check_source(source, "a.py")] == ["BGT001"]
    result = check_stdin(source.encode(), "a.py")
    assert [d.code for d in result.diagnostics] == ["BGT001"]


def test_noqa_on_the_last_line_of_a_continued_line_covers_it():
    source = (
        "from fastapi import BackgroundTasks\n"
        "def f():\n"
        "    BackgroundTasks().add_task(print, \\\n"
        "        1)  # noqa: BGT001\n"
    )
    assert check_source(source, "a.py") == []


def test_add_noqa_ignores_directive_text_in_strings_and_continuations(tmp_path):
    path = _write(
        tmp_path / "a.py",
        """\
        from fastapi import BackgroundTasks
        def f():
            BackgroundTasks().add_task(print, "# noqa: E501")
            BackgroundTasks().add_task(print, \\
                2)
        """,
    )
    added, result = api.add_noqa([path])
    assert result.errors == [] and added == 2
    text = path.read_text()
    assert 'add_task(print, "# noqa: E501")  # noqa: BGT001\n' in text
    assert "add_task(print, \\\n        2)  # noqa: BGT001\n" in text
    assert check_paths([path]).diagnostics == []


# -- 2. every fixed file compiles --------------------------------------------

SLEEP_IN_CLASS_BODY = """\
import time
from fastapi import BackgroundTasks, FastAPI
app = FastAPI()
async def task():
    class Retry:
        time.sleep(0.1)
@app.post("/")
async def route(bt: BackgroundTasks):
    bt.add_task(task)
"""


def test_no_await_fix_inside_a_class_body(tmp_path):
    path = tmp_path / "a.py"
    path.write_text(SLEEP_IN_CLASS_BODY)
    result = _fix(path)
    assert result.errors == []
    assert [d.code for d in result.diagnostics] == ["BGT003"]  # reported, not fixed
    compile(path.read_text(), str(path), "exec")


def test_a_fix_that_does_not_compile_is_dropped_with_a_message(tmp_path, monkeypatch):
    from bgtask_lint.engine import fix as fixer

    path = tmp_path / "a.py"
    source = SLEEP_IN_CLASS_BODY.replace("    class Retry:\n        time.sleep(0.1)\n", "") + (
        "async def other():\n    time.sleep(1)\n"
        "@app.post('/b')\nasync def route_b(bt: BackgroundTasks):\n    bt.add_task(other)\n"
    )
    source = source.replace("async def task():\n", "async def task():\n    time.sleep(2)\n")
    path.write_text(source)
    real_apply = fixer.apply_fixes

    def await_at_module_level(text, diagnostics):
        """The first sleep's fix writes its `await` at module level: it parses,
        but does not compile."""
        new, applied = real_apply(text, diagnostics)
        if any(d.location.row == 5 for d in applied):
            new += "await asyncio.sleep(0)\n"
        return new, applied

    monkeypatch.setattr(fixer, "apply_fixes", await_at_module_level)
    result = _fix(path)
    [error] = result.errors
    assert "BGT003 at 5:5 produced invalid code" in error and "outside" in error
    fixed = path.read_text()
    compile(fixed, str(path), "exec")
    assert "    time.sleep(2)\n" in fixed  # the broken fix was dropped
    assert "    await asyncio.sleep(1)\n" in fixed  # the other one applied
    # Still reported (one line lower: the other fix added `import asyncio`).
    assert [(d.code, d.location.row) for d in result.diagnostics] == [("BGT003", 6)]


# -- 3. a fix never uses a name bound later in the module --------------------


def test_injection_imports_above_the_route_when_the_import_comes_later(tmp_path):
    path = _write(
        tmp_path / "late.py",
        '''\
        """An app whose import of BackgroundTasks comes last."""
        from fastapi import FastAPI

        app = FastAPI()


        def send():
            pass


        @app.post("/")
        async def a():
            tasks = BackgroundTasks()
            tasks.add_task(send)
            return {}


        from fastapi import BackgroundTasks  # noqa: E402
        ''',
    )
    result = _fix(path)
    assert result.errors == [] and result.diagnostics == []
    fixed = path.read_text()
    assert "from fastapi import BackgroundTasks, FastAPI\n" in fixed
    assert "async def a(tasks: BackgroundTasks):" in fixed
    namespace: dict = {}
    exec(compile(fixed, str(path), "exec"), namespace)  # no NameError at import


def test_retyped_annotation_is_bound_above_the_route(tmp_path):
    path = _write(
        tmp_path / "late2.py",
        """\
        from fastapi import FastAPI

        app = FastAPI()


        @app.post("/")
        async def a(tasks: "BackgroundTask"):
            tasks.add_task(print)


        from fastapi import BackgroundTasks  # noqa: E402
        from starlette.background import BackgroundTask  # noqa: E402
        """,
    )
    _fix(path)
    fixed = path.read_text()
    assert fixed.index("import BackgroundTasks, FastAPI") < fixed.index("async def a(")
    exec(compile(fixed, str(path), "exec"), {})


# -- 7. positional-only parameters, and fixes that cannot be built -----------

POSITIONAL_ONLY = """\
from fastapi import BackgroundTasks, FastAPI
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask

app = FastAPI()


def send(x):
    pass


@app.get("/a")
async def a(q: int = 1, /):
    tasks = BackgroundTasks()
    tasks.add_task(send, q)
    return {}


@app.get("/b")
async def b(q: int = 1, /):
    response = JSONResponse({})
    response.background = BackgroundTask(send, 1)
    response.background = BackgroundTask(send, 2)
    return response
"""


def test_injection_after_positional_only_parameters_with_defaults(tmp_path):
    diagnostics = check_source(POSITIONAL_ONLY, "a.py")
    assert [d.code for d in diagnostics] == ["BGT001", "BGT006"]
    assert all(d.fix is not None for d in diagnostics)
    path = tmp_path / "a.py"
    path.write_text(POSITIONAL_ONLY)
    result = _fix(path)
    assert result.errors == [] and result.diagnostics == []
    fixed = path.read_text()
    assert "async def a(q: int = 1, /, *, tasks: BackgroundTasks):" in fixed
    compile(fixed, str(path), "exec")


def test_a_fix_that_raises_costs_the_fix_not_the_finding(monkeypatch):
    from bgtask_lint.rules import rewrite

    def refuse(*args, **kwargs):
        raise ValueError("libcst refused the new node")

    monkeypatch.setattr(rewrite, "add_parameter", refuse)
    diagnostics = check_source(POSITIONAL_ONLY, "a.py")
    assert [(d.code, d.fix) for d in diagnostics] == [("BGT001", None), ("BGT006", None)]


# -- 8. no file takes the run down -------------------------------------------


def test_pathological_nesting_is_reported_and_the_run_goes_on(tmp_path):
    (tmp_path / "brackets.py").write_text(
        "from fastapi import BackgroundTasks\nx = " + "[" * 3000 + "]" * 3000 + "\n"
    )
    (tmp_path / "sum.py").write_text(
        "from fastapi import BackgroundTasks\nx = " + "+".join(["1"] * 10000) + "\n"
    )
    (tmp_path / "chain.py").write_text(
        "from fastapi import BackgroundTasks\nx = a" + ".b()" * 5000 + "\n"
    )
    (tmp_path / "bug.py").write_text(
        "from fastapi import BackgroundTasks\ndef f():\n    BackgroundTasks().add_task(print)\n"
    )
    result = check_paths([tmp_path])
    found = {(Path(d.filename).name, d.code) for d in result.diagnostics}
    assert found == {
        ("brackets.py", "BGT900"),
        ("sum.py", "BGT900"),
        ("chain.py", "BGT900"),
        ("bug.py", "BGT001"),
    }
    assert result.errors == []


def test_nesting_check_accepts_what_cpython_accepts():
    from bgtask_lint.analysis.parsing import nesting_problem

    for source in (
        "x = " + "[" * 150 + "]" * 150 + "\n",
        "x = " + "+".join(["1"] * 1000) + "\n",
        "x = [" + ", ".join(["1"] * 20000) + "]\n",
        's = """' + "(" * 5000 + '"""\n',
        "# " + "(" * 5000 + "\n",
    ):
        compile(source, "x", "exec")
        assert nesting_problem(source) is None


# -- 13. a fix costs what it touches, not the file ---------------------------


def _many_findings(count: int) -> str:
    routes = "".join(
        f"@app.post('/r{i}')\nasync def r{i}():\n"
        f"    tasks = BackgroundTasks()\n    tasks.add_task(print, {i})\n    return {{}}\n\n\n"
        for i in range(count)
    )
    return "from fastapi import BackgroundTasks, FastAPI\n\napp = FastAPI()\n\n\n" + routes


def test_fix_work_grows_with_the_findings_not_with_findings_times_size(monkeypatch):
    from bgtask_lint.rules import rewrite

    visited = [0]
    real_on_leave = rewrite._Apply.on_leave

    def counting(self, original, updated):
        visited[0] += 1
        return real_on_leave(self, original, updated)

    monkeypatch.setattr(rewrite._Apply, "on_leave", counting)
    work = {}
    for count in (50, 200):
        visited[0] = 0
        diagnostics = check_source(_many_findings(count), "many.py")
        assert len(diagnostics) == count and all(d.fix for d in diagnostics)
        work[count] = visited[0]
    # Four times the findings in a four times larger file: four times the work
    # (it was sixteen times when every fix regenerated the whole module).
    assert work[200] <= 4.5 * work[50]


def test_completing_fix_edits_parses_only_for_fixes_that_can_orphan_an_import(monkeypatch):
    """JSON and SARIF edits carry the import removals --fix makes
    (engine/fix.py's with_tidying). Finding them parses the fixed file, so
    doing it for every fix made a check of a file with 200 fixes take 46 s;
    a fix that takes away no mention of an imported name needs none."""
    from bgtask_lint.engine import fix

    parses = []
    real = fix.drop_imports_left_unused

    def counting(*args):
        parses.append(args)
        return real(*args)

    monkeypatch.setattr(fix, "drop_imports_left_unused", counting)
    diagnostics = check_source(_many_findings(200), "many.py")
    assert len(diagnostics) == 200 and all(d.fix for d in diagnostics)
    assert parses == []
    orphaning = (
        "import time\nfrom fastapi import FastAPI\napp = FastAPI()\n"
        "@app.post('/')\nasync def r(bt: BackgroundTasks):\n    bt.add_task(t)\n"
        "from fastapi import BackgroundTasks\nasync def t():\n    time.sleep(1)\n"
    )
    found = check_source(orphaning, "one.py")
    assert [d.code for d in found] == ["BGT003"] and len(parses) == 1
    assert any(e.content == "" and e.location.row == 1 for e in found[0].fix.edits)


def test_local_fix_edits_equal_whole_module_edits_on_every_fixture():
    import libcst as cst
    from conftest import FIXTURES

    from bgtask_lint.analysis.builder import build_model
    from bgtask_lint.diagnostic import Diagnostic, Fix, Location
    from bgtask_lint.engine.fix import apply_fixes
    from bgtask_lint.rules import ALL_RULES
    from bgtask_lint.rules.base import RuleContext
    from bgtask_lint.rules.rewrite import CannotFix, ModuleLayout

    compared = 0
    for path in sorted(FIXTURES.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        module = cst.parse_module(text)
        model = build_model(module, str(path))
        layout = ModuleLayout(module, text)
        for rule in ALL_RULES:
            for violation in rule().check(RuleContext(model)):
                if violation.fix is None:
                    continue
                try:
                    edits = violation.fix.rewrite(module)
                except CannotFix:
                    continue
                whole = edits.apply(module).code
                local = Diagnostic(
                    rule.code,
                    rule.name,
                    "",
                    str(path),
                    Location(1, 1),
                    Location(1, 1),
                    fix=Fix("safe", "", edits.text_edits(layout)),
                )
                assert apply_fixes(text, [local])[0] == whole, (path.name, rule.code)
                compared += 1
    assert compared > 30


# -- 4. fixes across modules settle in one run -------------------------------


def _cross_module_project(root: Path) -> None:
    (root / "pyproject.toml").write_text("")
    _write(
        root / "routes.py",
        """\
        from fastapi import BackgroundTasks, FastAPI

        from mail import send

        app = FastAPI()


        @app.post("/")
        async def route(bt: BackgroundTasks):
            bt.add_task(lambda: send(1))
        """,
    )
    _write(root / "mail.py", "import time\n\n\nasync def send(x):\n    time.sleep(x)\n")


def test_fixes_across_modules_settle_in_one_run(tmp_path):
    _cross_module_project(tmp_path)
    result = _fix(tmp_path, unsafe=True)
    assert result.errors == [] and result.diagnostics == []
    assert sum(result.fixed.values()) == 2
    assert "bt.add_task(send, 1)" in (tmp_path / "routes.py").read_text()
    assert "await asyncio.sleep(x)" in (tmp_path / "mail.py").read_text()
    assert check_paths([tmp_path]).diagnostics == []  # nothing left for a second run


def test_diff_shows_what_fixes_across_modules_do_without_writing(tmp_path):
    _cross_module_project(tmp_path)
    before = {p.name: p.read_text() for p in tmp_path.iterdir()}
    result = check_paths([tmp_path], fix=FixMode(unsafe=True, write=False))
    assert {Path(c.filename).name for c in result.changes} == {"routes.py", "mail.py"}
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == before


# -- 5. the editor filter keeps the input's bytes ----------------------------


def _filter(data: bytes, *args: str) -> bytes:
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "bgtask_lint", "check", "--fix", *args, "-"],
        input=data,
        capture_output=True,
        env={"BGTASK_LINT_NO_CACHE": "1", "PATH": "/usr/bin:/bin"},
        check=False,
    ).stdout


def test_fix_from_stdin_keeps_encoding_bom_and_line_endings():
    latin = (
        b"# -*- coding: latin-1 -*-\r\nfrom fastapi import BackgroundTasks, FastAPI\r\n"
        b'app = FastAPI()\r\nx = "\xe9"\r\n@app.post("/")\r\nasync def r():\r\n'
        b"    tasks = BackgroundTasks()\r\n    tasks.add_task(print)\r\n"
    )
    fixed = _filter(latin, "--stdin-filename", "a.py")
    assert b'x = "\xe9"\r\n' in fixed and b"async def r(tasks: BackgroundTasks):\r\n" in fixed
    untouched = b'\xef\xbb\xbfx = "\xc3\xa9"\r\ny = "\xc3\xa9"\n'
    assert _filter(untouched) == untouched  # byte for byte, BOM included


# -- 6. a fixed file keeps what it was, or is left alone ---------------------

ROUTE_BUG = (
    "from fastapi import BackgroundTasks, FastAPI\napp = FastAPI()\n"
    "@app.post('/')\nasync def r():\n    tasks = BackgroundTasks()\n"
    "    tasks.add_task(print)\n"
)


def test_fix_keeps_owner_group_mode_and_hard_links(tmp_path):
    import os
    import stat

    path = tmp_path / "app.py"
    path.write_text(ROUTE_BUG)
    os.chmod(path, 0o640)
    if os.geteuid() == 0:
        os.chown(path, 65534, 65534)  # another user's file, fixed by root
    link = tmp_path / "link.py"
    os.link(path, link)
    before = os.stat(path)
    result = check_paths([path], fix=FixMode())
    assert result.errors == []
    after = os.stat(path)
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert stat.S_IMODE(after.st_mode) == 0o640
    assert after.st_ino == before.st_ino and after.st_nlink == 2
    assert link.read_text() == path.read_text() != ROUTE_BUG


def test_read_only_files_are_not_fixed(tmp_path):
    path = tmp_path / "app.py"
    path.write_text(ROUTE_BUG)
    path.chmod(0o444)
    result = check_paths([path], fix=FixMode())
    assert path.read_text() == ROUTE_BUG
    assert any("read-only" in error for error in result.errors)
    assert [d.code for d in result.diagnostics] == ["BGT001"]


def test_a_file_saved_while_the_fix_ran_is_left_alone(tmp_path, monkeypatch):
    from bgtask_lint.engine import fix as fixer

    path = tmp_path / "app.py"
    path.write_text(ROUTE_BUG)
    real_fix_text = fixer.fix_text

    def user_saves_meanwhile(*args, **kwargs):
        outcome = real_fix_text(*args, **kwargs)
        path.write_text(ROUTE_BUG + "# the user's edit\n")
        return outcome

    monkeypatch.setattr(fixer, "fix_text", user_saves_meanwhile)
    result = check_paths([path], fix=FixMode())
    assert path.read_text() == ROUTE_BUG + "# the user's edit\n"
    assert any("changed since it was read" in error for error in result.errors)


# -- 10. bad configuration and awkward trees: one line, exit 2 or go on ------


def test_malformed_pyproject_is_one_line_and_exit_2(tmp_path):
    from click.testing import CliRunner

    from bgtask_lint.cli import main

    (tmp_path / "a.py").write_text("from fastapi import BackgroundTasks\n")
    for body in (b"tool = 5\n", b'x = "\xff"\n'):
        (tmp_path / "pyproject.toml").write_bytes(body)
        outcome = CliRunner().invoke(main, ["check", "--no-cache", str(tmp_path / "a.py")])
        assert outcome.exit_code == 2, outcome.output
        assert outcome.exception is None or isinstance(outcome.exception, SystemExit)
        assert "error:" in outcome.output and "Traceback" not in outcome.output
    for body in ("project = 5\n", "[project]\ndependencies = 5\n", "[tool]\npoetry = 5\n"):
        (tmp_path / "pyproject.toml").write_text(body)
        outcome = CliRunner().invoke(main, ["check", "--no-cache", str(tmp_path / "a.py")])
        assert outcome.exit_code == 0, outcome.output  # other tools' tables are theirs


def test_a_tree_deeper_than_the_python_stack(tmp_path):
    deep = tmp_path
    for _ in range(600):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "x.py").write_text(
        "from fastapi import BackgroundTasks\nBackgroundTasks().add_task(print)\n"
    )
    assert [d.code for d in check_paths([tmp_path]).diagnostics] == ["BGT001"]


def test_permission_errors_on_paths_do_not_raise(tmp_path, monkeypatch):
    import os

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.py").write_text(ROUTE_BUG)
    real_stat = os.stat

    def no_search_permission(path, *args, **kwargs):
        # What a directory with read but no execute permission does to a
        # non-root user: its entries are listed but cannot be looked at.
        if str(path).startswith(str(tmp_path / "sub") + os.sep):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", no_search_permission)
    result = check_paths([tmp_path])  # no PermissionError from a path test
    assert result.errors == []
    assert [d.code for d in result.diagnostics] == ["BGT001"]


def test_a_cache_of_the_wrong_shape_is_ignored(tmp_path):
    from bgtask_lint.run.cache import Cache

    path = tmp_path / "app.py"
    path.write_text(ROUTE_BUG)
    cache_dir = tmp_path / "cache"
    for junk in ("[]", "null", '{"x": {"deps": []}}', '{"x": 5}', '"s"'):
        Cache(cache_dir).path.parent.mkdir(parents=True, exist_ok=True)
        Cache(cache_dir).path.write_text(junk)
        first = check_paths([path], cache_dir=cache_dir)
        second = check_paths([path], cache_dir=cache_dir)
        assert [d.code for d in first.diagnostics] == [d.code for d in second.diagnostics]
        assert [d.code for d in second.diagnostics] == ["BGT001"]


# -- 11, 12. only regular files, and only up to max-file-size ----------------


def test_fifos_and_devices_are_skipped_not_read(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "zero.py").symlink_to("/dev/zero")
    result = check_paths([tmp_path])  # returns: a FIFO no longer blocks the read
    assert {(Path(d.filename).name, d.code) for d in result.diagnostics} == {
        ("pipe.py", "BGT901"),
        ("zero.py", "BGT901"),
    }
    assert all("not a regular file" in d.message for d in result.diagnostics)


def test_files_over_max_file_size_are_skipped_when_they_could_matter(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.bgtask-lint]\nmax-file-size = "1KiB"\n')
    (tmp_path / "big.py").write_text("from fastapi import BackgroundTasks\n" + "x = 1\n" * 400)
    (tmp_path / "big_other.py").write_text("x = 1\n" * 400)  # cannot have findings
    (tmp_path / "small.py").write_text(ROUTE_BUG)
    found = {
        (Path(d.filename).name, d.code, d.message[:24]) for d in check_paths([tmp_path]).diagnostics
    }
    assert found == {
        ("big.py", "BGT901", "file is larger than `max"),
        ("small.py", "BGT001", "`BackgroundTasks()` crea"),
    }


def test_max_file_size_is_validated(tmp_path):
    import pytest

    from bgtask_lint.config.settings import ConfigError, load_settings

    path = tmp_path / "pyproject.toml"
    for good, size in (("2048", 2048), ('"2MiB"', 2 * 1024 * 1024), ('"500 KB"', 500_000)):
        path.write_text(f"[tool.bgtask-lint]\nmax-file-size = {good}\n")
        assert load_settings(path).max_file_size == size
    for bad in ("0", '"big"', "true", "-5"):
        path.write_text(f"[tool.bgtask-lint]\nmax-file-size = {bad}\n")
        with pytest.raises(ConfigError, match="max-file-size"):
            load_settings(path)


# -- 14, 15. the cache never keeps a stale result ----------------------------


def test_a_file_saved_during_a_check_is_checked_again(tmp_path, monkeypatch):
    from bgtask_lint.run import files

    path = tmp_path / "app.py"
    path.write_text("from fastapi import BackgroundTasks\n")
    cache_dir = tmp_path / "cache"
    real_read = files.read_file

    def saved_right_after_reading(name, *args):
        data = real_read(name, *args)
        if name == str(path):
            import os

            path.write_text(ROUTE_BUG)
            os.utime(path, ns=(data[1][1] + 10**9, data[1][1] + 10**9))
        return data

    monkeypatch.setattr(files, "read_file", saved_right_after_reading)
    assert check_paths([path], cache_dir=cache_dir).diagnostics == []
    monkeypatch.undo()
    warm = check_paths([path], cache_dir=cache_dir)
    assert [d.code for d in warm.diagnostics] == ["BGT001"]


def test_a_module_that_appears_later_is_followed_by_a_cached_run(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    _write(
        tmp_path / "routes.py",
        """\
        from fastapi import BackgroundTasks, FastAPI

        from tasks import send

        app = FastAPI()


        @app.post("/")
        async def route(bt: BackgroundTasks):
            bt.add_task(send)
        """,
    )
    cache_dir = tmp_path / ".cache"
    assert check_paths([tmp_path / "routes.py"], cache_dir=cache_dir).diagnostics == []
    (tmp_path / "tasks.py").write_text("import time\n\n\nasync def send():\n    time.sleep(1)\n")
    cached = check_paths([tmp_path / "routes.py"], cache_dir=cache_dir)
    fresh = check_paths([tmp_path / "routes.py"])
    assert [d.code for d in fresh.diagnostics] == ["BGT003"]
    assert [d.code for d in cached.diagnostics] == ["BGT003"]
    # A src/ package shadowing it is followed too.
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "tasks.py").write_text("async def send():\n    pass\n")
    assert check_paths([tmp_path / "routes.py"]).diagnostics == []
    assert check_paths([tmp_path / "routes.py"], cache_dir=cache_dir).diagnostics == []


def test_changing_src_changes_the_cache_key(tmp_path):
    from bgtask_lint.config.options import RuleOptions
    from bgtask_lint.run.cache import fingerprint

    codes = frozenset({"BGT003"})
    assert fingerprint(codes, RuleOptions(), ("src",)) != fingerprint(codes, RuleOptions(), ())


# -- 16. no temporary file is left behind ------------------------------------


def test_an_interrupted_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    import os

    import pytest

    path = tmp_path / "app.py"
    path.write_text(ROUTE_BUG)

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        check_paths([path], fix=FixMode())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.py"]
    assert path.read_text() == ROUTE_BUG


SIGTERM_DURING_WRITE = """
import os, signal, sys
real_replace = os.replace
run = os.getpid()  # the process the signal is for (a worker may be the one writing)

def replace(src, dst):  # SIGTERM arrives while the fixed file is being written
    os.kill(run, signal.SIGTERM)
    real_replace(src, dst)

os.replace = replace
from bgtask_lint.cli import main
main(["check", "--fix", "--no-cache", sys.argv[1]])
"""


def test_sigterm_during_a_write_waits_for_it_and_leaves_no_temporary_file(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "app.py"
    path.write_text(ROUTE_BUG)
    done = subprocess.run(
        [sys.executable, "-c", SIGTERM_DURING_WRITE, str(path)], capture_output=True, timeout=60
    )
    assert done.returncode == 143, done.stderr  # 128 + SIGTERM, after the write
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.py"]
    fixed = path.read_text()
    assert "async def r(tasks: BackgroundTasks):" in fixed  # whole, not half-written


# -- 17. valid input is never reported as broken -----------------------------


def test_a_form_feed_in_indentation_is_not_a_syntax_error():
    source = (
        "from fastapi import BackgroundTasks\ndef f(a):\n\f    if a:\n"
        "        BackgroundTasks().add_task(print)\n"
    )
    compile(source, "a.py", "exec")
    [finding] = check_source(source, "a.py")
    assert (finding.code, finding.location.row, finding.location.column) == ("BGT001", 4, 9)


def test_cr_line_endings_with_a_coding_cookie_decode(tmp_path):
    path = tmp_path / "cr.py"
    path.write_bytes(
        b"# -*- coding: latin-1 -*-\rfrom fastapi import BackgroundTasks\rx = '\xe9'\r"
    )
    assert check_paths([path]).diagnostics == []


def test_null_bytes_are_reported_as_cpython_does(tmp_path):
    path = tmp_path / "nul.py"
    path.write_bytes(b"from fastapi import BackgroundTasks\nx = 'a\x00b'  # \x00\n")
    [finding] = check_paths([path]).diagnostics
    assert finding.code == "BGT900" and "null bytes" in finding.message


# -- 18. small ones ----------------------------------------------------------


def test_diff_is_a_valid_patch_around_line_separator_characters(tmp_path):
    import shutil
    import subprocess

    import pytest

    if shutil.which("patch") is None:
        pytest.skip("no `patch` here")
    source = ROUTE_BUG + "note = 'a\u2028b\fc\x1cd'\n"
    path = tmp_path / "app.py"
    path.write_text(source, encoding="utf-8")
    result = check_paths([path], fix=FixMode(write=False))
    from bgtask_lint.output.formats import unified_diff

    [change] = result.changes
    patch = unified_diff(str(path), change.before, change.after)
    applied = subprocess.run(
        ["patch", "--fuzz=0", "-s", str(path)],
        input=patch.encode(),
        capture_output=True,
        check=False,
    )
    assert applied.returncode == 0, applied.stderr
    assert path.read_text(encoding="utf-8") == change.after


def test_add_noqa_on_a_line_ending_in_a_backslash(tmp_path):
    path = tmp_path / "a.py"
    path.write_text(
        "from fastapi import BackgroundTasks\nx = 1 + \\\n    2\n"
        "BackgroundTasks().add_task(print, \\\n    x)\n"
    )
    added, result = api.add_noqa([path])
    assert (added, result.errors) == (1, [])
    assert check_paths([path]).diagnostics == []


def test_empty_select_and_stray_stdin_filename_are_usage_errors(tmp_path):
    from click.testing import CliRunner

    from bgtask_lint.cli import main

    (tmp_path / "a.py").write_text("x = 1\n")
    outcome = CliRunner().invoke(main, ["check", "--select", "", str(tmp_path)])
    assert outcome.exit_code == 2 and "empty" in outcome.output
    outcome = CliRunner().invoke(main, ["check", "--stdin-filename", "x.py", str(tmp_path)])
    assert outcome.exit_code == 2 and "--stdin-filename" in outcome.output


def test_an_unreadable_path_on_the_command_line_is_reported_and_the_run_goes_on(
    tmp_path, monkeypatch
):
    import os

    from click.testing import CliRunner

    from bgtask_lint.cli import main

    locked = tmp_path / "locked.py"
    locked.write_text("x = 1\n")
    locked.chmod(0)
    real_access, real_open = os.access, os.open

    def as_another_user(path, *args, **kwargs):  # root reads whatever the mode
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "access", lambda p, m, **k: str(p) != str(locked) and real_access(p, m))
    monkeypatch.setattr(os, "open", as_another_user)
    (tmp_path / "bug.py").write_text(ROUTE_BUG)
    outcome = CliRunner().invoke(
        main,
        [
            "check",
            "--no-cache",
            "--output-format",
            "concise",
            str(locked),
            str(tmp_path / "bug.py"),
        ],
    )
    assert outcome.exit_code == 1, outcome.output
    assert "BGT001" in outcome.output
    assert "locked.py:1:1: BGT901 cannot read file: Permission denied" in outcome.output


# -- 9. workers end with the run; Ctrl-C is one line -------------------------


def _busy_tree(root: Path) -> None:
    """Enough fixable files for two workers and a few seconds of work."""
    routes = "".join(
        f"@app.post('/r{i}')\nasync def r{i}():\n    tasks = BackgroundTasks()\n"
        f"    tasks.add_task(print, {i})\n    return {{}}\n\n"
        for i in range(120)
    )
    for n in range(30):
        (root / f"m{n}.py").write_text(
            "from fastapi import BackgroundTasks, FastAPI\napp = FastAPI()\n" + routes
        )


def _start_fix(root: Path):
    import signal
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "bgtask_lint", "check", "--fix", "--no-cache", "."],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        # As a terminal starts it: pytest may run with SIGINT ignored (a
        # background job, nohup, some CI runners), and the child inherits that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _children(pid: int) -> set[int]:
    import subprocess

    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return {int(line) for line in out.stdout.split()}


def _wait_for_workers(process) -> set[int]:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        workers = _children(process.pid)
        if len(workers) >= 2:
            return workers
        time.sleep(0.05)
    raise AssertionError("the run never started two workers")


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:  # a zombie is gone
        return handle.read().split()[2] != "Z"


def test_workers_stop_when_the_main_process_is_killed(tmp_path):
    import os
    import signal
    import time

    _busy_tree(tmp_path)
    process = _start_fix(tmp_path)
    workers = _wait_for_workers(process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)
    assert not [p.name for p in tmp_path.iterdir() if ".bgtask-lint-" in p.name]


def test_ctrl_c_prints_one_line_and_exits_130(tmp_path):
    import os
    import signal

    _busy_tree(tmp_path)
    process = _start_fix(tmp_path)
    _wait_for_workers(process)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal does: the whole group
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.decode().strip() == "bgtask-lint: interrupted"
    assert not [p.name for p in tmp_path.iterdir() if ".bgtask-lint-" in p.name]
    for path in tmp_path.glob("*.py"):  # each file whole: fixed or untouched
        compile(path.read_text(), str(path), "exec")


def test_backslash_continuations_at_the_end_of_the_file_are_not_a_syntax_error():
    # Found by bench/fuzz.py: CPython accepts these, libcst's tokenizer does not.
    source = "from fastapi import BackgroundTasks\nBackgroundTasks().add_task(print)\n \\\n\\\r\n"
    compile(source, "a.py", "exec")
    assert [d.code for d in check_source(source, "a.py")] == ["BGT001"]


def test_a_long_expression_cpython_compiles_is_skipped_not_a_syntax_error(tmp_path):
    # sympy has such files: sums of 2,000 terms. libcst takes seconds over them.
    source = "from fastapi import BackgroundTasks\nx = " + " + ".join(["y"] * 2000) + "\n"
    compile(source, "long.py", "exec")
    (tmp_path / "long.py").write_text(source)
    [finding] = check_paths([tmp_path]).diagnostics
    assert finding.code == "BGT901" and "skipped" in finding.message


def test_workers_busy_parsing_a_huge_file_die_with_their_killed_parent(tmp_path):
    """A worker in libcst's native parser ran no Python signal handler until
    the parse returned (a 200k-line file: 52 s), so a killed run left it
    behind. Workers now take SIGTERM at once, and Linux sends it to them
    when the main process dies."""
    import os
    import signal
    import subprocess
    import sys
    import time

    body = "".join(f"def f{i}(tasks):\n    tasks.add_task(print, {i})\n" for i in range(40_000))
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text("from fastapi import BackgroundTasks\n" + body)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bgtask_lint",
            "check",
            "--no-cache",
            "--config",
            "max-file-size = '64MB'",
            ".",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    workers = _wait_for_workers(process)
    time.sleep(1.5)  # well into the parse of both files (each takes many seconds)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)


def test_a_file_of_too_many_lines_is_refused_whatever_max_file_size_says(tmp_path):
    """A raised `max-file-size` let a 1M-line file take 14.9 GB; a ceiling on
    lines keeps one file to about 1 GB, and says what parsing would take."""
    from bgtask_lint.text.source import MAX_LINES

    (tmp_path / "pyproject.toml").write_text('[tool.bgtask-lint]\nmax-file-size = "1GB"\n')
    (tmp_path / "huge.py").write_text(
        "from fastapi import BackgroundTasks\n" + "x = 1\n" * MAX_LINES
    )
    (tmp_path / "small.py").write_text(ROUTE_BUG)
    found = sorted(
        (Path(d.filename).name, d.code, d.message) for d in check_paths([tmp_path]).diagnostics
    )
    assert [(name, code) for name, code, _ in found] == [
        ("huge.py", "BGT901"),
        ("small.py", "BGT001"),
    ]
    assert f"> {MAX_LINES:,}" in found[0][2] and "of memory" in found[0][2]
