"""The values every other module passes around: locations, edits, fixes, findings.

They mirror ruff's JSON schema field by field, so that the JSON writer is a plain
dump and tools that read ruff's output read ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

HOMEPAGE = "https://github.com/bgtask-lint/bgtask-lint"
SAFE = "safe"
UNSAFE = "unsafe"
# Problems with the input itself, reported like findings (never selectable).
SYNTAX_ERROR = ("BGT900", "syntax-error")
IO_ERROR = ("BGT901", "io-error")


@dataclass(frozen=True, order=True)
class Location:
    """A position in a file: row and column are both 1-based, as in ruff."""

    row: int
    column: int


@dataclass(frozen=True)
class Edit:
    """Replace the text between two locations (end exclusive) with `content`."""

    content: str
    location: Location
    end_location: Location


@dataclass(frozen=True)
class Fix:
    applicability: str  # SAFE or UNSAFE
    message: str
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Related:
    """Another place on a finding's chain (the route a value comes from, the
    blocking call under a helper): SARIF's relatedLocations."""

    filename: str  # absolute
    location: Location
    message: str


@dataclass(frozen=True)
class Diagnostic:
    code: str
    name: str
    message: str
    filename: str
    location: Location
    end_location: Location
    fix: Optional[Fix] = None
    noqa_row: Optional[int] = None
    severity: str = "error"
    related: tuple[Related, ...] = ()
    # Source lines around the finding, kept for the `full` output format only.
    source_lines: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def url(self) -> str:
        return rule_url(self.code)


def rule_url(code: str) -> str:
    """The page of rule `code`."""
    return f"{HOMEPAGE}/blob/main/docs/rules/{code}.md"


def file_error(filename: str, message: str, kind: tuple[str, str] = IO_ERROR) -> Diagnostic:
    code, name = kind
    return Diagnostic(
        code=code,
        name=name,
        message=message,
        filename=filename,
        location=Location(1, 1),
        end_location=Location(1, 1),
    )
