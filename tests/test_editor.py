"""The language server's parts without a client: its options, what it says of
a document, where a finding of another file is shown, LSP's units, and that
the command line does not pay for the `lsp` extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bgtask_lint.diagnostic import Location
from bgtask_lint.editor.session import (
    EditorOptions,
    Session,
    noqa_code_at,
    parse_options,
    rule_hover,
)

ROUTES = """\
from fastapi import BackgroundTasks, FastAPI

from app.tasks import notify, other

app = FastAPI()


@app.post("/signup")
async def signup(email: str, tasks: BackgroundTasks):
    tasks.add_task(other, email)
    tasks.add_task(notify, email)
    return {"ok": True}
"""
TASKS = """\
import time


async def other(email):
    print(email)


async def notify(email):
    time.sleep(1)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.bgtask-lint]\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "routes.py").write_text(ROUTES)
    (tmp_path / "app" / "tasks.py").write_text("async def notify(email):\n    pass\n")
    return tmp_path


def test_options_passed_over_are_told():
    options, problems = parse_options(
        {"run": "sometimes", "unsafeFixes": True, "select": ["BGT00"], "ignore": ["E501"]}
    )
    assert options == EditorOptions(unsafe_fixes=True, select=("BGT00",))
    assert problems[0].startswith("initialization option `run`: expected one of onType, onSave")
    assert "unknown rule selector `E501`" in problems[1]
    assert parse_options(["run"])[1] == ["initialization options must be an object, not ['run']"]
    assert parse_options({"debounce": -1, "colour": 1})[1] == [
        "initialization option `debounce`: expected a number of seconds, not -1; passed over",
        "initialization option `colour`: unknown option; passed over",
    ]


def test_an_unsaved_task_module_is_shown_at_the_route_that_queues_it(project: Path):
    session = Session(EditorOptions(), [str(project)])
    routes, tasks = str(project / "app" / "routes.py"), str(project / "app" / "tasks.py")
    session.texts[routes] = ROUTES
    assert session.check(routes).diagnostics == []
    session.texts[tasks] = TASKS  # not saved: the file on disk has no blocking call
    (shown,) = session.check(routes).diagnostics
    assert shown.code == "BGT003"
    assert (shown.location, shown.end_location) == (Location(11, 5), Location(11, 34))
    assert shown.message.startswith("`notify`, queued here, in app/tasks.py:9: async task")
    assert shown.fix is None and shown.noqa_row is None
    assert (shown.related[0].filename, shown.related[0].location) == (tasks, Location(9, 5))
    (own,) = session.check(tasks).diagnostics
    assert (own.code, own.location, own.filename) == ("BGT003", Location(9, 5), tasks)
    assert session.same_project(tasks) == [tasks, routes]


def test_fixes_and_directives_are_the_command_lines(project: Path):
    session = Session(EditorOptions(), [str(project)])
    tasks = str(project / "app" / "tasks.py")
    session.texts[tasks] = TASKS
    fixed, problems = session.fixed_text(tasks)
    assert problems == [] and fixed is not None
    assert "import asyncio\n" in fixed and "    await asyncio.sleep(1)\n" in fixed
    (d,) = session.check(tasks).diagnostics
    assert session.with_fix(TASKS, d) == fixed
    assert session.with_noqa(tasks, 9, "BGT003") == TASKS.replace(
        "time.sleep(1)", "time.sleep(1)  # noqa: BGT003"
    )
    session.texts[tasks] = TASKS.replace("time.sleep(1)", "time.sleep(1)  # noqa: BGT003")
    assert session.with_noqa(tasks, 9, "BGT003") is None
    assert session.check(tasks).diagnostics == []


def test_documents_that_are_not_checked_say_why(project: Path):
    (project / "pyproject.toml").write_text(
        '[tool.bgtask-lint]\nmax-file-size = 50\nextend-exclude = ["generated"]\n'
    )
    session = Session(EditorOptions(), [str(project)])
    big, excluded = str(project / "app" / "big.py"), str(project / "generated" / "x.py")
    session.texts[big] = "x = 1\n" * 20
    session.texts[excluded] = "x = 1\n"
    assert session.check(big).problems == [
        f"{big}: not checked: 120 bytes, larger than `max-file-size` (50); "
        "raise it in the configuration to check this file"
    ]
    assert session.check(big).problems == []  # said once
    assert session.check(excluded).problems == [
        f"{excluded}: not checked: `exclude` in the configuration matches it"
    ]
    (project / "pyproject.toml").write_text("[tool.bgtask-lint]\nselect = [\n")
    session.reload()
    (problem,) = session.check(big).problems
    assert problem.startswith(f"{big}: not checked: ") and "pyproject.toml" in problem


