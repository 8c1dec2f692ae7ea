from __future__ import annotations

import pytest

from bgtask_lint.config.versions import (
    lowest_allowed,
    parse_version,
    pinned_fastapi,
    pinned_starlette,
)


@pytest.mark.parametrize(
    "specifier, expected",
    [
        ("==0.115.2", (0, 115, 2)),
        (">=0.110,<0.120", (0, 110)),
        ("<0.120,>=0.110", (0, 110)),
        ("~=0.111.0", (0, 111, 0)),
        ("^0.109.1", (0, 109, 1)),
        ("<1.0", None),
        ("", None),
    ],
)
def test_lowest_allowed(specifier, expected):
    assert lowest_allowed(specifier) == expected


def test_parse_version():
    assert parse_version("0.115") == (0, 115)
    assert parse_version("latest") is None


def test_poetry_pin(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.poetry.dependencies]\npython = "^3.11"\nfastapi = {version = "^0.107.0"}\n'
    )
    assert pinned_fastapi(tmp_path) == (0, 107, 0)


def test_no_pin(tmp_path):
    (tmp_path / "requirements.txt").write_text("fastapi-users==13.0\n")
    assert pinned_fastapi(tmp_path) is None


def test_starlette_pin_is_read_beside_fastapi(tmp_path):
    (tmp_path / "requirements.txt").write_text(
        "fastapi[standard]>=0.112\nstarlette-context==0.3.6\nStarlette == 0.38.4\n"
    )
    assert pinned_fastapi(tmp_path) == (0, 112)
    assert pinned_starlette(tmp_path) == (0, 38, 4)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "requirements.txt").write_text("starlette-context==0.3.6\n")
    assert pinned_starlette(tmp_path / "other") is None


def test_pins_in_requirement_files_of_either_layout(tmp_path):
    """`requirements*.txt` beside pyproject, and `requirements/*.txt`, in
    sorted order: the first file that pins the package wins."""
    (tmp_path / "requirements-dev.txt").write_text("pytest\n")
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "base.txt").write_text("fastapi==0.109.2\n")
    (tmp_path / "requirements" / "notes.md").write_text("fastapi==0.1\n")
    (tmp_path / "requirements.txt").write_text("starlette==0.37.2\n")
    (tmp_path / "requirementsfile").write_text("fastapi==0.2\n")
    assert pinned_fastapi(tmp_path) == (0, 109, 2)
    assert pinned_starlette(tmp_path) == (0, 37, 2)
    (tmp_path / "requirements-old.txt").write_text("starlette==0.36.0\n")
    from bgtask_lint.api import forget_what_was_read

    forget_what_was_read()  # as before each run of --watch
    assert pinned_starlette(tmp_path) == (0, 36, 0)  # requirements-old.txt sorts first
