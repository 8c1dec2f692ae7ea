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
from typing import Union

# A directory's entry names, and which of them are directories (as
# `os.scandir` tells, without a `stat` of its own).
_LISTED: dict[str, tuple[frozenset[str], frozenset[str]]] = {}


def entries_of(directory: Union[str, os.PathLike[str]]) -> tuple[frozenset[str], frozenset[str]]:
    """The names of the entries of `directory`, and of those that are
    directories; both empty when it cannot be listed."""
    key = os.fspath(directory)
    listed = _LISTED.get(key)
    if listed is None:
        names, directories = set(), set()
        try:
            with os.scandir(key) as found:
                for entry in found:
                    names.add(entry.name)
                    if is_directory(entry):
                        directories.add(entry.name)
        except OSError:
            pass
        listed = _LISTED[key] = (frozenset(names), frozenset(directories))
    return listed


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


def forget() -> None:
    """See api.forget_what_was_read."""
    _LISTED.clear()
