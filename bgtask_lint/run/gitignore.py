""".gitignore, as git reads it, for the directory walk (as ruff respects it).

Patterns follow gitignore(5): `#` comments, `!` negation (the last matching
pattern wins), a trailing `/` for directories only, a `/` at the start or in the
middle anchors the pattern to the .gitignore's directory (otherwise it matches a
name at any depth), and `*`, `?`, `[...]` and `**`. Files below an ignored
directory are never reached. Only applies inside a git work tree, with
`.git/info/exclude` read too.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Optional

from bgtask_lint.config import listing


@dataclass(frozen=True)
class _Rule:
    pattern: str  # the expression the path below the .gitignore must match, for a glob
    negate: bool
    directory_only: bool
    # What most rules are, answered without an expression: a plain name
    # (`__pycache__`, `.venv`) matches an entry by its last component, a
    # plain path (`/build`, `docs/_build`) the whole path below the
    # .gitignore, and `*.log` any name with that ending.
    name: Optional[str] = None
    path: Optional[str] = None
    suffix: Optional[str] = None


class IgnoreFile:
    """The rules of one .gitignore (at a repository root, with
    .git/info/exclude), relative to the directory it is in. They are read
    when first asked about: a walk that finds its directories as the last
    run did asks nothing, and needs only the files' stamps (`stamp`)."""

    def __init__(self, base: str, sources: tuple[str, ...]) -> None:
        self.base = base
        self.sources = sources  # the files the rules are read from, in order
        self._prefix = base.rstrip(os.sep) + os.sep
        self._rules: Optional[tuple[_Rule, ...]] = None
        # For each kind of entry (file, directory), every rule that can apply
        # to it as sets of plain names and paths, a tuple of endings and one
        # expression for the rest: most paths match no rule, and these say
        # so at once. The rules' order, which decides between `!` and the
        # others, is read only for paths that match.
        self._names: dict[bool, frozenset[str]] = {}
        self._paths: dict[bool, frozenset[str]] = {}
        self._suffixes: dict[bool, tuple[str, ...]] = {}
        self._globs: dict[bool, Optional[re.Pattern]] = {}

    @property
    def stamp(self) -> tuple[tuple[int, int], ...]:
        """The size and modification time of each source: what the rules
        are as long as these stay."""
        stamps = []
        for source in self.sources:
            try:
                status = os.stat(source)
            except OSError:
                stamps.append((-1, -1))
            else:
                stamps.append((status.st_size, status.st_mtime_ns))
        return tuple(stamps)

    @property
    def rules(self) -> tuple[_Rule, ...]:
        if self._rules is None:
            self._rules = self._read()
        return self._rules

    def _read(self) -> tuple[_Rule, ...]:
        lines: list[str] = []
        for source in self.sources:
            try:
                with open(source, encoding="utf-8", errors="replace") as f:
                    lines.extend(f.read().splitlines())
            except OSError:
                continue
        rules = tuple(rule for rule in map(_compile, lines) if rule is not None)
        for is_dir in (False, True):
            applicable = [r for r in rules if is_dir or not r.directory_only]
            self._names[is_dir] = frozenset(r.name for r in applicable if r.name is not None)
            self._paths[is_dir] = frozenset(r.path for r in applicable if r.path is not None)
            self._suffixes[is_dir] = tuple(r.suffix for r in applicable if r.suffix is not None)
            globs = [f"(?:{r.pattern})" for r in applicable if _is_glob(r)]
            self._globs[is_dir] = _regex("|".join(globs)) if globs else None  # often the same
        return rules

    def verdict(self, path: str, is_dir: bool) -> Optional[bool]:
        """True (ignored), False (re-included by `!`) or None (no rule matches)."""
        if not path.startswith(self._prefix):
            return None
        rules = self.rules
        relative = path[len(self._prefix) :]
        if os.sep != "/":
            relative = relative.replace(os.sep, "/")
        name = relative.rpartition("/")[2]
        globs = self._globs[is_dir]
        if not (
            name in self._names[is_dir]
            or relative in self._paths[is_dir]
            or name.endswith(self._suffixes[is_dir])
            or (globs is not None and globs.match(relative))
        ):
            return None
        for rule in reversed(rules):  # the last matching pattern wins
            if (is_dir or not rule.directory_only) and _matches(rule, relative, name):
                return not rule.negate
        return None


