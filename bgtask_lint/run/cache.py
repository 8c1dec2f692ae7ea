"""The result cache: the findings of unchanged files, reused without reading them.

Like ruff's, an entry is recognised by the file's size and modification time,
so a warm run only `stat`s unchanged files. Findings can depend on other files
(a task defined in another module), so an entry also records the files its
check read, with their size, time and whether they were checked in that run,
and the functions of the file that other files submitted as tasks; any change
there and the file is checked again. The key also holds the tool version and
a fingerprint of the configuration that applies to the file.

The cache lives in `.bgtask_lint_cache/` in the working directory. It is
written atomically (temporary file, then rename): two runs that race leave one
complete cache or the other, never a broken one, and a cache that cannot be
read is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from bgtask_lint import __version__
from bgtask_lint.diagnostic import Diagnostic, Edit, Fix, Location, Related
from bgtask_lint.text.source import DIRECTORY, MISSING, Stamp

CACHE_DIRECTORY = ".bgtask_lint_cache"


def stamp(path: str) -> Stamp:
    try:
        info = os.stat(path)
    except OSError:
        return MISSING
    if stat.S_ISDIR(info.st_mode):
        return DIRECTORY
    return info.st_size, info.st_mtime_ns


# A dependency on what a directory lists (no file can appear in it unseen)
# is the directory's path after this prefix, stamped (LISTING, mtime_ns).
LISTING_KEY = "\0listing:"
LISTING = -3


def listing_stamp(path: str) -> Stamp:
    try:
        info = os.stat(path)
    except OSError:
        return MISSING
    return (LISTING, info.st_mtime_ns) if stat.S_ISDIR(info.st_mode) else MISSING


@dataclass
class Entry:
    stamp: Stamp
    fingerprint: str
    matters: bool  # passed the text screen
    uses: list[tuple[str, str]]  # what it says about other files: (file, fact)
    deps: dict[str, tuple[int, int, bool]]  # file -> size, mtime, was checked
    tasks_here: list[str]  # what other files said about it (Project.facts_here)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # False for a file only read to complete chains (run/context.py): its
    # facts can be reused, and its findings only as a chain's end (below).
    checked: bool = True
    # For a chain's end: the checked files its chains came from when its
    # findings were computed (they are reused for the same ones only).
    chain_from: Optional[list[str]] = None


class Cache:
    def __init__(self, directory: Path) -> None:
        self.path = directory / f"v{__version__}.json"
        # The entries read so far; the others stay as the JSON had them until
        # one is asked for. A pre-commit run on 5 files of a project whose
        # cache holds thousands asks for a few: decoding them all took longer
        # than the run's own lookups (23 ms of 7,594 entries), and writing
        # them all back encoded each again.
        self._entries: dict[str, Optional[Entry]] = {}
        self._raw: dict[str, Any] = {}
        self.changed = False
        self._stamps: dict[str, Stamp] = {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # missing or unreadable: start afresh
        if isinstance(raw, dict):  # else valid JSON of another shape: start afresh
            self._raw = raw

    def entry(self, key: str) -> Optional[Entry]:
        """The entry stored for file `key`, whatever its stamps; None when
        there is none or it is of another shape (then it is as good as
        missing)."""
        if key not in self._entries:
            raw = self._raw.get(key)
            try:
                self._entries[key] = _load_entry(raw) if raw is not None else None
            except (ValueError, LookupError, TypeError, AttributeError):
                self._entries[key] = None
        return self._entries[key]

    def stamp_of(self, path: str) -> Stamp:
        """The stamp of file `path`, or of the directory's entries when
        `path` is LISTING_KEY and the directory's path."""
        if path not in self._stamps:
            if path.startswith(LISTING_KEY):
                self._stamps[path] = listing_stamp(path[len(LISTING_KEY) :])
            else:
                self._stamps[path] = stamp(path)
        return self._stamps[path]

    def lookup(
        self, key: str, fingerprint: str, is_checked: Any, *, for_facts: bool = False
    ) -> Optional[Entry]:
        """The entry for file `key` if the file, its configuration and every
        file its findings came from are as they were (`for_facts`: only its
        facts are wanted, an entry of a file read for context will do)."""
        entry = self.entry(key)
        if entry is None or entry.fingerprint != fingerprint:
            return None
        if not entry.checked and not for_facts:
            return None
        if self.stamp_of(key) != entry.stamp:
            return None
        for dep, (size, mtime, was_checked) in entry.deps.items():
            if self.stamp_of(dep) != (size, mtime) or is_checked(dep) != was_checked:
                return None
        return entry

    def store(self, key: str, entry: Entry) -> None:
        if not self.changed:
            self._make_directory()  # before any directory's time is taken: its own changes it
        entry.deps = self._with_directories(entry.deps)
        self._entries[key] = entry
        self.changed = True

    def _with_directories(
        self, deps: dict[str, tuple[int, int, bool]]
    ) -> dict[str, tuple[int, int, bool]]:
        """`deps` with each module path found missing replaced by the nearest
        directory above it that exists, stamped with its modification time:
        a file cannot appear below it without that time changing. A route
        module's imports probe thousands of such paths (`x.py`, `x/__init__.py`,
        `x.pyi`... in every source root); kept one by one, they were most of
        the cache, and a warm run `stat`ed each."""
        collapsed: dict[str, tuple[int, int, bool]] = {}
        for dep, (size, mtime, was_checked) in deps.items():
            if dep.startswith(LISTING_KEY) or (size, mtime) != MISSING or os.path.lexists(dep):
                collapsed[dep] = (size, mtime, was_checked)  # found since: it stays, stale
                continue
            directory = os.path.dirname(dep)
            while not os.path.isdir(directory) and os.path.dirname(directory) != directory:
                directory = os.path.dirname(directory)
            collapsed[LISTING_KEY + directory] = (*self.stamp_of(LISTING_KEY + directory), False)
        return collapsed

    def save(self) -> None:
        if not self.changed:
            return
        everything = dict(self._raw)  # the entries never read go back as they came
        for name, entry in self._entries.items():
            if entry is not None:
                everything[name] = _dump_entry(entry)
        data = json.dumps(everything)
        directory = self.path.parent
        try:
            self._make_directory()
            descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".cache-")
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(data)
            os.replace(temporary, self.path)
        except OSError:
            pass  # a cache that cannot be written only costs the next run time

    def _make_directory(self) -> None:
        make_directory(self.path.parent)


