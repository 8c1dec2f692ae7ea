"""[tool.bgtask-lint]: discovery, every key, and clear errors (exit 2) for bad ones."""

from __future__ import annotations

import json
import os

import pytest

BUG = "from fastapi import BackgroundTasks\ndef f():\n    BackgroundTasks().add_task(print)\n"
SLOW = (
    "from fastapi import BackgroundTasks\n"
    "from mylib.mail import send_sync\n"
    "async def task():\n"
    "    send_sync()\n"
    "def route(bt: BackgroundTasks):\n"
    "    bt.add_task(task)\n"
)


def project(tmp_path, config, files):
    (tmp_path / "pyproject.toml").write_text("[tool.bgtask-lint]\n" + config)
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def codes(cli, cwd, *args):
    result = cli("check", "--output-format", "json", *args, cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return sorted(
        (item["filename"].rsplit("/", 1)[-1], item["code"]) for item in json.loads(result.stdout)
    )


def test_select_and_ignore(cli, tmp_path):
    project(tmp_path, 'ignore = ["BGT001"]\n', {"a.py": BUG})
    assert codes(cli, tmp_path) == []
    assert codes(cli, tmp_path, "--select", "BGT001") == [("a.py", "BGT001")]


def test_extend_select_after_narrow_select(cli, tmp_path):
    project(tmp_path, 'select = ["BGT003"]\nextend-select = ["BGT001"]\n', {"a.py": BUG})
    assert codes(cli, tmp_path) == [("a.py", "BGT001")]


def test_a_negated_per_file_ignore_applies_to_files_it_does_not_match(cli, tmp_path):
    """`"!app/*"` was accepted and matched nothing; as in ruff it ignores the
    codes everywhere but under app/."""
    project(
        tmp_path,
        '[tool.bgtask-lint.per-file-ignores]\n"!app/*" = ["BGT001"]\n',
        {"tests/test_a.py": BUG, "app/a.py": BUG},
    )
    assert codes(cli, tmp_path) == [("a.py", "BGT001")]
    found = cli("check", "--output-format", "json", "tests", "app", cwd=tmp_path)
    assert [os.path.basename(i["filename"]) for i in json.loads(found.stdout)] == ["a.py"]


def test_per_file_ignores(cli, tmp_path):
    project(
        tmp_path,
        '[tool.bgtask-lint.per-file-ignores]\n"tests/*" = ["BGT001"]\n',
        {"tests/test_a.py": BUG, "app/a.py": BUG},
    )
    assert codes(cli, tmp_path) == [("a.py", "BGT001")]


def test_exclude_and_extend_exclude(cli, tmp_path):
    project(
        tmp_path,
        'extend-exclude = ["migrations", "scripts/*.py"]\n',
        {"migrations/m.py": BUG, "scripts/s.py": BUG, "app.py": BUG, "build/b.py": BUG},
    )
    assert codes(cli, tmp_path) == [("app.py", "BGT001")]


def test_explicit_path_is_checked_unless_force_exclude(cli, tmp_path):
    project(tmp_path, 'extend-exclude = ["legacy.py"]\n', {"legacy.py": BUG})
    assert codes(cli, tmp_path, "legacy.py") == [("legacy.py", "BGT001")]
    assert codes(cli, tmp_path, "--force-exclude", "legacy.py") == []


def test_extra_blocking_calls(cli, tmp_path):
    project(tmp_path, "", {"a.py": SLOW})
    assert codes(cli, tmp_path) == []
    project(tmp_path, 'extra-blocking-calls = ["mylib.mail.send_sync"]\n', {"a.py": SLOW})
    assert codes(cli, tmp_path) == [("a.py", "BGT003")]


def test_nearest_pyproject_wins(cli, tmp_path):
    project(tmp_path, 'ignore = ["BGT001"]\n', {"a.py": BUG, "sub/b.py": BUG})
    (tmp_path / "sub" / "pyproject.toml").write_text('[tool.bgtask-lint]\nselect = ["ALL"]\n')
    assert codes(cli, tmp_path) == [("b.py", "BGT001")]


def test_pyproject_without_our_table_is_skipped(cli, tmp_path):
    project(tmp_path, 'ignore = ["BGT001"]\n', {"sub/b.py": BUG})
    (tmp_path / "sub" / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    assert codes(cli, tmp_path) == []


def test_config_option(cli, tmp_path):
    (tmp_path / "a.py").write_text(BUG)
    (tmp_path / "other.toml").write_text('[tool.bgtask-lint]\nignore = ["BGT001"]\n')
    assert codes(cli, tmp_path, "--config", "other.toml") == []


@pytest.mark.parametrize(
    "config, message",
    [
        ('selct = ["BGT001"]\n', "unknown key `selct`"),
        ('select = "BGT001"\n', "`select` in [tool.bgtask-lint]"),
        ('ignore = ["BGT1234"]\n', "unknown rule selector `BGT1234`"),
        ("per-file-ignores = 3\n", "`per-file-ignores`"),
        ('per-file-ignores = { "a.py" = [1] }\n', "per-file-ignores.a.py"),
        ("extra-blocking-calls = [1]\n", "`extra-blocking-calls`"),
        ("select = [\n", "is not valid TOML"),
        ('src = "lib"\n', "`src` in [tool.bgtask-lint]"),
        ("max-call-depth = -1\n", "`max-call-depth`"),
        ('max-call-depth = "4"\n', "`max-call-depth`"),
    ],
)
def test_bad_configuration_exits_2_with_a_clear_message(cli, tmp_path, config, message):
    project(tmp_path, config, {"a.py": BUG})
    result = cli("check", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_missing_config_file_exits_2(cli, tmp_path):
    result = cli("check", "--config", str(tmp_path / "nope.toml"), str(tmp_path))
    assert result.returncode == 2
    assert "cannot read" in result.stderr


def test_excluded_ancestor_of_a_named_directory_does_not_hide_it(cli, tmp_path):
    # `bgtask-lint check .venv/lib/site-packages` checks what it is asked to,
    # while `bgtask-lint check .` skips the virtualenv.
    project(tmp_path, "", {".venv/lib/pkg/a.py": BUG, "app.py": "x = 1\n"})
    assert codes(cli, tmp_path, ".venv/lib/pkg") == [("a.py", "BGT001")]
    assert codes(cli, tmp_path, ".") == []
    assert codes(cli, tmp_path, "--force-exclude", ".venv/lib/pkg/a.py") == []


SESSION_IN_TASK = (
    "from fastapi import BackgroundTasks, Depends, FastAPI\n"
    "app = FastAPI()\n"
    "def get_db():\n"
    "    db = object()\n"
    "    yield db\n"
    "    db.close()\n"
    "def save(db): ...\n"
    "@app.post('/')\n"
    "def create(tasks: BackgroundTasks, db=Depends(get_db)):\n"
    "    tasks.add_task(save, db)\n"
)


def severities(cli, cwd):
    result = cli("check", "--output-format", "json", ".", cwd=cwd)
    assert result.returncode == 1, result.stderr
    return [(item["code"], item["severity"], item["message"]) for item in json.loads(result.stdout)]


def test_target_fastapi_in_the_broken_range_is_an_error(cli, tmp_path):
    project(tmp_path, 'target-fastapi = "0.110"\n', {"app.py": SESSION_IN_TASK})
    [(code, severity, message)] = severities(cli, tmp_path)
    assert (code, severity) == ("BGT009", "error")
    assert "and this project is on FastAPI 0.110 (`target-fastapi`)" in message


def test_target_fastapi_outside_the_broken_range_is_not_reported(cli, tmp_path):
    project(tmp_path, 'target-fastapi = "0.120.1"\n', {"app.py": SESSION_IN_TASK})
    assert codes(cli, tmp_path, ".") == []
    assert cli("check", ".", cwd=tmp_path).returncode == 0


def test_portability_reports_what_the_version_makes_safe_as_warnings(cli, tmp_path):
    config = 'target-fastapi = "0.120.1"\nportability = true\n'
    project(tmp_path, config, {"app.py": SESSION_IN_TASK})
    [(_, severity, message)] = severities(cli, tmp_path)
    assert severity == "warning"
    assert "fine on FastAPI 0.120.1 (`target-fastapi`), but FastAPI 0.106 to 0.117" in message
    bad = project(tmp_path, "portability = 1\n", {})
    result = cli("check", ".", cwd=bad)
    assert result.returncode == 2 and "`portability`" in result.stderr


def test_unknown_version_is_a_warning_naming_the_broken_versions(cli, tmp_path):
    project(tmp_path, "", {"app.py": SESSION_IN_TASK})
    [(_, severity, message)] = severities(cli, tmp_path)
    assert severity == "warning"
    assert "set `target-fastapi` or pin fastapi to know" in message


def test_the_projects_own_pin_is_read_and_named(cli, tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "shop"\ndependencies = ["fastapi[standard]==0.112.1", "httpx"]\n'
    )
    (tmp_path / "app.py").write_text(SESSION_IN_TASK)
    [(_, severity, message)] = severities(cli, tmp_path)
    assert severity == "error"
    assert "this project is on `fastapi==0.112.1` (pyproject.toml)" in message


def test_a_pin_that_allows_broken_and_safe_versions_is_a_warning(cli, tmp_path):
    (tmp_path / "requirements.txt").write_text("uvicorn\nfastapi>=0.108,<0.200  # web\n")
    (tmp_path / "app.py").write_text(SESSION_IN_TASK)
    [(_, severity, message)] = severities(cli, tmp_path)
    assert severity == "warning"
    assert "`fastapi>=0.108,<0.200` (requirements.txt) allows those versions" in message


def test_each_service_is_judged_by_its_own_pin(cli, tmp_path):
    """One run over a repository of two services, pinned in their docker
    folders and a lock file: each file gets the pin nearest it."""
    (tmp_path / ".git").mkdir()
    files = {
        "billing/app.py": SESSION_IN_TASK,
        "billing/docker/requirements.txt": "fastapi==0.110.0\n",
        "search/app.py": SESSION_IN_TASK,
        "search/uv.lock": '[[package]]\nname = "fastapi"\nversion = "0.120.0"\n',
        "search/requirements.txt": "fastapi>=0.100\n",
    }
    project(tmp_path, "", files)
    [(code, severity, message)] = severities(cli, tmp_path)
    assert (code, severity) == ("BGT009", "error")
    assert "`fastapi==0.110.0` (billing/docker/requirements.txt)" in message
    # The cache keys on the pin: a new pin is a new verdict.
    (tmp_path / "search" / "uv.lock").write_text(
        '[[package]]\nname = "fastapi"\nversion = "0.115.0"\n'
    )
    assert [c for c, _, _ in severities(cli, tmp_path)] == ["BGT009", "BGT009"]


def test_bad_target_fastapi_exits_2(cli, tmp_path):
    project(tmp_path, 'target-fastapi = "latest"\n', {"app.py": SESSION_IN_TASK})
    result = cli("check", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "`target-fastapi`" in result.stderr and "'latest'" in result.stderr


def test_unused_noqa_runs_only_when_selected(tmp_path):
    """As ruff's RUF100: BGT100 is not among the default rules."""
    from bgtask_lint.api import check_paths
    from bgtask_lint.config.settings import Overrides

    path = tmp_path / "a.py"
    path.write_text("x = 1  # noqa: BGT003\n")
    assert check_paths([path]).diagnostics == []
    for overrides in (Overrides(extend_select=("BGT100",)), Overrides(select=("ALL",))):
        assert [d.code for d in check_paths([path], overrides).diagnostics] == ["BGT100"]
    (tmp_path / "pyproject.toml").write_text('[tool.bgtask-lint]\nextend-select = ["BGT100"]\n')
    assert [d.code for d in check_paths([path]).diagnostics] == ["BGT100"]


FAILING_FIRST_TASK = (
    "import requests\n"
    "from fastapi import BackgroundTasks\n"
    "def notify(url):\n"
    "    requests.post(url)\n"
    "def audit(x): ...\n"
    "def route(bt: BackgroundTasks):\n"
    "    bt.add_task(notify, 'http://x')\n"
    "    bt.add_task(audit, 1)\n"
)


def test_preview_rules_run_with_preview_or_their_own_code(tmp_path):
    """Ruff's preview convention: BGT014 is off by default and `ALL` or a
    prefix does not turn it on; `--preview`, `preview = true`, or its exact
    code does."""
    from bgtask_lint.api import check_paths
    from bgtask_lint.config.settings import Overrides

    path = tmp_path / "app.py"
    path.write_text(FAILING_FIRST_TASK)

    def codes(overrides=None):
        return [d.code for d in check_paths([path], overrides or Overrides()).diagnostics]

    assert codes() == []
    assert codes(Overrides(select=("ALL",))) == []
    assert codes(Overrides(select=("BGT0",))) == []
    assert codes(Overrides(select=("BGT014",))) == ["BGT014"]
    assert codes(Overrides(extend_select=("BGT014",))) == ["BGT014"]
    assert codes(Overrides(preview=True)) == ["BGT014"]
    assert codes(Overrides(preview=True, ignore=("BGT014",))) == []
    (tmp_path / "pyproject.toml").write_text("[tool.bgtask-lint]\npreview = true\n")
    assert codes() == ["BGT014"]
    assert codes(Overrides(preview=False)) == []


def test_preview_flag_and_bad_preview_value(cli, tmp_path):
    (tmp_path / "app.py").write_text(FAILING_FIRST_TASK)
    assert cli("check", "--no-cache", ".", cwd=tmp_path).returncode == 0
    result = cli("check", "--no-cache", "--preview", ".", cwd=tmp_path)
    assert result.returncode == 1 and "BGT014" in result.stdout
    (tmp_path / "pyproject.toml").write_text("[tool.bgtask-lint]\npreview = 5\n")
    result = cli("check", "--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "`preview`" in result.stderr and "true or false" in result.stderr


ROUTE_WITH_A_CHAIN = (
    "from fastapi import BackgroundTasks, FastAPI\n"
    "from b.jobs import job\n"
    "app = FastAPI()\n"
    "@app.post('/')\n"
    "async def r(bt: BackgroundTasks):\n"
    "    bt.add_task(job)\n"
)


@pytest.mark.parametrize(
    "broken", ["tool = 5\n", "[tool]\nbgtask-lint = 3\n", "[tool.bgtask-lint]\nnope = 1\n"]
)
def test_a_broken_config_of_files_not_checked_does_not_stop_the_run(cli, tmp_path, broken):
    """`check a` read b/pyproject.toml (`tool = 5`) while walking the project
    for context and stopped with exit 2. A configuration is validated only
    when it applies to a checked file: checking b's file still fails."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "__init__.py").write_text("")
    (tmp_path / "a" / "routes.py").write_text(ROUTE_WITH_A_CHAIN)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "__init__.py").write_text("")
    (tmp_path / "b" / "jobs.py").write_text("import time\nasync def job():\n    time.sleep(1)\n")
    (tmp_path / "b" / "pyproject.toml").write_text(broken)
    result = cli("check", "--output-format", "json", "a", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    # The chain is still followed into b: its blocking call is reported.
    assert [item["code"] for item in json.loads(result.stdout)] == ["BGT003"]
    for named in (["."], ["a", "b/jobs.py"]):
        failed = cli("check", *named, cwd=tmp_path)
        assert failed.returncode == 2
        assert failed.stderr.count("\n") == 1 and "b/pyproject.toml" in failed.stderr


UNATTACHED_IN_A_TEST = """from fastapi import BackgroundTasks

from app.views import create


def send(to):
    pass


def test_create():
    tasks = BackgroundTasks()
    create(tasks)
    tasks.add_task(send("a@example.com"))
"""


def _codes_by_file(cli, root, *extra):
    result = cli("check", "--output-format", "json", "--exit-zero", *extra, ".", cwd=root)
    found = {}
    for item in json.loads(result.stdout):
        name = os.path.relpath(item["filename"], root).replace(os.sep, "/")
        found.setdefault(name, set()).add(item["code"])
    return found


def test_bgt001_is_not_reported_in_test_code_but_every_other_rule_is(cli, tmp_path):
    """A test builds `BackgroundTasks()` to call a view function directly:
    BGT001 stays quiet under tests/, in test_*.py, *_test.py and conftest.py,
    and reports in application code; the task called instead of passed
    (BGT004) is reported everywhere; `test-code` says what is test code."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n')
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "views.py").write_text("def create(tasks):\n    pass\n")
    files = ["tests/test_views.py", "tests/helpers.py", "conftest.py", "app/test_x.py"]
    files += ["app/x_test.py", "app/jobs.py"]
    for name in files:
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(UNATTACHED_IN_A_TEST)
    found = _codes_by_file(cli, tmp_path)
    assert found == {name: {"BGT004"} for name in files[:-1]} | {
        "app/jobs.py": {"BGT001", "BGT004"}
    }
    # Only tests/ is test code here; `test-code = []` makes none.
    only_tests = _codes_by_file(cli, tmp_path, "--config", 'test-code = ["tests"]')
    assert {n for n, codes in only_tests.items() if "BGT001" not in codes} == {
        "tests/test_views.py",
        "tests/helpers.py",
    }
    none = _codes_by_file(cli, tmp_path, "--config", "test-code = []")
    assert all("BGT001" in codes for codes in none.values())
    # per-file-ignores go on as before, over test code and the rest.
    ignored = _codes_by_file(cli, tmp_path, "--extend-per-file-ignores", "jobs.py:BGT001")
    assert ignored["app/jobs.py"] == {"BGT004"}


def test_test_code_must_be_a_list_of_patterns(cli, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.bgtask-lint]\ntest-code = "tests"\n')
    (tmp_path / "a.py").write_text("x = 1\n")
    result = cli("check", ".", cwd=tmp_path)
    assert result.returncode == 2 and "test-code" in result.stderr


def test_a_pyproject_is_parsed_once_for_settings_pins_and_line_length(tmp_path, monkeypatch):
    """The settings, the FastAPI pin and the formatter's line length all
    come from one pyproject.toml: TOML is parsed in Python, so it is parsed
    once."""
    from conftest import run_cli

    from bgtask_lint.config import documents

    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "app"\ndependencies = ["fastapi==0.110.0"]\n\n'
        "[tool.ruff]\nline-length = 100\n\n"
        '[tool.bgtask-lint]\nextend-select = ["BGT"]\n'
    )
    (tmp_path / "app.py").write_text(
        "from fastapi import BackgroundTasks\ndef f():\n    BackgroundTasks().add_task(print)\n"
    )
    parsed: list[str] = []
    real_load, real_loads = documents.tomllib.load, documents.tomllib.loads

    def load(handle):
        parsed.append(handle.name)
        return real_load(handle)

    def loads(text):
        parsed.append(text)
        return real_loads(text)

    monkeypatch.setattr(documents.tomllib, "load", load)
    monkeypatch.setattr(documents.tomllib, "loads", loads)
    result = run_cli("check", "--show-settings", "app.py", cwd=tmp_path)
    assert "line-length = 100" in result.stdout and "fastapi==0.110.0" in result.stdout
    assert parsed == [str(tmp_path / "pyproject.toml")]
