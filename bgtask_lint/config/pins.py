"""Where a project pins FastAPI and Starlette, and which pin a file runs on.

Projects keep pins in many places: `pyproject.toml` (PEP 621, poetry,
dependency groups), `Pipfile`, `requirements*.txt` or `requirements/*.txt`
at any depth (`docker/api/requirements.txt`), and lock files (`uv.lock`,
`poetry.lock`, `Pipfile.lock`). A repository can hold several services on
different versions, so the pin nearest the checked file wins: the fewest
directory steps from the file's directory to the pin's. At the same
distance a lock file wins (the version installed), then a requirements file
(often the deployed environment), then the manifests.

The search covers the repository holding the project (its `.git` root),
else the project, once per run; it skips what a walk for Python files skips
by default (virtual environments, `node_modules`, hidden directories).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from bgtask_lint.config import listing
from bgtask_lint.config.versions import Pin, Version, allowed, tomllib

LOCK_FILES = ("uv.lock", "poetry.lock", "Pipfile.lock")
MANIFESTS = ("pyproject.toml", "Pipfile")
# Directories no pin of the project is in: environments, caches, vendored
# packages' own metadata.
_SKIPPED = frozenset(
    {"node_modules", "site-packages", "__pycache__", "venv", "env", "__pypackages__", "dist"}
)

# `fastapi[standard] >= 0.110` / `starlette==0.38.4`: the package, then its specifier.
_REQUIREMENT = re.compile(
    r"^\s*(?P<package>[A-Za-z0-9_.-]+)\s*(\[[^\]]*\])?\s*(?P<spec>[^;#\\]*)", re.IGNORECASE
)
# uv.lock and poetry.lock: `[[package]]`, `name = "fastapi"`, `version = "0.115.6"`.
_LOCKED = re.compile(
    r'^\[\[package\]\]\s*\nname = "(?P<package>[^"]+)"\s*\nversion = "(?P<version>[^"]+)"',
    re.MULTILINE,
)


@dataclass(frozen=True)
class _PinFile:
    parts: tuple[str, ...]  # the directory's path from the search root
    name: str  # its path from the search root, posix
    rank: int  # 0 lock file, 1 requirements file, 2 manifest


def pin_of(
    package: str, target: Optional[Version], project_root: Path, directory: Optional[str]
) -> Optional[Pin]:
    """The versions of `package` a file in `directory` runs on: the
    `target-<package>` setting, else the nearest pin."""
    if target is not None:
        return Pin.exactly(package, target, f"`target-{package}`")
    return nearest_pin(project_root, directory or str(project_root), package)


def nearest_pin(project_root: Path, directory: str, package: str) -> Optional[Pin]:
    """The pin of `package` nearest `directory` (a checked file's, absolute)
    in the repository or project at `project_root`; None when none pins it."""
    area = search_area(str(project_root))
    relative = os.path.relpath(directory, area)
    outside = relative == os.pardir or relative.startswith(os.pardir + os.sep)
    parts = () if relative == os.curdir or outside else tuple(Path(relative).parts)
    return _nearest(area, parts, package)


@lru_cache(maxsize=1024)
def _nearest(area: str, parts: tuple[str, ...], package: str) -> Optional[Pin]:
    def closeness(file: _PinFile) -> tuple[int, int, str]:
        shared = 0
        for mine, theirs in zip(parts, file.parts):
            if mine != theirs:
                break
            shared += 1
        return len(parts) + len(file.parts) - 2 * shared, file.rank, file.name

    pinning = [f for f in _pin_files(area) if _read(area, f.name, f.rank, package)]
    if not pinning:
        return None
    nearest = min(pinning, key=closeness)
    return _read(area, nearest.name, nearest.rank, package)


@lru_cache(maxsize=256)
def search_area(project_root: str) -> str:
    """The repository holding `project_root`, else `project_root` itself."""
    directory = project_root
    while True:
        if listing.has(directory, ".git"):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return project_root
        directory = parent


@lru_cache(maxsize=64)
def _pin_files(area: str) -> tuple[_PinFile, ...]:
    """Every file under `area` that can pin a package, in name order. A loop
    over a stack, not recursion: a tree can be deeper than Python's stack."""
    found: list[_PinFile] = []
    stack: list[tuple[str, tuple[str, ...]]] = [(area, ())]
    entered: set[tuple[int, int]] = set()
    while stack:
        directory, parts = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
            identity = os.stat(directory)
        except OSError:
            continue
        if (identity.st_dev, identity.st_ino) in entered:
            continue  # a symbolic link back up the tree
        entered.add((identity.st_dev, identity.st_ino))
        names = {entry.name for entry in entries}
        if "pyvenv.cfg" in names and parts:
            continue  # a virtual environment
        below = []
        for entry in entries:
            name = entry.name
            path = "/".join((*parts, name))
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            if is_dir:
                if not name.startswith(".") and name not in _SKIPPED:
                    below.append((entry.path, (*parts, name)))
            elif name in LOCK_FILES:
                found.append(_PinFile(parts, path, 0))
            elif _is_requirements(name, parts):
                found.append(_PinFile(parts, path, 1))
            elif name in MANIFESTS:
                found.append(_PinFile(parts, path, 2))
        stack.extend(reversed(below))
    return tuple(found)


def _is_requirements(name: str, parts: tuple[str, ...]) -> bool:
    if not name.endswith(".txt"):
        return False
    return name.startswith("requirements") or (bool(parts) and parts[-1] == "requirements")


@lru_cache(maxsize=1024)
def _read(area: str, name: str, rank: int, package: str) -> Optional[Pin]:
    """The pin of `package` in the file `name` under `area`; None when the
    file does not pin it or cannot be read."""
    path = os.path.join(area, name)
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            text = stream.read()
    except OSError:
        return None
    basename = name.rsplit("/", 1)[-1]
    if basename == "Pipfile.lock":
        return _from_pipfile_lock(text, package, name)
    if basename in LOCK_FILES:
        for match in _LOCKED.finditer(text):
            if _normal(match.group("package")) == package:
                return _pin(package, "==" + match.group("version"), name)
        return None
    if rank == 1:
        return _from_requirements(text.splitlines(), package, name)
    return _from_manifest(text, package, name, basename)


def _from_requirements(lines: list[str], package: str, source: str) -> Optional[Pin]:
    for line in lines:
        match = _REQUIREMENT.match(line)
        if match and _normal(match.group("package")) == package:
            pin = _pin(package, match.group("spec"), source)
            if pin is not None:
                return pin
    return None


def _from_manifest(text: str, package: str, source: str, basename: str) -> Optional[Pin]:
    try:
        document: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None  # the configuration's own reading reports a broken pyproject
    if basename == "Pipfile":
        tables = [_table(document, "packages"), _table(document, "dev-packages")]
        return _from_tables(tables, package, source)
    # Other tools' tables, read as hints: a value of another shape is theirs
    # to reject, not a reason for a traceback here.
    project = _table(document, "project")
    lists = [_table(project, "dependencies", list)]
    lists += [v for v in _table(project, "optional-dependencies").values() if isinstance(v, list)]
    lists += [v for v in _table(document, "dependency-groups").values() if isinstance(v, list)]
    for requirements in lists:
        pin = _from_requirements([r for r in requirements if isinstance(r, str)], package, source)
        if pin is not None:
            return pin
    poetry = _table(_table(document, "tool"), "poetry")
    tables = [_table(poetry, "dependencies"), _table(poetry, "dev-dependencies")]
    tables += [_table(g, "dependencies") for g in _table(poetry, "group").values()]
    return _from_tables(tables, package, source)


def _from_tables(tables: list[Any], package: str, source: str) -> Optional[Pin]:
    """Poetry's and Pipfile's `fastapi = "^0.110"` / `{version = "..."}`."""
    for table in tables:
        for key, value in table.items() if isinstance(table, dict) else ():
            if isinstance(value, dict):
                value = value.get("version")
            if _normal(key) == package and isinstance(value, str):
                pin = _pin(package, value, source)
                if pin is not None:
                    return pin
    return None


def _from_pipfile_lock(text: str, package: str, source: str) -> Optional[Pin]:
    try:
        document = json.loads(text)
    except ValueError:
        return None
    for section in ("default", "develop"):
        entry = _table(_table(document, section), package)
        version = entry.get("version")
        if isinstance(version, str):
            return _pin(package, version, source)
    return None


def _pin(package: str, specifier: str, source: str) -> Optional[Pin]:
    specifier = re.sub(r"([=<>!~^])\s+", r"\1", specifier.strip())  # `== 0.1` as `==0.1`
    if "@" in specifier or "://" in specifier:
        return None  # a URL or a path: no version said
    versions = allowed(specifier)
    if versions is None:
        return None
    # `fastapi>=0.110`, as requirements say it; poetry's `fastapi ^0.110`.
    joined = specifier[:1] in ("=", "<", ">", "!") or specifier.startswith("~=")
    written = f"{package}{specifier}" if joined else f"{package} {specifier}"
    return Pin(package, versions[0], versions[1], written, source)


def _normal(name: str) -> str:
    return name.lower().replace("_", "-")


def _table(document: Any, key: str, kind: type = dict) -> Any:
    """`document[key]` when both are of the expected kinds, else an empty one."""
    value = document.get(key) if isinstance(document, dict) else None
    return value if isinstance(value, kind) else kind()


def forget() -> None:
    """See api.forget_what_was_read."""
    for cached in (_nearest, search_area, _pin_files, _read):
        cached.cache_clear()
