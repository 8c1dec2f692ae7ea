"""Bad input gets one clear line, the run goes on, and there is never a traceback."""

from __future__ import annotations

import json
import os

import pytest

BUG = "from fastapi import BackgroundTasks\ndef f():\n    BackgroundTasks().add_task(print)\n"


def run_json(cli, *paths, cwd=None):
    result = cli("check", "--output-format", "json", *map(str, paths), cwd=cwd)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1), result.stderr
    return result, json.loads(result.stdout)


def by_file(items):
    return {os.path.basename(item["filename"]): item for item in items}


def test_syntax_error_is_reported_with_position_and_run_goes_on(cli, tmp_path):
    (tmp_path / "broken.py").write_text("from fastapi import BackgroundTasks\ndef f(:\n    pass\n")
    (tmp_path / "good.py").write_text(BUG)
    result, items = run_json(cli, tmp_path)
    files = by_file(items)
    assert files["broken.py"]["code"] == "BGT900"
    assert files["broken.py"]["location"] == {"row": 2, "column": 7}
    assert files["broken.py"]["message"].startswith("SyntaxError: ")
    assert files["good.py"]["code"] == "BGT001"
    assert result.returncode == 1


def test_syntax_error_in_full_output_points_at_the_line(cli, tmp_path):
    (tmp_path / "broken.py").write_text("BackgroundTasks = 1\nx = (1,\ny = 2\n")
    result = cli("check", str(tmp_path / "broken.py"))
    assert "BGT900" in result.stdout
    assert "Traceback" not in result.stderr


def test_undecodable_bytes(cli, tmp_path):
    (tmp_path / "latin.py").write_bytes(b"# BackgroundTasks\nname = '\xe9t\xe9'\n")
    (tmp_path / "good.py").write_text(BUG)
    _, items = run_json(cli, tmp_path)
    files = by_file(items)
    assert files["latin.py"]["code"] == "BGT901"
    assert "cannot decode file as utf-8" in files["latin.py"]["message"]
    assert files["good.py"]["code"] == "BGT001"


def test_latin1_coding_cookie_is_honoured(cli, tmp_path):
    source = "# -*- coding: latin-1 -*-\n" + BUG + "NAME = 'été'\n"
    (tmp_path / "cookie.py").write_bytes(source.encode("latin-1"))
    _, items = run_json(cli, tmp_path)
    assert [item["code"] for item in items] == ["BGT001"]


def test_unknown_coding_cookie(cli, tmp_path):
    (tmp_path / "weird.py").write_bytes(b"# coding: no-such-codec\nx = 1\n")
    _, items = run_json(cli, tmp_path)
    assert items[0]["code"] == "BGT901"


def test_bom_and_crlf(cli, tmp_path):
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbf" + BUG.replace("\n", "\r\n").encode())
    _, items = run_json(cli, tmp_path)
    assert [(i["code"], i["location"]["row"], i["location"]["column"]) for i in items] == [
        ("BGT001", 3, 5)
    ]


def test_missing_path_is_reported_and_other_paths_checked(cli, tmp_path):
    (tmp_path / "good.py").write_text(BUG)
    result, items = run_json(cli, tmp_path / "nope.py", tmp_path / "good.py")
    files = by_file(items)
    assert files["nope.py"]["code"] == "BGT901"
    assert "No such file or directory" in files["nope.py"]["message"]
    assert files["good.py"]["code"] == "BGT001"
    assert result.returncode == 1


def test_dangling_symlink_is_unreadable(cli, tmp_path):
    (tmp_path / "link.py").symlink_to(tmp_path / "gone.py")
    _, items = run_json(cli, tmp_path)
    assert [item["code"] for item in items] == ["BGT901"]
    assert "cannot read file" in items[0]["message"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(cli, tmp_path):
    path = tmp_path / "secret.py"
    path.write_text(BUG)
    path.chmod(0)
    try:
        _, items = run_json(cli, tmp_path)
    finally:
        path.chmod(0o644)
    assert items[0]["code"] == "BGT901"


def test_empty_directory_warns_and_exits_0(cli, tmp_path):
    result = cli("check", str(tmp_path))
    assert result.returncode == 0
    assert "No Python files found" in result.stderr
    assert "Traceback" not in result.stderr


def test_newer_syntax_than_the_interpreter_parses(cli, tmp_path):
    # Python 3.14's unparenthesised except list, and 3.12's type statement.
    source = BUG + "try:\n    pass\nexcept ValueError, TypeError:\n    pass\ntype Alias = int\n"
    (tmp_path / "new.py").write_text(source)
    _, items = run_json(cli, tmp_path)
    assert [item["code"] for item in items] == ["BGT001"]


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\x00BackgroundTasks", b"BackgroundTasks = (" * 3000, b"\n" * 5 + b"add_task(\n"],
    ids=["empty", "nul-bytes", "deep-nesting", "unclosed"],
)
def test_hostile_files_never_crash(cli, tmp_path, content):
    (tmp_path / "hostile.py").write_bytes(content)
    run_json(cli, tmp_path)


@pytest.mark.parametrize("shape", ["latin-1", "fifo", "too-large", "limit-in-config"])
def test_a_run_whose_only_file_cannot_be_read_reports_it(cli, tmp_path, shape):
    """pre-commit's shape: the commit adds one file, and it is the one that
    cannot be read. The run has nothing left to check and says so with BGT901
    (it crashed with `max() arg is an empty sequence` walking the context)."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    (tmp_path / "routes.py").write_text(BUG)  # the rest of the project
    target = tmp_path / "new.py"
    extra: list[str] = []
    if shape == "latin-1":
        target.write_bytes(b"from fastapi import BackgroundTasks\nx = '\xe9'\n")
    elif shape == "fifo":
        os.mkfifo(target)
    elif shape == "too-large":
        target.write_text(BUG + "x = 1\n" * 200_000)
    else:
        target.write_text(BUG)
        extra = ["--config", "max-file-size = 10"]
    result = cli("check", "--output-format", "json", *extra, "new.py", cwd=tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr
    assert [item["code"] for item in json.loads(result.stdout)] == ["BGT901"]


def test_a_directory_symlink_loop_is_walked_once_and_reported_once(cli, tmp_path):
    """`ln -s .. up` reported every file once per way round the loop (41 times)
    and `--fix` then failed on files "changed since read"; `ln -s . self` never
    ended. Each directory is entered once; each loop is one BGT901 line."""
    tree = tmp_path / "d"
    (tree / "a").mkdir(parents=True)
    (tree / "a" / "m.py").write_text(BUG)
    (tree / "a" / "up").symlink_to("..")
    (tree / "self").symlink_to(".")
    (tree / "again").symlink_to("a")  # a second way into a walked directory: quiet
    _, items = run_json(cli, "d", cwd=tmp_path)
    found = sorted((item["filename"], item["code"]) for item in items)
    assert found == [
        (str(tree / "a" / "m.py"), "BGT001"),
        (str(tree / "a" / "up"), "BGT901"),
        (str(tree / "self"), "BGT901"),
    ]
    assert "symbolic link loop" in by_file(items)["up"]["message"]
    fixed = cli("check", "--fix", "d", cwd=tmp_path)
    assert fixed.returncode == 1, fixed.stderr  # the two loops remain, nothing failed
    assert "changed since" not in fixed.stdout + fixed.stderr
    assert fixed.stdout.count("BGT901") == 2
