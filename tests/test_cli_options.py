"""Options a ruff user reaches for: --fix-only, --no-fix, --show-fixes,
--extend-per-file-ignores, --target-fastapi, BGTASK_LINT_OUTPUT_FORMAT. Run
in-process with click's CliRunner (the subprocess tests are in test_cli.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from bgtask_lint import api
from bgtask_lint.cli import main
from bgtask_lint.rules import RULE_CODES

FIXABLE = FIXTURES / "BGT001.py"


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BGTASK_LINT_NO_CACHE", "1")
    (tmp_path / "pyproject.toml").write_text("")
    shutil.copy(FIXABLE, tmp_path / "app.py")
    return tmp_path / "app.py"


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["check", *args], env=env, catch_exceptions=False)


def run_command(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_fix_only_fixes_and_reports_nothing_else(app):
    before = app.read_text()
    result = run("--fix-only", "app.py")
    assert result.exit_code == 0
    assert result.output == "Fixed 4 errors.\n"
    assert app.read_text() != before
    assert run("--fix-only", "app.py").output == "No errors fixed.\n"
    app.write_text(before)
    assert run("--fix-only", "--exit-non-zero-on-fix", "app.py").exit_code == 1


def test_no_fix_wins_over_fix(app):
    before = app.read_text()
    result = run("--fix", "--no-fix", "app.py")
    assert result.exit_code == 1 and app.read_text() == before


def test_show_fixes_lists_them_per_file_and_rule(app):
    result = run("--fix", "--show-fixes", "--output-format", "concise", "app.py")
    assert (
        "Fixed 4 errors:\n- app.py:\n"
        "    4 \N{MULTIPLICATION SIGN} BGT001 (unattached-background-tasks)\n" in result.output
    )
    assert "Fixed 4 errors:" not in run("--fix", "--no-show-fixes", "app.py").output


def test_extend_per_file_ignores(app):
    assert run("app.py").exit_code == 1
    assert run("--extend-per-file-ignores", "app*.py:BGT001", "app.py").exit_code == 0
    assert run("--extend-per-file-ignores", "other.py:BGT001", "app.py").exit_code == 1
    bad = run("--extend-per-file-ignores", "app.py:NOPE1", "app.py")
    assert bad.exit_code == 2 and "NOPE1" in bad.output


def test_target_fastapi_decides_the_severity(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(FIXTURES / "BGT009.py", tmp_path / "app.py")
    (tmp_path / "pyproject.toml").write_text("")

    def severities(*args: str) -> set[str]:
        found = json.loads(run("--output-format", "json", *args, "app.py").output)
        return {
            d["severity"] for d in found if d["code"] == "BGT009" and d["location"]["row"] == 74
        }

    assert severities() == {"warning"}
    assert severities("--target-fastapi", "0.110") == {"error"}
    assert severities("--target-fastapi", "0.120") == set()  # safe there: not reported
    assert severities("--target-fastapi", "0.120", "--config", "portability = true") == {"warning"}
    bad = run("--target-fastapi", "soon", "app.py")
    assert bad.exit_code == 2 and "--target-fastapi" in bad.output


def test_target_starlette_decides_the_middleware_form(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = (FIXTURES / "BGT006_middleware.py").read_text(encoding="utf-8")
    (tmp_path / "app.py").write_text(source.replace("# fixture-config:", "#"))
    (tmp_path / "pyproject.toml").write_text("")

    def found(*args: str) -> int:
        reported = json.loads(run("--output-format", "json", *args, "app.py").output)
        return sum(d["code"] == "BGT006" for d in reported)

    assert found() == 0  # unknown version: the middleware form is harmless elsewhere
    assert found("--target-starlette", "0.38.3") == 3
    assert found("--target-starlette", "0.38.5") == 0
    assert found("--config", "target-starlette = '0.38.4'") == 3
    (tmp_path / "pyproject.toml").write_text('[project]\ndependencies = ["starlette==0.38.4"]\n')
    # One process here, as in `--watch`: what earlier runs read is forgotten.
    api.forget_what_was_read()
    assert found() == 3  # the project's own pin
    (tmp_path / "pyproject.toml").write_text('[project]\ndependencies = ["starlette>=0.30"]\n')
    api.forget_what_was_read()
    assert found() == 0  # 0.38.3 is allowed, but so is every later release
    assert found("--config", "portability = true") == 3
    bad = run("--target-starlette", "soon", "app.py")
    assert bad.exit_code == 2 and "--target-starlette" in bad.output


def test_output_format_from_the_environment(app):
    concise = run("app.py", env={"BGTASK_LINT_OUTPUT_FORMAT": "concise"})
    assert concise.output.startswith("app.py:")
    as_json = run("app.py", env={"BGTASK_LINT_OUTPUT_FORMAT": "json"})
    assert json.loads(as_json.output)[0]["code"] == "BGT001"
    # The command line wins.
    assert run(
        "--output-format", "concise", "app.py", env={"BGTASK_LINT_OUTPUT_FORMAT": "json"}
    ).output.startswith("app.py:")


def test_config_key_value_overrides(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(FIXTURES / "BGT009.py", tmp_path / "app.py")
    (tmp_path / "pyproject.toml").write_text('[tool.bgtask-lint]\nselect = ["BGT001"]\n')
    assert json.loads(run("--output-format", "json", "app.py").output) == []
    found = run("--output-format", "json", "--config", "select = ['BGT009']", "app.py")
    rows = {(d["code"], d["severity"]) for d in json.loads(found.output)}
    assert rows == {("BGT009", "warning"), ("BGT009", "error")}
    pinned = run(
        "--output-format",
        "json",
        "--config",
        "select = ['BGT009']",
        "--config",
        "target-fastapi = '0.110'",
        "app.py",
    )
    assert {d["severity"] for d in json.loads(pinned.output)} == {"error"}
    bad = run("--config", "selct = ['BGT009']", "app.py")
    assert bad.exit_code == 2 and "unknown key `selct` in --config" in bad.output
    broken = run("--config", "select = [", "app.py")
    assert broken.exit_code == 2 and "neither a file nor valid TOML" in broken.output


def test_config_file_without_our_table_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "other.toml").write_text("[tool.black]\nline-length = 99\n")
    (tmp_path / "app.py").write_text("x = 1\n")
    result = run("--config", "other.toml", "app.py")
    assert result.exit_code == 2 and "has no [tool.bgtask-lint] table" in result.output


def test_dedicated_configuration_file(tmp_path, monkeypatch):
    """`bgtask-lint.toml` (or `.bgtask-lint.toml`) holds the settings at top
    level and wins over pyproject.toml in the same directory, as ruff.toml does."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BGTASK_LINT_NO_CACHE", "1")
    shutil.copy(FIXABLE, tmp_path / "app.py")
    (tmp_path / "pyproject.toml").write_text('[tool.bgtask-lint]\nselect = ["BGT001"]\n')
    assert run("app.py").exit_code == 1
    (tmp_path / "bgtask-lint.toml").write_text('select = ["BGT003"]\n')
    assert run("app.py").exit_code == 0
    (tmp_path / ".bgtask-lint.toml").write_text('ignore = ["BGT003"]\nselect = ["BGT001"]\n')
    assert run("app.py").exit_code == 1
    (tmp_path / ".bgtask-lint.toml").write_text("[tool.bgtask-lint]\n")
    bad = run("app.py")
    assert bad.exit_code == 2 and "unknown key `tool`" in bad.output
    assert run("--config", "bgtask-lint.toml", "app.py").exit_code == 0


