"""What rules may read from the configuration (a light module: the cache and
the configuration need it without importing libcst)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from bgtask_lint.config.blocking import BLOCKING_CALLS
from bgtask_lint.config.formatting import DEFAULT_LINE_LENGTH
from bgtask_lint.config.versions import Pin

DEFAULT_MAX_CALL_DEPTH = 4

# The report formats (output/formats.py writes them), named here because
# `output-format` is a setting.
OUTPUT_FORMATS = (
    "full",
    "concise",
    "grouped",
    "json",
    "json-lines",
    "junit",
    "github",
    "gitlab",
    "pylint",
    "rdjson",
    "azure",
    "sarif",
)


@dataclass(frozen=True)
class RuleOptions:
    """What rules may read from the configuration."""

    # Qualified names that block the event loop: the built-in list plus config.
    blocking_calls: frozenset[str] = BLOCKING_CALLS
    # The FastAPI versions the file runs on, when known: `target-fastapi`,
    # else the pin nearest the file (config/pins.py).
    fastapi: Optional[Pin] = None
    # The Starlette versions, the same way (`target-starlette`).
    starlette: Optional[Pin] = None
    # Report what those versions make safe, as warnings (`portability`).
    portability: bool = False
    # How many calls deep BGT003 follows a task, across modules.
    max_call_depth: int = DEFAULT_MAX_CALL_DEPTH
    # The line length of the project's formatter: fixes wrap what they write to it.
    line_length: int = DEFAULT_LINE_LENGTH
