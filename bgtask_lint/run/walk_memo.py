"""What the walk found in each directory, kept between runs beside the
result cache: a warm run does not list a directory again, nor filter its
entries, while the directory is as it was.

A directory's entries change only with its modification time (an entry
added, removed or renamed, a file saved by renaming a new one over it), so
its listing is kept with that time and used while the time is the same. Which
entries the walk keeps (Python files, directories to enter, none excluded or
ignored) depends on the listing and on the configuration and .gitignore files
in force there, so that is kept with a key of both: the settings' patterns,
and each ignore file's path, size and time. Ruff's cache trusts times the same
way; a directory changed within the last seconds is not kept (its time could
still be the same after another change), nor one holding symbolic links (what
they lead to can change while the directory does not).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from bgtask_lint import __version__
from bgtask_lint.run.cache import make_directory

if TYPE_CHECKING:
    from bgtask_lint.config.settings import Settings
    from bgtask_lint.run.gitignore import IgnoreFile

# A directory changed this recently may change again within its time's
# granularity (two seconds on FAT) without the time moving on.
_SETTLED_NS = 2_000_000_000
# Names are joined by "/", which no name holds.
_SEPARATOR = "/"


class WalkMemo:
    """The walk's directories as the last run found them (see the module)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / f"walk-v{__version__}.json"
        self._settled_before = time.time_ns() - _SETTLED_NS
        self._directories: dict[str, list[Any]] = {}
        self._keys: dict[tuple[int, int], tuple[Any, Any, str]] = {}
        self.changed = False
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # missing or unreadable: start afresh
        if isinstance(raw, dict):
            self._directories = raw

    def listing(self, directory: str, mtime_ns: int) -> Optional[tuple[list[str], frozenset[str]]]:
        """The names of `directory`'s entries (sorted) and of those that are
        directories, as last listed, if its time is still `mtime_ns`."""
        kept = self._valid(directory, mtime_ns)
        if kept is None:
            return None
        return _names(kept[2]), frozenset(_names(kept[3]))

    def kept(self, directory: str, mtime_ns: int, key: str) -> Optional[list[str]]:
        """The entries the walk kept in `directory` under filters `key`, if
        it is as last listed and was filtered so."""
        kept = self._valid(directory, mtime_ns)
        if kept is None or kept[1] != key:
            return None
        return _names(kept[4])

    def _valid(self, directory: str, mtime_ns: int) -> Optional[list[Any]]:
        kept = self._directories.get(directory)
        if not isinstance(kept, list) or len(kept) != 5 or kept[0] != mtime_ns:
            return None
        if not all(isinstance(part, str) for part in kept[1:]):
            return None
        return kept

    def store(
        self,
        directory: str,
        mtime_ns: int,
        names: list[str],
        directories: frozenset[str],
        key: str,
        kept: list[str],
    ) -> None:
        """Keep what the walk found in `directory`, unless it changed too
        recently for its time to tell a later change."""
        if mtime_ns >= self._settled_before:
            self._directories.pop(directory, None)
            return
        self._directories[directory] = [
            mtime_ns,
            key,
            _SEPARATOR.join(names),
            _SEPARATOR.join(sorted(directories)),
            _SEPARATOR.join(kept),
        ]
        self.changed = True

    def store_listing(
        self, directory: str, mtime_ns: int, names: list[str], directories: frozenset[str]
    ) -> None:
        """Keep a listing asked for outside the walk (a directory above it,
        one the walk skips): with no filters, as no key is empty."""
        self.store(directory, mtime_ns, names, directories, "", [])

    def key(self, settings: Settings, ignores: Optional[tuple[IgnoreFile, ...]]) -> str:
        """What filters a directory's entries: the settings' walk patterns
        (their root too: patterns match paths below it) and the ignore
        files in force, by path and stamp (None: .gitignore not respected).
        Made once per settings and ignore files: siblings share both."""
        identity = (id(settings), id(ignores))
        known = self._keys.get(identity)
        if known is None:
            material = repr(
                (
                    str(settings.root),
                    settings.exclude,
                    settings.extend_exclude,
                    settings.extend_include,
                    None if ignores is None else [(f.base, f.stamp) for f in ignores],
                )
            )
            digest = hashlib.blake2b(material.encode(), digest_size=12).hexdigest()
            # The objects stay referenced: their ids are not reused this run.
            known = self._keys[identity] = (settings, ignores, digest)
        return known[2]

    def save(self) -> None:
        """Write the memo atomically, if this run changed it."""
        if not self.changed:
            return
        directory = self.path.parent
        make_directory(directory)
        try:
            descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".walk-")
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(self._directories, handle, sort_keys=True)
            os.replace(temporary, self.path)
        except OSError:
            pass  # a memo that cannot be written only costs the next run time
        self.changed = False


def _names(joined: str) -> list[str]:
    return joined.split(_SEPARATOR) if joined else []