def test_rule_by_code_by_name_and_all():
    by_code = run_command("rule", "BGT001")
    assert by_code.exit_code == 0 and by_code.output.startswith("# unattached-background-tasks")
    assert run_command("rule", "unattached-background-tasks").output == by_code.output
    everything = run_command("rule", "--all").output
    assert everything.count("## What it does") == len(RULE_CODES)
    assert run_command("rule").exit_code == 2  # neither a rule nor --all
    assert run_command("rule", "BGT001", "--all").exit_code == 2
    assert run_command("rule", "nope").exit_code == 2


def test_rule_and_rules_as_json():
    one = json.loads(run_command("rule", "BGT100", "--output-format", "json").output)
    assert one["code"] == "BGT100" and one["enabled_by_default"] is False
    assert one["explanation"].startswith("# unused-noqa (BGT100)")
    catalogue = json.loads(run_command("rules", "--output-format", "json").output)
    assert [entry["code"] for entry in catalogue] == sorted(RULE_CODES)
    assert {entry["fix"] for entry in catalogue} <= {
        "Fix is always available.",
        "Fix is sometimes available.",
        "Fix is not available.",
    }
    every = json.loads(run_command("rule", "--all", "--output-format", "json").output)
    assert [entry["code"] for entry in every] == sorted(RULE_CODES)


