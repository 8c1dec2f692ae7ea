"""The repository holds our own text: no binary file and nothing over 200 KB
outside the test fixtures (a wheel, an sdist or a corpus is downloaded by a
script, never committed)."""

from __future__ import annotations

import subprocess

import pytest
from conftest import ROOT

MAX_BYTES = 200 * 1024
ALLOWED = ("tests/fixtures/",)


def tracked_files() -> list[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [name for name in out.decode("utf-8", "surrogateescape").split("\0") if name]


def test_no_binary_or_large_file_is_tracked():
    wrong = []
    for name in tracked_files():
        path = ROOT / name
        if name.startswith(ALLOWED) or not path.is_file():
            continue
        data = path.read_bytes()
        if len(data) > MAX_BYTES:
            wrong.append(f"{name}: {len(data)} bytes (over {MAX_BYTES})")
        elif b"\0" in data:
            wrong.append(f"{name}: binary")
    assert not wrong, "\n".join(wrong)
