"""`--output-format json` is ruff's schema, checked field by field against the
JSON ruff itself prints in the same run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import FIXTURES, run_cli

FIXTURE = FIXTURES / "BGT003.py"


def shape(value):
    """Keys and value types, recursively: what a reader of the JSON relies on."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


@pytest.fixture(scope="module")
def ruff_items(tmp_path_factory):
    path = tmp_path_factory.mktemp("ruff") / "sample.py"
    path.write_text("import os\nimport time\n\n\nasync def f():\n    time.sleep(1)\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--select",
            "F401,ASYNC251",
            "--output-format",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    items = json.loads(result.stdout)
    assert {item["code"] for item in items} == {"F401", "ASYNC251"}
    return items


@pytest.fixture(scope="module")
def our_items():
    result = run_cli("check", "--output-format", "json", str(FIXTURE))
    assert result.returncode == 1
    return json.loads(result.stdout)


def test_same_fields_and_types_as_ruff(ruff_items, our_items):
    ruff_with_fix = next(item for item in ruff_items if item["fix"] is not None)
    ruff_without_fix = next(item for item in ruff_items if item["fix"] is None)
    assert any(item["fix"] for item in our_items)
    assert any(item["fix"] is None for item in our_items)
    for item in our_items:
        expected = ruff_with_fix if item["fix"] else ruff_without_fix
        ours = {key: value for key, value in item.items() if key != "related"}
        assert shape(ours) == shape(expected)


def test_values(our_items):
    first = our_items[0]
    assert first["code"] == "BGT003"
    assert first["name"] == "blocking-call-in-async-task"
    assert first["filename"] == str(FIXTURE.resolve())
    assert first["location"] == {"row": 25, "column": 5}
    assert first["end_location"] == {"row": 25, "column": 24}
    assert first["noqa_row"] == 25
    assert first["fix"] == {
        "applicability": "safe",
        "edits": [
            {
                "content": "await asyncio",
                "end_location": {"column": 9, "row": 25},
                "location": {"column": 5, "row": 25},
            }
        ],
        "message": "Use `await asyncio.sleep(...)`",
    }
    assert first["cell"] is None
    assert first["severity"] == "error"
    assert first["url"].endswith("/docs/rules/BGT003.md")
    assert "time.sleep" in first["message"]


def test_unsafe_fix_is_marked_unsafe(our_items):
    write_log = next(item for item in our_items if item["location"]["row"] == 34)
    assert write_log["fix"]["applicability"] == "unsafe"


def test_sorted_by_position(our_items):
    rows = [(item["location"]["row"], item["location"]["column"]) for item in our_items]
    assert rows == sorted(rows)


def test_empty_run_is_an_empty_list(tmp_path):
    (tmp_path / "ok.py").write_text("x = 1\n")
    result = run_cli("check", "--output-format", "json", str(tmp_path))
    assert result.returncode == 0
    assert json.loads(result.stdout) == []


def test_every_task_reaching_one_blocking_call_is_named(tmp_path):
    """Two routes in two files queue two tasks that await one helper that
    blocks: one finding, whose message names the first task, and whose
    `related` (ours, beyond ruff's fields; SARIF's relatedLocations) names
    both tasks and the files that queue them."""
    (tmp_path / "tasks.py").write_text(
        "import requests\n"
        "async def fetch():\n    requests.get('http://x')\n"
        "async def sync_orders():\n    await fetch()\n"
        "async def sync_users():\n    await fetch()\n"
    )
    for name, task in (("orders", "sync_orders"), ("users", "sync_users")):
        (tmp_path / f"{name}.py").write_text(
            f"from fastapi import BackgroundTasks\nfrom tasks import {task}\n"
            f"def {name}(bt: BackgroundTasks):\n    bt.add_task({task})\n"
        )
    result = run_cli("check", "--no-cache", "--output-format", "json", ".", cwd=tmp_path)
    [item] = json.loads(result.stdout)
    assert (item["code"], item["location"]["row"]) == ("BGT003", 3)
    assert "`sync_orders`" in item["message"]
    related = [(r["location"]["row"], r["message"]) for r in item["related"]]
    assert related == [
        (4, "`sync_orders` is queued as a task in orders.py"),
        (6, "`sync_users` is queued as a task in users.py"),
    ]
    assert {r["filename"] for r in item["related"]} == {str((tmp_path / "tasks.py").resolve())}
