"""Path patterns as the configuration spells them: ruff's matching (for
`exclude`, `per-file-ignores`...), and what is test code (the `test-code`
setting: a rule that says `IN_TEST_CODE = False` is not reported there)."""

from __future__ import annotations

import fnmatch
import os
import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Optional, Union


def matches(pattern: str, relative_path: str) -> bool:
    """ruff-style matching: a pattern with a `/` is a glob over the path relative
    to the config root; one without matches the file or directory name."""
    pattern = pattern.rstrip("/")
    if "/" in pattern:
        return fnmatch.fnmatchcase(relative_path, pattern)
    return fnmatch.fnmatchcase(relative_path.rsplit("/", 1)[-1], pattern)


# Test directories and the file names pytest collects, and its conftest.
DEFAULT_TEST_CODE = ("tests", "test_*.py", "*_test.py", "conftest.py")


def is_test_code(path: Union[str, Path], root: Path, patterns: tuple[str, ...]) -> bool:
    """Whether `path` is test code: a pattern with a `/` matches its path
    below the configuration's directory `root`, one without any part of that
    path (for a file outside `root`, its name only: the directories above a
    project say nothing of it). Asked for every file of a run: the answer
    for a directory is kept."""
    path = os.fspath(path)
    if not os.path.isabs(path):  # a walked or checked file's key is absolute already
        path = os.path.abspath(path)
    directory, _, name = path.rpartition(os.sep)
    names, globs = _kinds(patterns)
    if names and _part_pattern(names).match(name):  # the file's own name, as a part
        return True
    below, is_test = _directory_verdict(directory or os.sep, str(root), names)
    if below is None or is_test or not globs:
        return is_test
    relative = f"{below}/{name}" if below else name
    return any(fnmatch.fnmatchcase(relative, p) for p in globs)


@cache
def _directory_verdict(
    directory: str, root: str, names: tuple[str, ...]
) -> tuple[Optional[str], bool]:
    """`directory` below `root` (None outside it), and whether a part of it
    is a test directory: the same for every file in it."""
    below = _below(directory, root)
    return below, below is not None and _directory_is_test(below, names)


@lru_cache(maxsize=64)
def _kinds(patterns: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The patterns that match any part of a path, and those (with a `/`)
    that match the path below the root."""
    return tuple(p for p in patterns if "/" not in p), tuple(p for p in patterns if "/" in p)


def _below(directory: str, root: str) -> Optional[str]:
    """`directory` relative to `root` with `/` separators ("" for the root
    itself), or None outside it."""
    if directory == root:
        return ""
    prefix = root.rstrip(os.sep) + os.sep
    if not directory.startswith(prefix):
        return None
    return directory[len(prefix) :].replace(os.sep, "/")


def _directory_is_test(relative: str, names: tuple[str, ...]) -> bool:
    if not names:
        return False
    pattern = _part_pattern(names)
    return any(pattern.match(part) for part in relative.split("/") if part)


@lru_cache(maxsize=64)
def _part_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """One expression for `fnmatchcase(part, name)` over all of `names`: a
    run asks it of every file's name."""
    return re.compile("|".join(f"(?:{fnmatch.translate(name)})" for name in names))
