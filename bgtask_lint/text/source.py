"""Reading Python source as Python does: BOM, PEP 263 coding cookie, UTF-8."""

from __future__ import annotations

import os
import re
import stat
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


def shown_path(path: str, root: Optional[Path]) -> str:
    """How messages name file `path`: relative to the project `root` (the
    same whatever the working directory, so cached messages stay right),
    else as it was given."""
    if root is not None:
        relative = os.path.relpath(path, root)
        if not relative.startswith(".."):
            return relative.replace(os.sep, "/")
    return path


def decode_source(data: bytes) -> DecodedSource:
    """Decode as Python does: BOM, then a PEP 263 coding cookie, else UTF-8."""
    if not data.startswith(b"\xef\xbb\xbf") and b"coding" not in _first_two_lines(data):
        # Nearly every file: no BOM, no cookie. Skip tokenize's line-by-line look.
        try:
            return DecodedSource(data.decode("utf-8"), "utf-8")
        except UnicodeDecodeError:
            pass  # fall through to say where, below
    # Lines as CPython's tokenizer ends them (CR alone too: io.BytesIO's
    # readline would hand tokenize the whole of a CR-only file as line one).
    first_lines = iter(_BYTE_LINES.findall(data, 0, 4096)[:2])
    try:
        encoding, _ = tokenize.detect_encoding(lambda: next(first_lines, b""))
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


_BYTE_LINES = re.compile(rb"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+$")
# Line breaks as libcst and the tokenizer count them (str.splitlines also splits
# on form feeds and other characters, which would shift rows).
NEWLINE = re.compile(r"\r\n?|\n")


def _first_two_lines(data: bytes) -> bytes:
    if b"\r" in data[:4096]:
        return data[:4096]  # CR line ends: let the careful path look
    first = data.find(b"\n")
    if first == -1:
        return data
    second = data.find(b"\n", first + 1)
    return data if second == -1 else data[:second]


# Files larger than this are not parsed: libcst needs about 11 KB of memory
# per line (a 200,000-line module of routes peaked at 2.2 GB).
# `max-file-size` in the configuration.
DEFAULT_MAX_FILE_SIZE = 2 * 1024 * 1024
# The memory follows the lines, not the bytes (a 1 MiB file of `x = 1` lines
# took 1.6 GB), so a file is also too large past one line per this many bytes
# of the limit: 43,690 lines at the default (real code averages 30 to 50 bytes
# a line; litellm's 920 KiB proxy_server.py has 21,000), about 480 MB of
# libcst at the worst.
BYTES_PER_LINE = 48
# Whatever `max-file-size` says, a file of more lines is refused before it
# is parsed, so that one file cannot take more than about 1 GB: cutting the
# file to the statements that matter is no way out, as even Python's own
# parser takes 3 GB for a million lines of routes.
MAX_LINES = 90_000
KB_PER_LINE = 11


def max_lines(max_size: int) -> int:
    return min(max_size // BYTES_PER_LINE, MAX_LINES)


Stamp = tuple[int, int]  # size, modification time in nanoseconds
# Stamps of what is not a readable file's content: a finding may depend on a
# module not existing (a later one would shadow or resolve an import) or on a
# directory existing (`src/`).
MISSING: Stamp = (-1, -1)
DIRECTORY: Stamp = (-2, 0)


class UnreadableFile(Exception):
    """A path that is not read: its message is the one-line reason."""


class TooLarge(UnreadableFile):
    """A regular file over `max-file-size`."""


def read_file(path: str, max_size: int = DEFAULT_MAX_FILE_SIZE) -> tuple[bytes, Stamp]:
    """The bytes of a regular file and the stamp they were read at (taken
    before reading, so a file saved while it is read looks changed next time).
    A FIFO, a device (a link to /dev/zero) or a file over `max_size` is not
    read: UnreadableFile says why."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise UnreadableFile(f"cannot read file: {error.strerror or error}") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile("not a regular file; skipped")
        if info.st_size > max_size:
            raise TooLarge(
                f"file is larger than `max-file-size` ({_size(info.st_size)} > "
                f"{_size(max_size)}); skipped"
            )
        chunks = []
        remaining = max_size + 1  # a file that grows while read is still bounded
        while remaining > 0:
            chunk = os.read(descriptor, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_size:
            raise TooLarge(f"file is larger than `max-file-size` ({_size(max_size)}); skipped")
        # A file cannot have more lines than bytes: count only when it could matter.
        lines = data.count(b"\n") or data.count(b"\r") if len(data) > max_lines(max_size) else 0
        if lines > max_lines(max_size):
            raise TooLarge(_too_many_lines(lines, max_size))
        return data, (info.st_size, info.st_mtime_ns)
    except OSError as error:
        raise UnreadableFile(f"cannot read file: {error.strerror or error}") from None
    finally:
        os.close(descriptor)


def might_matter(path: str) -> bool:
    """Whether a file too large to parse mentions what the text screen looks
    for, read through a memory map (the file is never loaded whole)."""
    import mmap

    try:
        with (
            open(path, "rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            if data.find(b"BackgroundTask") != -1 or data.find(b".background") != -1:
                return True
            return data.find(b"BGT") != -1 and data.find(b"noqa") != -1
    except (OSError, ValueError):
        return True  # cannot tell: say it was skipped


def _too_many_lines(lines: int, max_size: int) -> str:
    if max_size // BYTES_PER_LINE <= MAX_LINES:
        why = f"one per {BYTES_PER_LINE} bytes of `max-file-size`"
    else:
        memory = lines * KB_PER_LINE * 1024
        why = f"parsing it would take about {_size(memory)} of memory"
    return f"file has too many lines to parse ({lines:,} > {max_lines(max_size):,}, {why}); skipped"


def _size(size: int) -> str:
    if size >= 1024**3:
        return f"{size / 1024**3:.1f} GiB"
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MiB"
    return f"{size / 1024:.0f} KiB" if size >= 1024 else f"{size} bytes"


def read_source(
    path: Path, max_size: int = DEFAULT_MAX_FILE_SIZE
) -> tuple[Optional[str], Optional[Stamp]]:
    """The decoded text of `path` (None when it cannot be read or decoded) and
    the stamp of the bytes read (None when nothing was read)."""
    try:
        data, stamp = read_file(str(path), max_size)
    except UnreadableFile:
        return None, None
    try:
        return decode_source(data).text, stamp
    except DecodeError:
        return None, stamp
