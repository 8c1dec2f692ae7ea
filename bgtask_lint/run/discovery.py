"""Which files a run checks: walk the given paths, skip excluded directories."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Protocol, Union

from bgtask_lint.config import listing
from bgtask_lint.config.settings import Settings, SettingsResolver
from bgtask_lint.run import gitignore

if TYPE_CHECKING:
    from bgtask_lint.run.walk_memo import WalkMemo


class SettingsFor(Protocol):
    """SettingsResolver.for_path, or its for_context."""

    def __call__(self, path: Union[str, Path], *, is_dir: Optional[bool] = None) -> Settings: ...


# Not frozen: one is made per file of the tree, and a frozen dataclass's
# `__init__` costs several times a plain one's.
@dataclass
class Found:
    """A file to check, or a path that could not be walked (`error` set).
    Walked files come as strings: a Path per file costs more than the walk."""

    path: Union[str, Path]
    error: Optional[str] = None
    absolute: Optional[str] = None  # known to the walk: no abspath per file


def discover(
    paths: Sequence[Path],
    resolver: SettingsResolver,
    *,
    force_exclude: bool = False,
    respect_gitignore: Optional[bool] = None,
    for_context: bool = False,
    memo: Optional[WalkMemo] = None,
) -> Iterator[Found]:
    """Files under `paths`, in a stable order. A path named on the command line is
    checked even when it matches `exclude` or .gitignore, unless `force_exclude`
    (as in ruff, so that pre-commit, which names every file, still honours
    `exclude`). `for_context`: the files are read only for what they tell about
    checked ones, so a broken configuration among them is passed over. `memo`:
    what the last runs found in each directory, used while it is as it was."""
    settings_for = resolver.for_context if for_context else resolver.for_path
    seen: set[str] = set()
    for path in paths:
        if not os.path.lexists(path):
            yield Found(path, "No such file or directory")
            continue
        if force_exclude and settings_for(path).is_excluded_with_ancestors(path):
            continue
        if os.path.isdir(path):
            absolute = os.path.abspath(path)
            respect = respect_gitignore
            if respect is None:  # not said on the command line: the configuration decides
                respect = settings_for(path, is_dir=True).respect_gitignore
            in_repository = gitignore.repository_root(absolute) is not None
            ignores = gitignore.inherited(absolute) if respect and in_repository else None
            walk = _Walk(settings_for, seen, memo)
            yield from walk.tree(absolute, str(path), ignores)
        elif str(path) not in seen:
            seen.add(str(path))
            yield Found(path)


@dataclass
class _Descend(Found):
    """Not a file: the walk is to go into this directory next."""

    args: tuple[str, str] = ("", "")
    ignores: Optional[tuple[gitignore.IgnoreFile, ...]] = None
    # The settings of the directory above and this one's path relative to
    # their root: the same settings below need no `relpath` of their own.
    within: Optional[tuple[Settings, str]] = None


class _Walk:
    """One walk of a tree: the files found once each (`seen`, shared by the
    walks of one run), their settings, and the memo of earlier runs."""

    def __init__(self, settings_for: SettingsFor, seen: set[str], memo: Optional[WalkMemo]):
        self.settings_for = settings_for
        self.seen = seen
        self.memo = memo

    def tree(
        self, absolute: str, shown: str, ignores: Optional[tuple[gitignore.IgnoreFile, ...]]
    ) -> Iterator[Found]:
        """Walk a directory depth first, entries in name order; `shown` is how its
        paths are spelled in reports; `ignores` the .gitignore files in force (None:
        .gitignore not respected). A loop over a stack of open directories, not
        recursion: a tree can be deeper than Python's stack."""
        # Each directory is entered once, known by its (st_dev, st_ino): through a
        # symlink a tree can reach itself (`ln -s .. up`), and every file would
        # come again under each of its spellings, or never stop (`ln -s . self`).
        status = _status(absolute)
        entered: set[Optional[tuple[int, int]]] = {_identity(status)}
        stack: list[Iterator[Found]] = [self._directory(absolute, shown, status, ignores)]
        while stack:
            found = next(stack[-1], None)
            if found is None:
                stack.pop()
            elif isinstance(found, _Descend):
                status = _status(found.args[0])
                identity = _identity(status)
                if identity is None or identity not in entered:
                    entered.add(identity)
                    stack.append(self._directory(*found.args, status, found.ignores, found.within))
                elif _is_within(found.args[0]):
                    yield Found(
                        found.path, "symbolic link loop: a directory above it is walked already"
                    )
            else:
                yield found

    def _directory(
        self,
        absolute: str,
        shown: str,
        status: Optional[os.stat_result],
        ignores: Optional[tuple[gitignore.IgnoreFile, ...]],
        within: Optional[tuple[Settings, str]] = None,
    ) -> Iterator[Found]:
        """One directory's files, and _Descend for each subdirectory, in name order."""
        mtime = status.st_mtime_ns if status is not None else None
        memo = self.memo if mtime is not None else None
        listed = memo.listing(absolute, mtime) if memo is not None and mtime is not None else None
        linked = False
        if listed is not None:
            names, directories = listed
        else:
            try:
                names, directories, linked = listing.scan(absolute)
            except OSError as error:
                yield Found(Path(shown), error.strerror or str(error))
                return
        listing.remember(absolute, names, directories)
        settings = self.settings_for(absolute, is_dir=True)
        if within is not None and within[0] is settings:
            base = within[1]
        else:
            base = settings.relative_directory(absolute)
        if ignores is not None:  # this directory's own .gitignore, unless inherited already
            here = gitignore.load(absolute)
            if here is not None and (not ignores or ignores[-1].base != absolute):
                ignores = (*ignores, here)
        key = memo.key(settings, ignores) if memo is not None else ""
        kept = None
        if memo is not None and mtime is not None and listed is not None:
            kept = memo.kept(absolute, mtime, key)
        if kept is None:
            kept = _kept(absolute, names, directories, settings, base, ignores)
            if memo is not None and mtime is not None and not linked:
                memo.store(absolute, mtime, names, directories, key, kept)
        # `os.path.join` per entry cost more than the rest of the loop.
        prefix = shown if shown.endswith((os.sep, os.altsep or os.sep)) else shown + os.sep
        inside = absolute if absolute.endswith(os.sep) else absolute + os.sep
        for name in kept:
            child = prefix + name
            if name in directories:
                yield _Descend(
                    child,
                    args=(inside + name, child),
                    ignores=ignores,
                    within=(settings, f"{base}/{name}" if base else name),
                )
            elif child not in self.seen:
                self.seen.add(child)
                yield Found(child, absolute=inside + name)