def test_statistics_as_json(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(FIXTURES / "BGT003.py", tmp_path / "app.py")
    (tmp_path / "pyproject.toml").write_text("")
    result = run("--statistics", "--output-format", "json", "app.py")
    assert result.exit_code == 1
    assert json.loads(result.output) == [
        {"code": "BGT003", "name": "blocking-call-in-async-task", "count": 9, "fixable": True}
    ]


def test_help_says_which_files_get_a_syntax_error(tmp_path, monkeypatch):
    assert "syntax error is reported (BGT900) in those files only" in " ".join(
        run("--help").output.split()
    )
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "unrelated.py").write_text("def broken(:\n")
    (tmp_path / "tasks.py").write_text("from fastapi import BackgroundTasks\ndef broken(:\n")
    result = run("--output-format", "concise", ".")
    assert "tasks.py:" in result.output and "BGT900" in result.output
    assert "unrelated.py" not in result.output


def test_ruffs_short_flags(cli, tmp_path):
    """-e (--exit-zero), -n (--no-cache), -o (--output-file), as in ruff; -w is --watch."""
    (tmp_path / "a.py").write_text(
        "from fastapi import BackgroundTasks\ndef f():\n    BackgroundTasks().add_task(print)\n"
    )
    result = cli("check", "-e", "-n", "-o", "report.txt", "a.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "BGT001" in (tmp_path / "report.txt").read_text()
    assert "-w, --watch" in cli("check", "--help").stdout


# --- the ruff habits of issue "Hardening", item 11: flags and config keys


def configure(app, text: str) -> None:
    (app.parent / "pyproject.toml").write_text("[tool.bgtask-lint]\n" + text)


def test_fix_in_the_configuration_fixes_unless_no_fix_is_given(app):
    configure(app, "fix = true\n")
    before = app.read_text()
    assert run("--no-fix", "app.py").exit_code == 1 and app.read_text() == before
    result = run("app.py")
    assert app.read_text() != before, result.output
    assert "fixed" in result.output


def test_output_format_in_the_configuration_is_the_default_format(app):
    configure(app, 'output-format = "json"\n')
    assert json.loads(run("app.py").output)[0]["code"] == "BGT001"
    assert run("--output-format", "concise", "app.py").output.startswith("app.py:")
    configure(app, 'output-format = "xml"\n')
    result = run("app.py")
    assert result.exit_code == 2
    assert "`output-format` in [tool.bgtask-lint]" in result.output


def test_unfixable_codes_are_neither_applied_nor_offered(app):
    configure(app, 'unfixable = ["BGT001"]\n')
    before = app.read_text()
    report = json.loads(run("--fix", "--output-format", "json", "app.py").output)
    assert app.read_text() == before
    assert report and all(d["fix"] is None for d in report if d["code"] == "BGT001")
    configure(app, 'fixable = ["BGT002"]\n')
    run("--fix", "app.py")
    assert app.read_text() == before
    configure(app, 'unfixable = ["BGT00"]\nfixable = ["BGT001"]\n')  # the more specific wins
    run("--fix", "app.py")
    assert app.read_text() != before


def test_extend_builds_on_a_shared_base_configuration(app):
    base = app.parent / "shared" / "base.toml"
    base.parent.mkdir()
    base.write_text('ignore = ["BGT001"]\nextend-exclude = ["generated"]\n')
    configure(app, 'extend = "shared/base.toml"\nextend-exclude = ["legacy"]\n')
    assert run("app.py").exit_code == 0  # the base's ignore holds
    shown = run("--show-settings", "app.py").output
    assert 'extend-exclude = ["generated", "legacy"]' in shown
    configure(app, 'extend = "shared/base.toml"\nextend-select = ["BGT001"]\n')
    assert run("app.py").exit_code == 1  # what extends it may take it back
    base.write_text('extend = "../pyproject.toml"\n')
    result = run("app.py")
    assert result.exit_code == 2 and "makes a loop" in result.output
    base.unlink()
    result = run("app.py")
    assert result.exit_code == 2 and "cannot read" in result.output


def test_cache_dir_flag_and_setting_place_the_cache(app, monkeypatch):
    monkeypatch.delenv("BGTASK_LINT_NO_CACHE")
    run("--cache-dir", "elsewhere", "app.py")
    assert (app.parent / "elsewhere").is_dir()
    assert not (app.parent / ".bgtask_lint_cache").exists()
    configure(app, 'cache-dir = "configured"\n')
    run("app.py")
    assert (app.parent / "configured").is_dir()
    run("app.py", env={"BGTASK_LINT_CACHE_DIR": "from-env"})
    assert (app.parent / "from-env").is_dir()


def test_exclude_and_extend_exclude_flags(app):
    (app.parent / "legacy").mkdir()
    shutil.copy(app, app.parent / "legacy" / "old.py")
    listed = run("--show-files", ".").output.splitlines()
    assert listed == sorted([str(app), str(app.parent / "legacy" / "old.py")])
    assert run("--show-files", "--extend-exclude", "legacy", ".").output.splitlines() == [str(app)]
    assert run("--show-files", "--exclude", "app.py,other", ".").output.splitlines() == [
        str(app.parent / "legacy" / "old.py")
    ]
    # --exclude replaces the defaults: a .venv is walked again.
    (app.parent / ".venv").mkdir()
    shutil.copy(app, app.parent / ".venv" / "v.py")
    assert str(app.parent / ".venv" / "v.py") in run("--show-files", "--exclude", "x", ".").output
    assert str(app.parent / ".venv" / "v.py") not in run("--show-files", ".").output


def test_show_files_names_a_file_given_alone_and_checks_nothing(app):
    app.write_text("this is not python(\n")
    result = run("--show-files", "app.py")
    assert result.exit_code == 0 and result.output == f"{app}\n"
    result = run("--show-files", "missing.py")
    assert result.exit_code == 2 and "missing.py: No such file" in result.output


def test_show_settings_shows_what_the_file_is_checked_with(app):
    configure(app, 'ignore = ["BGT003"]\ntarget-fastapi = "0.115"\n')
    result = run("--show-settings", "--extend-select", "BGT100", "app.py")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == f'Resolved settings for: "{app}"'
    assert lines[1] == f'Settings path: "{app.parent / "pyproject.toml"}"'
    enabled = json.loads(next(line for line in lines if line.startswith("enabled = "))[10:])
    assert "BGT003" not in enabled and {"BGT001", "BGT100"} <= set(enabled)
    assert 'target-fastapi = "0.115"' in lines
    (app.parent / "pyproject.toml").write_text("")
    assert "Settings path: none (the defaults)" in run("--show-settings", "app.py").output


def test_check_options_take_the_command_line_then_the_configuration_then_defaults(tmp_path):
    """One frozen value goes from the command line to the API; what it
    leaves open the configuration fills, then the defaults."""
    import dataclasses

    from bgtask_lint.api import CheckOptions, run_check, settings_for

    (tmp_path / "pyproject.toml").write_text(
        '[tool.bgtask-lint]\noutput-format = "json"\nunsafe-fixes = true\n'
    )
    settings = settings_for(tmp_path)
    silent = CheckOptions().configured(settings, tmp_path / "cache")
    assert (silent.output_format, silent.unsafe_fixes, silent.fix) == ("json", True, False)
    assert silent.cache_dir == tmp_path / "cache"
    said = CheckOptions(output_format="concise", unsafe_fixes=False, fix_only=True, no_cache=True)
    said = said.configured(settings, tmp_path / "cache")
    assert (said.output_format, said.unsafe_fixes, said.fix, said.cache_dir) == (
        "concise",
        False,
        True,
        None,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        said.quiet = True  # type: ignore[misc]
    source = b"from fastapi import BackgroundTasks\n\ndef f():\n    BackgroundTasks()\n"
    stdin = CheckOptions(paths=(Path("-"),), stdin_filename=str(tmp_path / "app.py"))
    assert [d.code for d in run_check(stdin.configured(settings, None), source).diagnostics] == [
        "BGT001"
    ]
    assert CheckOptions(paths=(Path("-"), Path("a.py"))).misused_stdin() is not None
