"""Where in the project's code something happened, read off the stack, and
whether a `# noqa` on that line silences it."""

from __future__ import annotations

import linecache
import os
import re
import sys
from types import FrameType
from typing import Any, Optional

from bgtask_lint.runtime.records import Finding, Site

# The runtime companion's own frames are not the project's.
_HERE = os.path.normcase(os.path.dirname(os.path.abspath(__file__)))
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.I)


def _is_library(filename: str) -> bool:
    path = os.path.normcase(os.path.abspath(filename))
    return (
        path.startswith(_HERE + os.sep)
        or "site-packages" in path
        or "dist-packages" in path
        or path.startswith(_STDLIB)
        or filename.startswith("<")
    )


_STDLIB = os.path.normcase(os.path.dirname(os.__file__))


def site_here() -> Site:
    """The innermost frame of the project's code that led here."""
    return deepest_project_frame(sys._getframe(1))


def where() -> tuple[Site, Any]:
    """`site_here()`, with the code object of that frame."""
    frame = _project_frame(sys._getframe(1))
    if frame is None:
        return None, None
    return (frame.f_code.co_filename, frame.f_lineno), frame.f_code


def deepest_project_frame(frame: Optional[FrameType]) -> Site:
    """Where the innermost frame of the project's code at or above `frame` is."""
    found = _project_frame(frame)
    return (found.f_code.co_filename, found.f_lineno) if found is not None else None


def _project_frame(frame: Optional[FrameType]) -> Optional[FrameType]:
    while frame is not None and _is_library(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


def made_by_fastapi() -> tuple[bool, bool]:
    """(FastAPI made this BackgroundTasks for a parameter, for a websocket
    route), read off the stack that is making it."""
    frame: Optional[FrameType] = sys._getframe(2)
    injected = False
    while frame is not None:
        filename = frame.f_code.co_filename.replace("\\", "/")
        if "/fastapi/dependencies/" in filename:
            injected = True
        elif injected and "/fastapi/routing" in filename and "websocket" in frame.f_locals:
            return True, True
        elif not _is_library(filename):
            break
        frame = frame.f_back
    return injected, False


def silenced(finding: Finding) -> bool:
    if finding.site is None:
        return False
    line = linecache.getline(finding.site[0], finding.site[1])
    match = _NOQA.search(line)
    if match is None:
        return False
    codes = match.group("codes")
    return codes is None or finding.code in re.split(r"[\s,]+", codes.upper())