def _kept(
    absolute: str,
    names: list[str],
    directories: frozenset[str],
    settings: Settings,
    base: str,
    ignores: Optional[tuple[gitignore.IgnoreFile, ...]],
) -> list[str]:
    """The entries of a directory the walk keeps: files it checks and
    directories to enter, neither excluded nor ignored."""
    inside = absolute if absolute.endswith(os.sep) else absolute + os.sep
    kept = []
    for name in names:
        is_dir = name in directories
        relative = f"{base}/{name}" if base else name
        if not is_dir and not settings.is_included_name(name, relative):
            continue  # not a file we check: no need to ask the patterns about it
        if settings.is_excluded_name(name, relative):
            continue
        if ignores and gitignore.is_ignored(inside + name, is_dir, ignores):
            continue
        kept.append(name)
    return kept


def _status(path: str) -> Optional[os.stat_result]:
    try:
        return os.stat(path)
    except OSError:
        return None


def _identity(status: Optional[os.stat_result]) -> Optional[tuple[int, int]]:
    return None if status is None else (status.st_dev, status.st_ino)


def _is_within(link: str) -> bool:
    """Whether a directory link leads to a directory above it: a loop, not a
    second way into a directory walked already (which is passed over quietly)."""
    target = os.path.realpath(link)
    parent = os.path.realpath(os.path.dirname(link))
    return parent == target or parent.startswith(target.rstrip(os.sep) + os.sep)
