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

_NAMES: dict[str, frozenset[str]] = {}


def names_in(directory: Union[str, os.PathLike[str]]) -> frozenset[str]:
    """The names of the entries of `directory`; empty when it cannot be listed."""
    key = os.fspath(directory)
    names = _NAMES.get(key)
    if names is None:
        try:
            names = frozenset(os.listdir(key))
        except OSError:
            names = frozenset()
        _NAMES[key] = names
    return names


def has(directory: Union[str, os.PathLike[str]], name: str) -> bool:
    """Whether `directory` lists an entry `name` (of any kind)."""
    return name in names_in(directory)


def remember(directory: str, names: Iterable[str]) -> None:
    """What the walk found listing `directory` (an absolute path)."""
    _NAMES[directory] = frozenset(names)


def forget() -> None:
    """See api.forget_what_was_read."""
    _NAMES.clear()