def test_a_document_outside_the_workspace(tmp_path: Path):
    session = Session(EditorOptions(), [str(tmp_path / "elsewhere")])
    path = str(tmp_path / "loose.py")
    session.texts[path] = "import os\n"
    assert session.check(path).problems == [
        f"{path} is outside the workspace folders and no configuration applies to it: "
        "checked with the default settings"
    ]


def test_hover_finds_the_code_under_the_cursor():
    line = "    x = 1  # noqa: BGT003, bgt001"
    assert noqa_code_at(line, line.index("BGT003") + 3) == "BGT003"
    assert noqa_code_at(line, line.index("bgt001")) == "BGT001"
    assert noqa_code_at(line, 4) is None
    assert noqa_code_at("x = 1  # BGT003", 10) is None
    text = rule_hover("BGT005")
    assert text is not None and text.startswith("**BGT005** `injected-tasks-dropped`")
    assert text.endswith(
        "(https://github.com/bgtask-lint/bgtask-lint/blob/main/docs/rules/BGT005.md)"
    )
    assert rule_hover("BGT900") is None and rule_hover("E501") is None


def test_positions_count_the_agreed_code_units():
    types = pytest.importorskip("lsprotocol.types")
    from bgtask_lint.editor.protocol import Lines, replacing

    text = 'x = "😋é"; y\r\nz\n'
    at_y = Location(1, text.index("y") + 1)
    assert Lines(text, "utf-16").position(at_y) == types.Position(0, 11)
    assert Lines(text, "utf-8").position(at_y) == types.Position(0, 14)
    assert Lines(text, "utf-32").position(at_y) == types.Position(0, 10)
    assert Lines(text, "utf-16").character(types.Position(0, 11)) == 10
    assert Lines(text, "utf-16").position(Location(2, 2)) == types.Position(1, 1)
    (edit,) = replacing(text, text.replace("z\n", "w\nz\n"), "utf-16")
    assert (edit.range.start, edit.range.end) == (types.Position(1, 0), types.Position(1, 0))
    assert edit.new_text == "w\n"
    (edit,) = replacing("a\nb", "a\nc", "utf-16")
    assert (edit.range.start, edit.range.end, edit.new_text) == (
        types.Position(1, 0),
        types.Position(1, 1),
        "c",
    )


def test_the_command_line_does_not_load_the_lsp_extra(tmp_path: Path):
    (tmp_path / "ok.py").write_text("import os\n")
    script = (
        "import sys\n"
        "from bgtask_lint import cli\n"
        f"sys.argv = ['bgtask-lint', 'check', '--no-cache', {str(tmp_path / 'ok.py')!r}]\n"
        "try:\n"
        "    cli.main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('pygls' in sys.modules, 'lsprotocol' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "False False", out.stderr


def test_the_server_without_the_extra_says_how_to_install_it():
    script = (
        "import sys\n"
        "sys.modules['pygls'] = None\n"  # as if not installed
        "from bgtask_lint import cli\n"
        "sys.argv = ['bgtask-lint', 'server']\n"
        "cli.run()\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.startswith("bgtask-lint: error: the language server needs the `lsp` extra")
    assert out.stderr.rstrip().endswith("pip install 'bgtask-lint[lsp]'")


def test_what_files_import_is_kept_between_checks_until_they_change(
    project: Path, monkeypatch: pytest.MonkeyPatch
):
    from bgtask_lint.run import context

    context.remember_between_runs()
    try:
        session = Session(EditorOptions(), [str(project)])
        routes, tasks = project / "app" / "routes.py", str(project / "app" / "tasks.py")
        routes.write_text("import os\n")  # queues nothing
        session.texts[tasks] = TASKS
        assert session.check(tasks).diagnostics == []
        read: list[str] = []
        real = context.imported_modules
        monkeypatch.setattr(
            context, "imported_modules", lambda text, *a: read.append(text) or real(text, *a)
        )
        assert session.check(tasks).diagnostics == []
        assert read == []  # nothing changed on disk: nothing read again
        routes.write_text(ROUTES)  # saved in another editor: now it queues `notify`
        (d,) = session.check(tasks).diagnostics
        assert d.code == "BGT003" and read == [ROUTES]
    finally:
        context.remember_between_runs(False)
