"""Which FastAPI and Starlette versions a project runs on: the
`target-fastapi` / `target-starlette` settings, else the project's own pin in
pyproject.toml or requirements files.

BGT009's severity and BGT008's finding depend on FastAPI's: 0.106 to 0.117
tears a yield dependency down before the response is sent (closing its
resources and UploadFiles before background tasks run, but running a task its
teardown adds); every other version tears down after the tasks ran
(bench/fastapi_versions.py measures it).
BGT006's middleware form depends on Starlette's: 0.38.3 and 0.38.4 never run
a background set on a middleware's `call_next` response.
"""

from __future__ import annotations

import os
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from bgtask_lint.config.listing import names_in

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]  # Python < 3.11

Version = tuple[int, ...]

_VERSION = re.compile(r"^\d+(\.\d+){1,2}$")
# `fastapi[standard] >= 0.110` / `starlette==0.38.4`: the package, then its specifier.
_REQUIREMENT = re.compile(
    r"^\s*(?P<package>[A-Za-z0-9_.-]+)\s*(\[[^\]]*\])?\s*(?P<spec>[^;#]*)", re.IGNORECASE
)
# The version a specifier lets the project run on at the least: the pin of
# `==` / `~=` / poetry's `^`, or the lower bound of `>=`.
_LOWEST = re.compile(r"(?:===?|~=|>=|\^|~)?\s*(?P<version>\d+(?:\.\d+){1,2})")


# FastAPI ran a yield dependency's teardown before the response (and its
# background tasks) in these versions: inclusive, exclusive.
TEARDOWN_BEFORE_RESPONSE: tuple[Version, Version] = ((0, 106), (0, 118))


def tears_down_before_response(target: Optional[Version]) -> Optional[bool]:
    """Whether FastAPI `target` tears a (default-scope) yield dependency down
    before the response is sent; None when the version is unknown."""
    if target is None:
        return None
    low, high = TEARDOWN_BEFORE_RESPONSE
    return low <= target[:2] < high


def show_version(version: Version) -> str:
    return ".".join(str(part) for part in version)


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


def pinned_fastapi(root: Path) -> Optional[Version]:
    """The lowest FastAPI version the project at `root` allows, if it says."""
    return pinned(root, "fastapi")


def pinned_starlette(root: Path) -> Optional[Version]:
    """The lowest Starlette version the project at `root` allows, if it says."""
    return pinned(root, "starlette")


@lru_cache(maxsize=128)
def pinned(root: Path, package: str) -> Optional[Version]:
    for requirement in _requirements(root):
        match = _REQUIREMENT.match(requirement)
        if match and match.group("package").lower().replace("_", "-") == package:
            version = lowest_allowed(match.group("spec"))
            if version:
                return version
    return None


def _requirements(root: Path) -> list[str]:
    found: list[str] = []
    names = names_in(root)
    if "pyproject.toml" in names and os.path.isfile(root / "pyproject.toml"):
        try:
            text = (root / "pyproject.toml").read_text(encoding="utf-8")
            document: dict[str, Any] = tomllib.loads(text)
        except (OSError, UnicodeError, tomllib.TOMLDecodeError):
            document = {}  # the configuration's own reading reports it
        # Other tools' tables, read as hints: a value of another shape is
        # theirs to reject, not a reason for a traceback here.
        dependencies = _table(_table(document, "project"), "dependencies", list)
        found.extend(d for d in dependencies if isinstance(d, str))
        poetry = _table(_table(_table(document, "tool"), "poetry"), "dependencies")
        for package in ("fastapi", "starlette"):
            pin = poetry.get(package)
            if isinstance(pin, dict):
                pin = pin.get("version")
            if isinstance(pin, str):
                found.append(f"{package} {pin}")
    for path in _requirement_files(root, names):
        try:
            found.extend(path.read_text(encoding="utf-8", errors="replace").splitlines())
        except OSError:
            continue
    return found


def _requirement_files(root: Path, names: frozenset[str]) -> list[Path]:
    """`requirements*.txt` and `requirements/*.txt` at `root`, sorted."""
    files = [root / n for n in names if n.startswith("requirements") and n.endswith(".txt")]
    if "requirements" in names:
        inner = root / "requirements"
        files.extend(inner / n for n in names_in(inner) if n.endswith(".txt"))
    return sorted(f for f in files if os.path.isfile(f))


def _table(document: Any, key: str, kind: type = dict) -> Any:
    """`document[key]` when both are of the expected kinds, else an empty one."""
    value = document.get(key) if isinstance(document, dict) else None
    return value if isinstance(value, kind) else kind()
