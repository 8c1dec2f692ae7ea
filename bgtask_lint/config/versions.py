"""Which FastAPI version a project runs on: the `target-fastapi` setting, else
the project's own pin of fastapi in pyproject.toml or requirements files.

BGT009's severity depends on it: FastAPI 0.106 to 0.117 closes a yield
dependency's resources (and UploadFiles) before background tasks run.
"""

from __future__ import annotations

import os
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]  # Python < 3.11

Version = tuple[int, ...]

_VERSION = re.compile(r"^\d+(\.\d+){1,2}$")
_REQUIREMENT = re.compile(r"^\s*fastapi(\[[^\]]*\])?\s*(?P<spec>[^;#]*)", re.IGNORECASE)
# The version a specifier lets the project run on at the least: the pin of
# `==` / `~=` / poetry's `^`, or the lower bound of `>=`.
_LOWEST = re.compile(r"(?:===?|~=|>=|\^|~)?\s*(?P<version>\d+(?:\.\d+){1,2})")


def parse_version(text: str) -> Optional[Version]:
    text = text.strip()
    if not _VERSION.match(text):
        return None
    return tuple(int(part) for part in text.split("."))


def lowest_allowed(specifier: str) -> Optional[Version]:
    for clause in specifier.split(","):
        clause = clause.strip()
        if clause.startswith(("<", "!=")):
            continue
        match = _LOWEST.match(clause)
        if match:
            return parse_version(match.group("version"))
    return None


@lru_cache(maxsize=64)
def pinned_fastapi(root: Path) -> Optional[Version]:
    """The lowest FastAPI version the project at `root` allows, if it says."""
    for requirement in _requirements(root):
        match = _REQUIREMENT.match(requirement)
        if match:
            version = lowest_allowed(match.group("spec"))
            if version:
                return version
    return None


def _requirements(root: Path) -> list[str]:
    found: list[str] = []
    pyproject = root / "pyproject.toml"
    if os.path.isfile(pyproject):
        try:
            document: dict[str, Any] = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeError, tomllib.TOMLDecodeError):
            document = {}  # the configuration's own reading reports it
        # Other tools' tables, read as hints: a value of another shape is
        # theirs to reject, not a reason for a traceback here.
        dependencies = _table(_table(document, "project"), "dependencies", list)
        found.extend(d for d in dependencies if isinstance(d, str))
        poetry = _table(_table(_table(document, "tool"), "poetry"), "dependencies")
        pin = poetry.get("fastapi")
        if isinstance(pin, dict):
            pin = pin.get("version")
        if isinstance(pin, str):
            found.append(f"fastapi {pin}")
    for path in sorted([*root.glob("requirements*.txt"), *root.glob("requirements/*.txt")]):
        try:
            found.extend(path.read_text(encoding="utf-8", errors="replace").splitlines())
        except OSError:
            continue
    return found


def _table(document: Any, key: str, kind: type = dict) -> Any:
    """`document[key]` when both are of the expected kinds, else an empty one."""
    value = document.get(key) if isinstance(document, dict) else None
    return value if isinstance(value, kind) else kind()