def _is_glob(rule: _Rule) -> bool:
    return rule.name is None and rule.path is None and rule.suffix is None


def _matches(rule: _Rule, relative: str, name: str) -> bool:
    if rule.name is not None:
        return name == rule.name
    if rule.path is not None:
        return relative == rule.path
    if rule.suffix is not None:
        return name.endswith(rule.suffix)
    return _regex(rule.pattern).match(relative) is not None


def is_ignored(path: str, is_dir: bool, files: tuple[IgnoreFile, ...]) -> bool:
    """Deeper .gitignore files decide first; within one, the last match wins."""
    for ignore_file in reversed(files):
        verdict = ignore_file.verdict(path, is_dir)
        if verdict is not None:
            return verdict
    return False


@lru_cache(maxsize=4096)
def load(directory: str) -> Optional[IgnoreFile]:
    """The .gitignore of `directory` (and, at a repository root, its
    .git/info/exclude), or None when it has neither."""
    names = listing.names_in(directory)
    sources = tuple(
        os.path.join(directory, name)
        for name in (".gitignore", os.path.join(".git", "info", "exclude"))
        if name.split(os.sep)[0] in names  # else no file to open
        and (name == ".gitignore" or os.path.isfile(os.path.join(directory, name)))
    )
    return IgnoreFile(directory, sources) if sources else None


@lru_cache(maxsize=1024)
def repository_root(directory: str) -> Optional[str]:
    """The work tree `directory` is in, if any."""
    if listing.has(directory, ".git") and os.path.exists(os.path.join(directory, ".git")):
        return directory
    parent = os.path.dirname(directory)
    return None if parent == directory else repository_root(parent)


def inherited(directory: str) -> tuple[IgnoreFile, ...]:
    """The .gitignore files from the repository root down to `directory`."""
    root = repository_root(directory)
    if root is None:
        return ()
    chain = [directory]
    while chain[-1] != root:
        chain.append(os.path.dirname(chain[-1]))
    found = (load(d) for d in reversed(chain))
    return tuple(f for f in found if f is not None)


def _compile(line: str) -> Optional[_Rule]:
    if not line.strip() or line.startswith("#"):
        return None
    negate = line.startswith("!")
    if negate:
        line = line[1:]
    elif line.startswith("\\"):
        line = line[1:]  # `\#file`, `\!file`
    line = line.rstrip(" ")
    directory_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.lstrip("/")
    plain = not any(c in line for c in "*?[\\")
    ending = line[1:]
    suffix = not anchored and line.startswith("*") and not any(c in ending for c in "*?[\\")
    pattern = ""  # a plain name or path, or an ending, needs no expression
    if not (plain or suffix):
        pattern = f"^{'' if anchored else '(?:.*/)?'}{_translate(line)}$"
    return _Rule(
        pattern,
        negate,
        directory_only,
        name=line if plain and not anchored else None,
        path=line if plain and anchored else None,
        suffix=ending if suffix else None,
    )


@cache
def _regex(pattern: str) -> re.Pattern:
    """A rule's own expression, compiled only for a path that one of its
    file's rules matches (to tell which): most rules never need it, and
    compiling each was a tenth of a warm run on a tree with 88 .gitignore
    files."""
    return re.compile(pattern)


def _translate(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            content = pattern[i + 1 : end].replace("\\", "\\\\")
            if content.startswith("!"):
                content = "^" + content[1:]
            out.append(f"[{content}]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)
