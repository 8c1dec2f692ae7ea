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
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Optional

from bgtask_lint.config import listing
from bgtask_lint.config.documents import toml_document
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
    key = (project_root, directory, package)
    if key not in _OF_DIRECTORY:
        area = search_area(str(project_root))
        relative = os.path.relpath(directory, area)
        outside = relative == os.pardir or relative.startswith(os.pardir + os.sep)
        parts = () if relative == os.curdir or outside else tuple(Path(relative).parts)
        _OF_DIRECTORY[key] = _nearest(area, parts, package)
    return _OF_DIRECTORY[key]


# The answers of nearest_pin, asked once per directory of checked files.
_OF_DIRECTORY: dict[tuple[Path, str, str], Optional[Pin]] = {}


def _nearest(area: str, parts: tuple[str, ...], package: str) -> Optional[Pin]:
    """The pin of the nearest file that pins `package`, reading the files
    nearest first: the others (a repository's other lock files, megabytes
    each) are not read."""

    def closeness(file: _PinFile) -> tuple[int, int, str]:
        shared = 0
        for mine, theirs in zip(parts, file.parts):
            if mine != theirs:
                break
            shared += 1
        return len(parts) + len(file.parts) - 2 * shared, file.rank, file.name

    for file in sorted(_pin_files(area), key=closeness):
        pin = _read(area, file.name, file.rank, package)
        if pin is not None:
            return pin
    return None


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
        names, directories = listing.entries_of(directory)  # the walk's, when it was there
        try:
            identity = os.stat(directory)
        except OSError:
            continue
        if (identity.st_dev, identity.st_ino) in entered:
            continue  # a symbolic link back up the tree
        entered.add((identity.st_dev, identity.st_ino))
        if "pyvenv.cfg" in names and parts:
            continue  # a virtual environment
        # Only the names of pin files are spelled out: a tree has hundreds
        # of thousands of others.
        in_requirements = bool(parts) and parts[-1] == "requirements"
        for name in names:
            if name in LOCK_FILES:
                rank = 0
            elif name.endswith(".txt") and (in_requirements or name.startswith("requirements")):
                rank = 1
            elif name in MANIFESTS:
                rank = 2
            else:
                continue
            if name not in directories:
                found.append(_PinFile(parts, "/".join((*parts, name)), rank))
        below = [
            (os.path.join(directory, name), (*parts, name))
            for name in sorted(directories)
            if not name.startswith(".") and name not in _SKIPPED
        ]
        stack.extend(reversed(below))
    return tuple(sorted(found, key=lambda file: file.name))


@lru_cache(maxsize=1024)
def _read(area: str, name: str, rank: int, package: str) -> Optional[Pin]:
    """The pin of `package` in the file `name` under `area`; None when the
    file does not pin it or cannot be read."""
    text = _text(os.path.join(area, name))
    if text is None or _word_of(package) not in text.lower():
        return None  # most files name neither package: no parse
    basename = name.rsplit("/", 1)[-1]
    if basename == "Pipfile.lock":
        return _from_pipfile_lock(text, package, name)
    if basename in LOCK_FILES:
        match = _locked(package).search(text)
        return _pin(package, "==" + match.group("version"), name) if match else None
    if rank == 1:
        return _from_requirements(text.splitlines(), package, name)
    return _from_manifest(os.path.join(area, name), package, name, basename)


def _word_of(package: str) -> str:
    """A part of the name every spelling of `package` holds (`a_b`, `A-B`)."""
    return max(re.split(r"[-_.]", package.lower()), key=len)


@lru_cache(maxsize=4)
def _text(path: str) -> Optional[str]:
    """A pin file's text, read once for both packages (a few kept: a lock
    file can be megabytes)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            return stream.read()
    except OSError:
        return None


@cache
def _locked(package: str) -> re.Pattern[str]:
    """uv.lock's and poetry.lock's entry of `package` (`name = "fastapi"`,
    then `version = "0.115.6"`, as each `[[package]]` starts; both tools
    write names normalized, in lower case). The pattern
    starts with the name, so that the search skips through a lock file
    thousands of entries long instead of matching each entry."""
    return re.compile(
        r'\nname = "' + re.escape(package) + r'"[ \t]*\r?\nversion = "(?P<version>[^"]+)"'
    )


def _from_requirements(lines: list[str], package: str, source: str) -> Optional[Pin]:
    for line in lines:
        match = _REQUIREMENT.match(line)
        if match and _normal(match.group("package")) == package:
            pin = _pin(package, match.group("spec"), source)
            if pin is not None:
                return pin
    return None


def _from_manifest(path: str, package: str, source: str, basename: str) -> Optional[Pin]:
    document = _document(path)
    if document is None:
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


def _document(path: str) -> Optional[dict[str, Any]]:
    """A manifest's TOML (parsed once in a run, for both packages and the
    settings)."""
    try:
        return toml_document(path)
    except (OSError, UnicodeError, tomllib.TOMLDecodeError):
        return None


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
    _OF_DIRECTORY.clear()
    for cached in (search_area, _pin_files, _read, _text):
        cached.cache_clear()
