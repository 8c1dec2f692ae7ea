"""The versions a pin allows, and which pin a checked file runs on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import pytest

from bgtask_lint.api import forget_what_was_read
from bgtask_lint.config.pins import nearest_pin
from bgtask_lint.config.versions import (
    LOST_IN_MIDDLEWARE,
    TEARDOWN_BEFORE_RESPONSE,
    Pin,
    allowed,
    parse_version,
)


@pytest.fixture(autouse=True)
def _fresh():
    forget_what_was_read()
    yield
    forget_what_was_read()


@pytest.mark.parametrize(
    "specifier, expected",
    [
        ("==0.115.2", ((0, 115, 2), (0, 115, 3))),
        ("==0.115.*", ((0, 115, 0), (0, 116, 0))),
        (">=0.110,<0.120", ((0, 110, 0), (0, 120, 0))),
        ("<0.120, >=0.110", ((0, 110, 0), (0, 120, 0))),
        (">=0.110 <0.120", ((0, 110, 0), (0, 120, 0))),  # poetry's spaces
        ("~=0.111.0", ((0, 111, 0), (0, 112, 0))),
        ("~=0.111", ((0, 111, 0), (1, 0, 0))),
        ("^0.109.1", ((0, 109, 1), (0, 110, 0))),
        ("^1.2", ((1, 2, 0), (2, 0, 0))),
        ("~0.104.1", ((0, 104, 1), (0, 105, 0))),
        ("0.104.1", ((0, 104, 1), (0, 104, 2))),  # poetry's bare version
        (">0.117", ((0, 117, 1), None)),
        ("<=0.117", ((0, 0, 0), (0, 117, 1))),
        (">=0.100,!=0.110.0", ((0, 100, 0), None)),
        ("==0.115.0rc1", ((0, 115, 0), (0, 115, 1))),
        ("^0.100 || ^0.120", ((0, 100, 0), (0, 121, 0))),
        ("<1.0", ((0, 0, 0), (1, 0, 0))),
        (">=0.120,<0.110", None),  # nothing satisfies it
        ("*", None),
        ("", None),
    ],
)
def test_the_versions_a_specifier_allows(specifier, expected):
    assert allowed(specifier) == expected


def test_parse_version():
    assert parse_version("0.115") == (0, 115)
    assert parse_version("latest") is None


def pin(low: tuple[int, ...], high: Optional[tuple[int, ...]]) -> Pin:
    return Pin("fastapi", low, high, "fastapi", "requirements.txt")


def test_a_pin_within_a_range_of_versions():
    assert pin((0, 110, 0), (0, 111, 0)).within(TEARDOWN_BEFORE_RESPONSE) is True
    assert pin((0, 118, 0), None).within(TEARDOWN_BEFORE_RESPONSE) is False
    assert pin((0, 100, 0), (0, 106, 0)).within(TEARDOWN_BEFORE_RESPONSE) is False
    assert pin((0, 100, 0), None).within(TEARDOWN_BEFORE_RESPONSE) is None
    assert pin((0, 117, 9), (0, 118, 1)).within(TEARDOWN_BEFORE_RESPONSE) is None
    assert Pin.exactly("starlette", (0, 38, 4), "`target-starlette`").within(LOST_IN_MIDDLEWARE)
    assert Pin.exactly("fastapi", (0, 115), "`target-fastapi`").within(TEARDOWN_BEFORE_RESPONSE)


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def found(root: Path, directory: str = "", package: str = "fastapi") -> Optional[str]:
    """What the pin nearest `directory` says, and where: `fastapi==0.1 @ a/b.txt`."""
    result = nearest_pin(root, str(root / directory), package)
    return None if result is None else f"{result.written} @ {result.source}"


def test_poetry_pin(tmp_path):
    write(
        tmp_path,
        {
            "pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.11"\n'
            'fastapi = {version = "^0.107.0", extras = ["all"]}\n'
        },
    )
    assert found(tmp_path) == "fastapi ^0.107.0 @ pyproject.toml"


def test_no_pin(tmp_path):
    write(tmp_path, {"requirements.txt": "fastapi-users==13.0\nfastapi @ git+https://x/y@0.1\n"})
    assert found(tmp_path) is None


def test_starlette_pin_is_read_beside_fastapi(tmp_path):
    write(
        tmp_path,
        {
            "requirements.txt": "fastapi[standard]>=0.112\n"
            "starlette-context==0.3.6\nStarlette == 0.38.4\n"
        },
    )
    assert found(tmp_path) == "fastapi>=0.112 @ requirements.txt"
    assert found(tmp_path, package="starlette") == "starlette==0.38.4 @ requirements.txt"


def test_a_requirements_file_at_any_depth_is_read(tmp_path):
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "api"\n',
            "docker/api/requirements.txt": "--hash=sha256:00\nfastapi==0.110.0 \\\n",
            "deploy/requirements/base.txt": "starlette==0.38.3\n",
            "deploy/requirements/notes.md": "starlette==0.1\n",
            "app/main.py": "",
        },
    )
    assert found(tmp_path, "app") == "fastapi==0.110.0 @ docker/api/requirements.txt"
    assert found(tmp_path, "app", "starlette") == "starlette==0.38.3 @ deploy/requirements/base.txt"


def test_the_nearest_pin_wins(tmp_path):
    """Two services of one repository on different versions; the top-level
    manifest is farther from each than its own requirements file."""
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "all"\ndependencies = ["fastapi>=0.100"]\n',
            "services/billing/requirements.txt": "fastapi==0.110.0\n",
            "services/search/requirements.txt": "fastapi==0.120.0\n",
            "services/search/api/routes.py": "",
        },
    )
    assert (
        found(tmp_path, "services/billing")
        == "fastapi==0.110.0 @ services/billing/requirements.txt"
    )
    assert (
        found(tmp_path, "services/search/api")
        == "fastapi==0.120.0 @ services/search/requirements.txt"
    )
    assert found(tmp_path, "tools") == "fastapi>=0.100 @ pyproject.toml"


@pytest.mark.parametrize(
    "name, text",
    [
        ("uv.lock", 'version = 1\n\n[[package]]\nname = "fastapi"\nversion = "0.115.6"\n'),
        (
            "poetry.lock",
            '[[package]]\nname = "anyio"\nversion = "4.0.0"\n\n'
            '[[package]]\nname = "fastapi"\nversion = "0.115.6"\r\ndescription = "x"\n',
        ),
        ("Pipfile.lock", json.dumps({"default": {"fastapi": {"version": "==0.115.6"}}})),
    ],
)
def test_a_lock_file_wins_over_the_manifest_beside_it(tmp_path, name, text):
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "api"\ndependencies = ["fastapi>=0.100"]\n',
            "requirements.txt": "fastapi>=0.101\n",
            name: text,
        },
    )
    assert found(tmp_path) == f"fastapi==0.115.6 @ {name}"


def test_pipfile_and_dependency_groups(tmp_path):
    write(tmp_path, {"Pipfile": '[packages]\nfastapi = "==0.112.0"\n'})
    assert found(tmp_path) == "fastapi==0.112.0 @ Pipfile"
    write(
        tmp_path / "other",
        {"pyproject.toml": '[dependency-groups]\nweb = ["fastapi~=0.113.0"]\n', ".git": ""},
    )
    assert found(tmp_path / "other") == "fastapi~=0.113.0 @ pyproject.toml"


def test_environments_and_hidden_directories_are_not_searched(tmp_path):
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "api"\n',
            ".venv/lib/requirements.txt": "fastapi==0.110.0\n",
            "env2/pyvenv.cfg": "",
            "env2/requirements.txt": "fastapi==0.110.0\n",
            "node_modules/x/requirements.txt": "fastapi==0.110.0\n",
        },
    )
    assert found(tmp_path) is None


def test_the_repository_around_the_project_is_searched(tmp_path):
    """A service's own pyproject makes it the project root; the pin kept in
    the repository's docker folder still counts, the nearest one found."""
    write(
        tmp_path,
        {
            ".git/HEAD": "ref: refs/heads/main\n",
            "docker/requirements.txt": "fastapi==0.110.0\n",
            "backend/pyproject.toml": '[project]\nname = "backend"\n',
        },
    )
    assert found(tmp_path / "backend") == "fastapi==0.110.0 @ docker/requirements.txt"


def test_what_was_read_is_forgotten_between_runs(tmp_path):
    write(tmp_path, {"requirements.txt": "fastapi==0.110.0\n"})
    assert found(tmp_path) == "fastapi==0.110.0 @ requirements.txt"
    write(tmp_path, {"requirements.txt": "fastapi==0.120.0\n"})
    assert found(tmp_path) == "fastapi==0.110.0 @ requirements.txt"
    forget_what_was_read()  # as before each run of --watch
    assert found(tmp_path) == "fastapi==0.120.0 @ requirements.txt"
