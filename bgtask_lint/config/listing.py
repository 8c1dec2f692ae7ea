"""What a directory holds, listed once per run.

A run asks each directory several questions about its entries: is there a
configuration file, a project marker, a `.gitignore`, a `src/`, requirement
files, a formatter's configuration. The walk lists every directory it
enters anyway and leaves the names here (`remember`); a directory the walk
did not enter (an ancestor of the paths) is listed on its first question.
A name that is listed is then checked as before (`os.path.isfile`...), so
the answers are the same, but an absent name costs no system call: outside
any project, where every directory is a project root, those calls were a
third of a warm run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Optional, Protocol, Union

# A directory's entry names, and which of them are directories (as
# `os.scandir` tells, without a `stat` of its own).
_LISTED: dict[str, tuple[frozenset[str], frozenset[str]]] = {}


class Memo(Protocol):
    """Listings kept between runs (run/walk_memo.py), by directory time."""

    def listing(
        self, directory: str, mtime_ns: int
    ) -> Optional[tuple[list[str], frozenset[str]]]: ...

    def store_listing(
        self, directory: str, mtime_ns: int, names: list[str], directories: frozenset[str]
    ) -> None: ...


# The memo of a run with a cache: a directory as it was is not listed again.
_MEMO: Optional[Memo] = None


def recall_from(memo: Optional[Memo]) -> None:
    """Take the listings of directories that did not change from `memo`
    (None: list every directory), and keep new ones there."""
    global _MEMO
    _MEMO = memo


def entries_of(directory: Union[str, os.PathLike[str]]) -> tuple[frozenset[str], frozenset[str]]:
    """The names of the entries of `directory`, and of those that are
    directories; both empty when it cannot be listed."""
    key = os.fspath(directory)
    listed = _LISTED.get(key)
    if listed is None:
        listed = _LISTED[key] = _listed(key)
    return listed


def _listed(directory: str) -> tuple[frozenset[str], frozenset[str]]:
    mtime = None
    if _MEMO is not None:
        try:
            mtime = os.stat(directory).st_mtime_ns
        except OSError:
            return frozenset(), frozenset()
        kept = _MEMO.listing(directory, mtime)
        if kept is not None:
            return frozenset(kept[0]), kept[1]
    try:
        names, directories, linked = scan(directory)
    except OSError:
        return frozenset(), frozenset()
    if _MEMO is not None and mtime is not None and not linked:
        _MEMO.store_listing(directory, mtime, names, directories)
    return frozenset(names), directories


def scan(directory: str) -> tuple[list[str], frozenset[str], bool]:
    """A directory's entry names, sorted; those that are directories; and
    whether any entry is a symbolic link. Raises OSError."""
    names, directories, linked = [], set(), False
    with os.scandir(directory) as found:
        for entry in found:
            names.append(entry.name)
            if is_directory(entry):
                directories.add(entry.name)
            linked = linked or is_link(entry)
    names.sort()
    return names, frozenset(directories), linked


def names_in(directory: Union[str, os.PathLike[str]]) -> frozenset[str]:
    """The names of the entries of `directory`; empty when it cannot be listed."""
    return entries_of(directory)[0]


def has(directory: Union[str, os.PathLike[str]], name: str) -> bool:
    """Whether `directory` lists an entry `name` (of any kind)."""
    return name in entries_of(directory)[0]


def remember(directory: str, names: Iterable[str], directories: Iterable[str]) -> None:
    """What the walk found listing `directory` (an absolute path): its
    entries' names, and which are directories."""
    _LISTED[directory] = (frozenset(names), frozenset(directories))


def is_directory(entry: os.DirEntry[str]) -> bool:
    """`entry.is_dir()`, False when it cannot be told."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def is_link(entry: os.DirEntry[str]) -> bool:
    """`entry.is_symlink()`, True when it cannot be told."""
    try:
        return entry.is_symlink()
    except OSError:
        return True


def forget() -> None:
    """See api.forget_what_was_read."""
    _LISTED.clear()
    recall_from(None)
