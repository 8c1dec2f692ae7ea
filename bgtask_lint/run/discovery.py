"""Which files a run checks: walk the given paths, skip excluded directories."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Protocol, Union

from bgtask_lint.config import listing
from bgtask_lint.config.settings import Settings, SettingsResolver
from bgtask_lint.run import gitignore


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
) -> Iterator[Found]:
    """Files under `paths`, in a stable order. A path named on the command line is
    checked even when it matches `exclude` or .gitignore, unless `force_exclude`
    (as in ruff, so that pre-commit, which names every file, still honours
    `exclude`). `for_context`: the files are read only for what they tell about
    checked ones, so a broken configuration among them is passed over."""
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
            yield from _walk(absolute, str(path), settings_for, seen, ignores)
        elif str(path) not in seen:
            seen.add(str(path))
            yield Found(path)


def _walk(
    absolute: str,
    shown: str,
    settings_for: SettingsFor,
    seen: set[str],
    ignores: Optional[tuple[gitignore.IgnoreFile, ...]],
) -> Iterator[Found]:
    """Walk a directory depth first, entries in name order; `shown` is how its
    paths are spelled in reports; `ignores` the .gitignore files in force (None:
    .gitignore not respected). A loop over a stack of open directories, not
    recursion: a tree can be deeper than Python's stack."""
    # Each directory is entered once, known by its (st_dev, st_ino): through a
    # symlink a tree can reach itself (`ln -s .. up`), and every file would
    # come again under each of its spellings, or never stop (`ln -s . self`).
    entered: set[Optional[tuple[int, int]]] = {_identity(absolute)}
    stack: list[Iterator[Found]] = [_directory(absolute, shown, settings_for, seen, ignores)]
    while stack:
        found = next(stack[-1], None)
        if found is None:
            stack.pop()
        elif isinstance(found, _Descend):
            identity = _identity(found.args[0])
            if identity is None or identity not in entered:
                entered.add(identity)
                stack.append(
                    _directory(*found.args, settings_for, seen, found.ignores, found.within)
                )
            elif _is_within(found.args[0]):
                yield Found(
                    found.path, "symbolic link loop: a directory above it is walked already"
                )
        else:
            yield found


def _identity(path: str) -> Optional[tuple[int, int]]:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _is_within(link: str) -> bool:
    """Whether a directory link leads to a directory above it: a loop, not a
    second way into a directory walked already (which is passed over quietly)."""
    target = os.path.realpath(link)
    parent = os.path.realpath(os.path.dirname(link))
    return parent == target or parent.startswith(target.rstrip(os.sep) + os.sep)


@dataclass
class _Descend(Found):
    """Not a file: the walk is to go into this directory next."""

    args: tuple[str, str] = ("", "")
    ignores: Optional[tuple[gitignore.IgnoreFile, ...]] = None
    # The settings of the directory above and this one's path relative to
    # their root: the same settings below need no `relpath` of their own.
    within: Optional[tuple[Settings, str]] = None


def _directory(
    absolute: str,
    shown: str,
    settings_for: SettingsFor,
    seen: set[str],
    ignores: Optional[tuple[gitignore.IgnoreFile, ...]],
    within: Optional[tuple[Settings, str]] = None,
) -> Iterator[Found]:
    """One directory's files, and _Descend for each subdirectory, in name order."""
    try:
        with os.scandir(absolute) as found:
            entries = sorted((e.name, listing.is_directory(e), e) for e in found)
    except OSError as error:
        yield Found(Path(shown), error.strerror or str(error))
        return
    listing.remember(absolute, (name for name, _, _ in entries), {n for n, d, _ in entries if d})
    settings = settings_for(absolute, is_dir=True)
    if within is not None and within[0] is settings:
        base = within[1]
    else:
        base = settings.relative_directory(absolute)
    if ignores is not None:  # this directory's own .gitignore, unless inherited already
        here = gitignore.load(absolute)
        if here is not None and (not ignores or ignores[-1].base != absolute):
            ignores = (*ignores, here)
    # `os.path.join` per entry cost more than the rest of the loop.
    prefix = shown if shown.endswith((os.sep, os.altsep or os.sep)) else shown + os.sep
    for name, is_dir, entry in entries:
        relative = f"{base}/{name}" if base else name
        if not is_dir and not settings.is_included_name(name, relative):
            continue  # not a file we check: no need to ask the patterns about it
        if settings.is_excluded_name(name, relative):
            continue
        if ignores and gitignore.is_ignored(entry.path, is_dir, ignores):
            continue
        child = prefix + name
        if is_dir:
            yield _Descend(
                child,
                args=(entry.path, child),
                ignores=ignores,
                within=(settings, relative),
            )
        elif child not in seen:
            seen.add(child)
            yield Found(child, absolute=entry.path)
