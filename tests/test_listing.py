"""Each directory's entries are listed once per run (config/listing.py): the
walk's listing answers the questions asked about its directories later."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bgtask_lint import api
from bgtask_lint.config import listing


def test_walked_directories_are_not_listed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for name in ("a", "a/b", "c"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "mod.py").write_text("from fastapi import BackgroundTasks\n")
    (tmp_path / "c" / "requirements.txt").write_text("fastapi==0.110.0\n")
    listed: list[str] = []
    original = os.listdir

    def counting(path="."):  # type: ignore[no-untyped-def]
        listed.append(os.fspath(path))
        return original(path)

    monkeypatch.setattr(os, "listdir", counting)
    monkeypatch.chdir(tmp_path)
    api.check_paths([tmp_path], workers=1)
    # The top directory is asked about before the walk enters it; the
    # directories below are listed by the walk alone.
    below = {str(tmp_path / name) for name in ("a", "a/b", "c")}
    assert not below & set(listed)
    assert listed.count(str(tmp_path)) <= 1


def test_a_run_sees_entries_made_since_the_last_run(tmp_path: Path):
    listing.forget()
    assert not listing.has(tmp_path, "pyproject.toml")
    (tmp_path / "pyproject.toml").write_text("")
    assert not listing.has(tmp_path, "pyproject.toml")  # listed once per run
    api.check_paths([tmp_path], workers=1)
    assert listing.has(tmp_path, "pyproject.toml")
