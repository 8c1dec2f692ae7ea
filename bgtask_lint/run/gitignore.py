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
from functools import lru_cache
from typing import Optional

from bgtask_lint.config import listing


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern
    negate: bool
    directory_only: bool
    # A pattern that is a plain name (`__pycache__`, `.venv`): it matches an
    # entry by its last component, which a set lookup answers.
    name: Optional[str] = None


class IgnoreFile:
    """The rules of one .gitignore, relative to the directory it is in."""

    def __init__(self, base: str, rules: tuple[_Rule, ...]) -> None:
        self.base = base
        self.rules = rules
        self._prefix = base.rstrip(os.sep) + os.sep
        # For each kind of entry (file, directory), every rule that can apply
        # to it as one set of plain names and one expression: most paths match
        # no rule, and these say so at once. The rules' order, which decides
        # between `!` and the others, is read only for paths that match.
        self._names: dict[bool, frozenset[str]] = {}
        self._globs: dict[bool, re.Pattern] = {}
        for is_dir in (False, True):
            applicable = [r for r in rules if is_dir or not r.directory_only]
            self._names[is_dir] = frozenset(r.name for r in applicable if r.name is not None)
            globs = [f"(?:{r.regex.pattern})" for r in applicable if r.name is None]
            self._globs[is_dir] = re.compile("|".join(globs) or "(?!)")

    def verdict(self, path: str, is_dir: bool) -> Optional[bool]:
        """True (ignored), False (re-included by `!`) or None (no rule matches)."""
        if not path.startswith(self._prefix):
            return None
        relative = path[len(self._prefix) :]
        if os.sep != "/":
            relative = relative.replace(os.sep, "/")
        name = relative.rpartition("/")[2]
        if name not in self._names[is_dir] and self._globs[is_dir].match(relative) is None:
            return None
        for rule in reversed(self.rules):  # the last matching pattern wins
            if (is_dir or not rule.directory_only) and rule.regex.match(relative):
                return not rule.negate
        return None


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
    .git/info/exclude), or None."""
    lines: list[str] = []
    names = listing.names_in(directory)
    for name in (".gitignore", os.path.join(".git", "info", "exclude")):
        if name.split(os.sep)[0] not in names:
            continue  # no file to open (opening it would say so, one call later)
        try:
            with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as f:
                lines.extend(f.read().splitlines())
        except OSError:
            continue
    rules = tuple(rule for rule in map(_compile, lines) if rule is not None)
    return IgnoreFile(directory, rules) if rules else None


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
    body = _translate(line)
    prefix = "" if anchored else "(?:.*/)?"
    plain = not anchored and not any(c in line for c in "*?[\\")
    return _Rule(re.compile(f"^{prefix}{body}$"), negate, directory_only, line if plain else None)


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
