"""Reading Python source as Python does: BOM, PEP 263 coding cookie, UTF-8."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Optional


@dataclass(frozen=True)
class DecodedSource:
    text: str
    encoding: str  # as tokenize names it: "utf-8-sig" when the file has a BOM


class DecodeError(Exception):
    pass


def decode_source(data: bytes) -> DecodedSource:
    """Decode as Python does: BOM, then a PEP 263 coding cookie, else UTF-8."""
    if not data.startswith(b"\xef\xbb\xbf") and b"coding" not in _first_two_lines(data):
        # Nearly every file: no BOM, no cookie. Skip tokenize's line-by-line look.
        try:
            return DecodedSource(data.decode("utf-8"), "utf-8")
        except UnicodeDecodeError:
            pass  # fall through to say where, below
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        if "unknown encoding" in str(error):
            raise DecodeError(f"cannot decode file: {error}") from None
        # Bad UTF-8 in the first two lines: say where, as for any other line.
        encoding = "utf-8"
    try:
        return DecodedSource(data.decode(encoding), encoding)
    except (UnicodeDecodeError, LookupError) as error:
        if not isinstance(error, UnicodeDecodeError):
            raise DecodeError(f"cannot decode file: {error}") from None
        line = data.count(b"\n", 0, error.start) + 1
        raise DecodeError(
            f"cannot decode file as {encoding}: invalid byte "
            f"{data[error.start]:#04x} on line {line}"
        ) from None


# Line breaks as libcst and the tokenizer count them (str.splitlines also splits
# on form feeds and other characters, which would shift rows).
NEWLINE = re.compile(r"\r\n?|\n")


def _first_two_lines(data: bytes) -> bytes:
    first = data.find(b"\n")
    if first == -1:
        return data
    second = data.find(b"\n", first + 1)
    return data if second == -1 else data[:second]


def read_source(path: Path) -> Optional[str]:
    """The decoded text of `path`, or None when it cannot be read or decoded."""
    try:
        return decode_source(path.read_bytes()).text
    except (OSError, DecodeError):
        return None


# A file without these words cannot produce a finding, so it is never parsed
# (most of any codebase): every receiver, annotation or constructor a rule
# looks at spells `BackgroundTask(s)`, and BGT006 also reads `.background =`.
# A module that only defines tasks submitted elsewhere is checked all the same
# (see runner.py).
_BACKGROUND_ASSIGNMENT = re.compile(r"\.background\s*=(?!=)")


def needs_check(text: str) -> bool:
    """Whether any rule can report on this text (the cheap screen). Substring
    tests first: they run at memory speed, a regular expression does not."""
    if "BackgroundTask" in text:
        return True
    if "BGT" in text and "noqa" in text:
        return True  # a `# noqa: BGT...` here can only be unused (BGT100)
    return ".background" in text and _BACKGROUND_ASSIGNMENT.search(text) is not None
