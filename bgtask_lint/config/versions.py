"""Which FastAPI and Starlette versions a project runs on, as a range: the
`target-fastapi` / `target-starlette` settings (one version), else the pin
nearest the checked file (config/pins.py finds it).

BGT009's severity and BGT008's finding depend on FastAPI's: 0.106 to 0.117
tears a yield dependency down before the response is sent (closing its
resources and UploadFiles before background tasks run, but running a task its
teardown adds); every other version tears down after the tasks ran
(bench/fastapi_versions.py measures it).
BGT006's middleware form depends on Starlette's: 0.38.3 and 0.38.4 never run
a background set on a middleware's `call_next` response.

A pin is read as the range of versions it allows, not as one version:
`fastapi>=0.100` allows 0.110 too, so it neither proves a pattern safe nor
proves it broken.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Optional

# The one place that picks the TOML reader; the configuration imports it from here.
if sys.version_info >= (3, 11):
    import tomllib as tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]  # noqa: F401

Version = tuple[int, ...]

_VERSION = re.compile(r"^\d+(\.\d+){1,2}$")
# One clause of a specifier: `>=0.110`, `~=0.111.0`, poetry's `^0.109`, a
# bare `0.104.1`, `==0.115.*`; a pre-release suffix (`0.115.0rc1`) is read as
# its release.
_CLAUSE = re.compile(
    r"(?P<operator>===|==|~=|!=|<=|>=|<|>|\^|~)?\s*v?"
    r"(?P<version>\d+(?:\.\d+)*)(?P<wildcard>\.\*)?(?:[a-z]+\d*)?",
    re.IGNORECASE,
)

_SHOWN = {"fastapi": "FastAPI", "starlette": "Starlette"}

# FastAPI ran a yield dependency's teardown before the response (and its
# background tasks) in these versions: inclusive, exclusive.
TEARDOWN_BEFORE_RESPONSE: tuple[Version, Version] = ((0, 106, 0), (0, 118, 0))
# Starlette never ran a background set on a middleware's `call_next` response.
LOST_IN_MIDDLEWARE: tuple[Version, Version] = ((0, 38, 3), (0, 38, 5))


@dataclass(frozen=True)
class Pin:
    """The versions of a package a project allows, and where it says so."""

    package: str
    low: Version  # inclusive, three parts
    high: Optional[Version]  # exclusive, three parts; None: no upper bound
    written: str  # as the project wrote it: "fastapi==0.115.0", "0.115" for a setting
    source: str  # "docker/api/requirements.txt", or "`target-fastapi`"

    @classmethod
    def exactly(cls, package: str, version: Version, source: str) -> Pin:
        return cls(package, _three(version), _next(version), show_version(version), source)

    def within(self, interval: tuple[Version, Version]) -> Optional[bool]:
        """Whether every allowed version lies in `interval` (True), none does
        (False), or some do (None)."""
        low, high = interval
        if (self.high is not None and self.high <= low) or self.low >= high:
            return False
        if self.low >= low and self.high is not None and self.high <= high:
            return True
        return None

    def named(self) -> str:
        """`fastapi==0.115.0` (docker/requirements.txt); FastAPI 0.115 (`target-fastapi`)."""
        if self.source.startswith("`"):
            return f"{_SHOWN.get(self.package, self.package)} {self.written} ({self.source})"
        return f"`{self.written}` ({self.source})"


def tears_down_before_response(pin: Optional[Pin]) -> Optional[bool]:
    """Whether FastAPI tears a (default-scope) yield dependency down before
    the response is sent on every version `pin` allows (True), on none
    (False); None when unknown or when some do."""
    return None if pin is None else pin.within(TEARDOWN_BEFORE_RESPONSE)


def show_version(version: Version) -> str:
    return ".".join(str(part) for part in version)


def parse_version(text: str) -> Optional[Version]:
    text = text.strip()
    if not _VERSION.match(text):
        return None
    return tuple(int(part) for part in text.split("."))


def allowed(specifier: str) -> Optional[tuple[Version, Optional[Version]]]:
    """The versions a specifier allows, as (low inclusive, high exclusive or
    None); None when it names no version (`*`, a URL) or none satisfies it.
    Clauses are joined by commas or spaces (all must hold) or by poetry's
    `||` (either may: the range spans both)."""
    ranges = []
    for part in specifier.split("||"):
        versions = _intersection(part)
        if versions is None:
            return None
        ranges.append(versions)
    highs = [high for _, high in ranges]
    top = None if None in highs else max(high for high in highs if high is not None)
    return min(low for low, _ in ranges), top


def _intersection(specifier: str) -> Optional[tuple[Version, Optional[Version]]]:
    low: Version = (0, 0, 0)
    high: Optional[Version] = None
    named = False
    for match in _CLAUSE.finditer(specifier):
        operator, version = match.group("operator") or "==", _parse(match.group("version"))
        if operator == "!=":
            continue
        named = True
        if match.group("wildcard") and operator in ("==", "==="):
            clause_low, clause_high = _three(version), _bump(version, len(version) - 1)
        elif operator in ("==", "==="):
            clause_low, clause_high = _three(version), _next(version)
        elif operator == "~=":
            clause_low, clause_high = _three(version), _bump(version, max(len(version) - 2, 0))
        elif operator == "^":  # poetry: the leftmost non-zero part may not change
            first = next((i for i, part in enumerate(version) if part), len(version) - 1)
            clause_low, clause_high = _three(version), _bump(version, first)
        elif operator == "~":  # poetry: the minor version may not change
            clause_low, clause_high = _three(version), _bump(version, min(len(version) - 1, 1))
        elif operator == ">=":
            clause_low, clause_high = _three(version), None
        elif operator == ">":
            clause_low, clause_high = _next(version), None
        elif operator == "<":
            clause_low, clause_high = (0, 0, 0), _three(version)
        else:  # "<="
            clause_low, clause_high = (0, 0, 0), _next(version)
        low = max(low, clause_low)
        if clause_high is not None:
            high = clause_high if high is None else min(high, clause_high)
    if not named or (high is not None and low >= high):
        return None
    return low, high


def _parse(text: str) -> Version:
    return tuple(int(part) for part in text.split("."))


def _three(version: Version) -> Version:
    return (*version, 0, 0, 0)[:3]


def _next(version: Version) -> Version:
    """The first release after `version` (its next patch)."""
    major, minor, patch = _three(version)
    return major, minor, patch + 1


def _bump(version: Version, index: int) -> Version:
    """`version` with part `index` raised by one and the parts after it zero."""
    parts = list(_three(version))
    index = min(index, 2)
    parts[index] += 1
    for later in range(index + 1, 3):
        parts[later] = 0
    return tuple(parts)
