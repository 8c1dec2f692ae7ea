"""The command line, run as a user runs it (in this process: conftest.run_cli;
test_process.py runs a handful of these as real processes)."""

from __future__ import annotations

import json
import textwrap

from conftest import FIXTURES, ROOT
from test_docs import SECTIONS

from bgtask_lint import __version__
from bgtask_lint.rules import ALL_RULES

BUGGY = textwrap.dedent(
    """\
    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()


    def send(x):
        print(x)


    @app.post("/")
    def create():
        tasks = BackgroundTasks()
        tasks.add_task(send, 1)
        return {}
    """
)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_version(cli):
    result = cli("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_console_script_is_installed():
    import shutil
    import subprocess

    exe = shutil.which("bgtask-lint")
    assert exe, "the bgtask-lint console script is not on PATH"
    assert subprocess.run([exe, "--version"], capture_output=True).returncode == 0


def test_findings_exit_1_and_full_output_shows_caret(cli, tmp_path):
    write(tmp_path, "app.py", BUGGY)
    result = cli("check", ".", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "BGT001" in result.stdout
    assert " --> app.py:12:13" in result.stdout
    assert "12 |     tasks = BackgroundTasks()" in result.stdout
    assert "   |             ^^^^^^^^^^^^^^^^^" in result.stdout
    assert "Found 1 error." in result.stdout


def test_clean_tree_exits_0(cli, tmp_path):
    write(tmp_path, "ok.py", "x = 1\n")
    result = cli("check", str(tmp_path))
    assert result.returncode == 0
    assert "All checks passed!" in result.stdout


def test_default_path_is_current_directory(cli, tmp_path):
    write(tmp_path, "pkg/app.py", BUGGY)
    result = cli("check", "--output-format", "concise", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("pkg/app.py:12:13: BGT001 ")


def test_exit_zero(cli, tmp_path):
    write(tmp_path, "app.py", BUGGY)
    assert cli("check", "--exit-zero", str(tmp_path)).returncode == 0


def test_select_ignore_extend_select(cli):
    fixture = str(FIXTURES / "BGT002.py")

    def codes(*args):
        result = cli("check", "--output-format", "json", *args, fixture)
        return {item["code"] for item in json.loads(result.stdout)}

    assert codes() == {"BGT002"}
    assert codes("--select", "BGT001,BGT003") == set()
    assert codes("--ignore", "BGT002") == set()
    assert codes("--select", "BGT001", "--extend-select", "BGT002") == {"BGT002"}
    assert codes("--ignore", "BGT", "--select", "BGT002") == {"BGT002"}


def test_unknown_selector_is_a_usage_error(cli, tmp_path):
    result = cli("check", "--select", "XYZ123", str(tmp_path))
    assert result.returncode == 2
    assert "unknown rule selector `XYZ123`" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_option_exits_2(cli):
    assert cli("check", "--no-such-option").returncode == 2


def test_statistics(cli):
    result = cli("check", "--statistics", str(FIXTURES / "BGT001.py"))
    assert result.returncode == 1
    assert "7\tBGT001\t[*] unattached-background-tasks" in result.stdout


def test_quiet_prints_findings_only(cli, tmp_path):
    write(tmp_path, "app.py", BUGGY)
    result = cli("check", "-q", "--output-format", "concise", str(tmp_path))
    assert "Found" not in result.stdout
    assert result.stdout.count("BGT001") == 1


def test_stdin_with_filename(cli, tmp_path):
    result = cli(
        "check",
        "-",
        "--stdin-filename",
        "routes/app.py",
        "--output-format",
        "concise",
        stdin=BUGGY,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stdout.startswith("routes/app.py:12:13: BGT001")


def test_stdin_honours_per_file_ignores(cli, tmp_path):
    write(
        tmp_path,
        "pyproject.toml",
        '[tool.bgtask-lint]\nper-file-ignores = { "legacy/*" = ["BGT001"] }\n',
    )
    result = cli("check", "-", "--stdin-filename", "legacy/app.py", stdin=BUGGY, cwd=tmp_path)
    assert result.returncode == 0, result.stdout


def test_rule_documentation(cli):
    result = cli("rule", "BGT001")
    assert result.returncode == 0
    assert result.stdout.startswith("# unattached-background-tasks (BGT001)")
    for section in SECTIONS:
        assert section in result.stdout
    assert cli("rule", "blocking-call-in-async-task").returncode == 0
    missing = cli("rule", "BGT999")
    assert missing.returncode == 2 and "unknown rule" in missing.stderr


def test_rules_catalogue_lists_every_rule(cli):
    result = cli("rules")
    assert result.returncode == 0
    for rule in ALL_RULES:
        assert rule.code in result.stdout and rule.name in result.stdout


def test_bundled_example_reports_every_planted_bug(cli):
    example = ROOT / "docs" / "examples"
    result = cli("check", "--output-format", "json", str(example))
    assert result.returncode == 1
    reported = {
        (item["filename"], item["location"]["row"], item["code"])
        for item in json.loads(result.stdout)
    }
    from conftest import expectations

    expected = set()
    for path in example.rglob("*.py"):
        for row, _, code in expectations(path.read_text(encoding="utf-8")):
            expected.add((str(path.resolve()), row, code))
    assert expected, "the example has no planted bugs"
    assert reported == expected


UNSAFE_ONLY = textwrap.dedent(
    """\
    import requests
    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()


    async def notify():
        requests.post("https://example.com")


    @app.post("/")
    def create(background_tasks: BackgroundTasks):
        background_tasks.add_task(notify)
    """
)


def test_check_marks_fixable_and_counts_them(cli, tmp_path):
    write(tmp_path, "app.py", BUGGY)
    write(tmp_path, "slow.py", UNSAFE_ONLY)
    result = cli("check", "--output-format", "concise", str(tmp_path))
    assert "BGT001 [*] " in result.stdout
    assert "BGT003 async task" in result.stdout  # unsafe: no [*] by default
    assert result.stdout.endswith(
        "Found 2 errors.\n[*] 1 fixable with `--fix` "
        "(1 unsafe fix available with `--fix --unsafe-fixes`).\n"
    )
    shown = cli("check", "--output-format", "concise", "--unsafe-fixes", str(tmp_path))
    assert "BGT003 [*] async task" in shown.stdout


def test_fix_rewrites_reports_remaining_and_exits_1(cli, tmp_path):
    app = write(tmp_path, "app.py", BUGGY)
    slow = write(tmp_path, "slow.py", UNSAFE_ONLY)
    result = cli("check", "--fix", str(tmp_path))
    assert result.returncode == 1
    assert "def create(tasks: BackgroundTasks):" in app.read_text()
    assert slow.read_text() == UNSAFE_ONLY
    assert result.stdout.endswith(
        "Found 2 errors (1 fixed, 1 remaining).\n"
        "1 unsafe fix available with `--fix --unsafe-fixes`.\n"
    )


def test_fix_with_nothing_left_exits_0_unless_asked(cli, tmp_path):
    app = write(tmp_path, "app.py", BUGGY)
    result = cli("check", "--fix", str(tmp_path))
    assert result.returncode == 0
    assert "Found 1 error (1 fixed, 0 remaining)." in result.stdout
    app.write_text(BUGGY)
    assert cli("check", "--fix", "--exit-non-zero-on-fix", str(tmp_path)).returncode == 1
    assert cli("check", "--fix", "--exit-non-zero-on-fix", str(tmp_path)).returncode == 0


def test_unsafe_fixes(cli, tmp_path):
    slow = write(tmp_path, "slow.py", UNSAFE_ONLY)
    result = cli("check", "--fix", "--unsafe-fixes", str(tmp_path))
    assert result.returncode == 0
    assert "\ndef notify():" in slow.read_text()


def test_diff_prints_and_writes_nothing(cli, tmp_path):
    app = write(tmp_path, "app.py", BUGGY)
    result = cli("check", "--diff", "app.py", cwd=tmp_path)
    assert result.returncode == 1
    assert app.read_text() == BUGGY
    assert result.stdout.startswith("--- app.py\n+++ app.py\n@@ ")
    assert (
        "-def create():\n-    tasks = BackgroundTasks()\n+def create(tasks: BackgroundTasks):\n"
        in result.stdout
    )
    assert "Would fix 1 error." in result.stderr
    write(tmp_path, "app.py", "x = 1\n")
    clean = cli("check", "--diff", "app.py", cwd=tmp_path)
    assert clean.returncode == 0 and clean.stdout == ""


def test_fix_on_stdin_prints_the_fixed_source(cli, tmp_path):
    result = cli("check", "--fix", "-", "--stdin-filename", "app.py", stdin=BUGGY, cwd=tmp_path)
    assert result.returncode == 0
    assert "def create(tasks: BackgroundTasks):" in result.stdout
    assert "BackgroundTasks()" not in result.stdout
    assert "Found 1 error (1 fixed, 0 remaining)." in result.stderr


def test_json_output_carries_the_fix(cli, tmp_path):
    write(tmp_path, "app.py", BUGGY)
    result = cli("check", "--output-format", "json", str(tmp_path))
    (item,) = json.loads(result.stdout)
    assert item["fix"]["applicability"] == "safe"
    assert item["fix"]["message"] == "Inject `BackgroundTasks` into the route and use it"
    assert item["fix"]["edits"]