def make_directory(directory: Path) -> None:
    """The cache directory, made with a .gitignore that ignores it all."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if not (directory / ".gitignore").exists():
            (directory / ".gitignore").write_text("*\n")
    except OSError:
        pass  # save says so by writing nothing


def fingerprint(codes: frozenset[str], options: Optional[Any], *context: Any) -> str:
    """What besides the file shapes its findings: version, rules, every rule
    option (the dataclass's fields, so a new option cannot be forgotten), and
    the run's `context` (source roots, file size limit)."""
    material = repr(
        (
            __version__,
            sorted(codes),
            sorted(
                (name, sorted(value) if isinstance(value, frozenset) else value)
                for name, value in (vars(options) if options is not None else {}).items()
            ),
            context,
        )
    )
    return hashlib.blake2b(material.encode(), digest_size=16).hexdigest()


def _dump_entry(entry: Entry) -> Any:
    """An entry as JSON. Most files of a tree have nothing to say: theirs is
    a list of four, which a warm run decodes in a fraction of the time."""
    if _is_plain(entry):
        return [*entry.stamp, entry.fingerprint, entry.matters]
    return {
        "stamp": list(entry.stamp),
        "fingerprint": entry.fingerprint,
        "matters": entry.matters,
        "uses": [list(u) for u in entry.uses],
        "deps": {k: list(v) for k, v in entry.deps.items()},
        "tasks_here": entry.tasks_here,
        "diagnostics": [_dump_diagnostic(d) for d in entry.diagnostics],
        "checked": entry.checked,
        "chain_from": entry.chain_from,
    }


def says_nothing(entry: Entry) -> bool:
    """Whether `entry` is of a checked file whose text passed no rule's
    screen, with no findings and nothing said by or about it."""
    return not entry.matters and _is_plain(entry)


def _is_plain(entry: Entry) -> bool:
    return (
        entry.checked
        and entry.chain_from is None
        and not (entry.uses or entry.deps or entry.tasks_here or entry.diagnostics)
    )


def _load_entry(raw: Any) -> Entry:
    """An entry from its JSON; any other shape raises (TypeError, KeyError...)."""
    if isinstance(raw, list):
        size, mtime, fingerprint, matters = raw
        return Entry((int(size), int(mtime)), str(fingerprint), bool(matters), [], {}, [])
    size, mtime = raw["stamp"]
    deps = {str(k): (int(a), int(b), bool(c)) for k, (a, b, c) in raw["deps"].items()}
    return Entry(
        stamp=(int(size), int(mtime)),
        fingerprint=str(raw["fingerprint"]),
        matters=bool(raw["matters"]),
        uses=[(str(path), str(key)) for path, key in raw["uses"]],
        deps=deps,
        tasks_here=[str(key) for key in raw["tasks_here"]],
        diagnostics=[_load_diagnostic(d) for d in raw["diagnostics"]],
        checked=bool(raw.get("checked", True)),
        chain_from=None if raw.get("chain_from") is None else [str(p) for p in raw["chain_from"]],
    )


def _location(raw: list[int]) -> Location:
    return Location(raw[0], raw[1])


def _dump_diagnostic(d: Diagnostic) -> dict:
    fix = None
    if d.fix is not None:
        fix = {
            "applicability": d.fix.applicability,
            "message": d.fix.message,
            "edits": [
                [
                    e.content,
                    [e.location.row, e.location.column],
                    [e.end_location.row, e.end_location.column],
                ]
                for e in d.fix.edits
            ],
        }
    return {
        "code": d.code,
        "name": d.name,
        "message": d.message,
        "filename": d.filename,
        "location": [d.location.row, d.location.column],
        "end_location": [d.end_location.row, d.end_location.column],
        "fix": fix,
        "noqa_row": d.noqa_row,
        "severity": d.severity,
        "related": [[r.filename, r.location.row, r.location.column, r.message] for r in d.related],
    }


def _load_diagnostic(raw: dict) -> Diagnostic:
    fix = None
    if raw["fix"] is not None:
        edits = tuple(
            Edit(content, _location(start), _location(end))
            for content, start, end in raw["fix"]["edits"]
        )
        fix = Fix(raw["fix"]["applicability"], raw["fix"]["message"], edits)
    return Diagnostic(
        code=raw["code"],
        name=raw["name"],
        message=raw["message"],
        filename=raw["filename"],
        location=_location(raw["location"]),
        end_location=_location(raw["end_location"]),
        fix=fix,
        noqa_row=raw["noqa_row"],
        severity=raw["severity"],
        related=tuple(
            Related(str(path), Location(int(row), int(column)), str(message))
            for path, row, column, message in raw.get("related", [])
        ),
    )
