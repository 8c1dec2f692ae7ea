"""Output formats. Each writer takes the run's diagnostics and returns text.

`json` is ruff's schema field for field (plus nothing), so that anything that
reads `ruff check --output-format json` reads ours.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Callable

from bgtask_lint.diagnostic import SAFE, UNSAFE, Diagnostic
from bgtask_lint.output import TEXT_FORMATS
from bgtask_lint.output.shared import (
    PLAIN,
    Palette,
    diagnostic_to_json,
    display_path,
    source_lines,
)
from bgtask_lint.text.edits import split_lines


def fixable_mark(diagnostic: Diagnostic, unsafe_fixes: bool = False) -> str:
    fix = diagnostic.fix
    if fix is not None and (fix.applicability == SAFE or unsafe_fixes):
        return "[*] "
    return ""


def _mark(d: Diagnostic, unsafe_fixes: bool, palette: Palette) -> str:
    mark = fixable_mark(d, unsafe_fixes)
    return palette.fix(mark.rstrip()) + " " if mark else ""


def format_concise(
    diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False, palette: Palette = PLAIN
) -> str:
    colon = palette.separator(":")
    return "".join(
        f"{palette.path(display_path(d.filename))}{colon}{d.location.row}{colon}"
        f"{d.location.column}{colon} {palette.code(d.code)} {_mark(d, unsafe_fixes, palette)}"
        f"{d.message}\n"
        for d in diagnostics
    )


def format_full(
    diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False, palette: Palette = PLAIN
) -> str:
    """The source line under a caret, in ruff's current layout."""
    blocks = []
    for d in diagnostics:
        header = (
            f"{palette.code(d.code)} {_mark(d, unsafe_fixes, palette)}{palette.bold(d.message)}\n"
            f" {palette.gutter('-->')} {palette.path(display_path(d.filename))}:"
            f"{d.location.row}:{d.location.column}\n"
        )
        # As ruff: what the fix would do, under the excerpt (safe or not).
        help_line = f"{palette.bold('help')}: {d.fix.message}\n" if d.fix is not None else ""
        blocks.append(header + _excerpt(d, palette) + help_line)
    return "\n".join(blocks)


def format_grouped(
    diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False, palette: Palette = PLAIN
) -> str:
    """ruff's `grouped`: the findings under their file, `row:column` aligned."""
    by_file: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        by_file.setdefault(d.filename, []).append(d)
    blocks = []
    colon = palette.separator(":")
    for filename, found in by_file.items():
        rows = max(len(str(d.location.row)) for d in found)
        columns = max(len(str(d.location.column)) for d in found)
        lines = [f"{palette.path(display_path(filename))}:"]
        for d in found:
            where = f"{d.location.row:>{rows}}{colon}{d.location.column:<{columns}}"
            lines.append(
                f"  {where} {palette.code(d.code)} {_mark(d, unsafe_fixes, palette)}{d.message}"
            )
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks) + ("\n" if blocks else "")


def _excerpt(d: Diagnostic, palette: Palette = PLAIN) -> str:
    lines = source_lines(d)
    if not lines:
        return ""
    first = max(d.location.row - 1, 1)
    last = min(d.end_location.row + 1, len(lines), d.location.row + 5)
    # Trailing empty context lines add nothing.
    while last > d.location.row and not lines[last - 1].strip():
        last -= 1
    width = len(str(last))
    gutter = palette.gutter(" " * width + " |")
    out = [gutter]
    for row in range(first, last + 1):
        text = lines[row - 1].expandtabs(1)
        number = palette.gutter(f"{row:>{width}} |")
        out.append(f"{number} {text}".rstrip())
        if row == d.location.row:
            start = d.location.column - 1
            if d.end_location.row == row:
                length = d.end_location.column - d.location.column
            else:
                length = len(text) - start
            out.append(f"{gutter} {' ' * start}{palette.caret('^' * max(length, 1))}")
    out.append(gutter)
    return "\n".join(out) + "\n"


def format_json(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False) -> str:
    return json.dumps([diagnostic_to_json(d) for d in diagnostics], indent=2) + "\n"


def _writers() -> dict[str, Callable[[Sequence[Diagnostic], bool], str]]:
    from bgtask_lint.output import reports

    return {
        "full": format_full,
        "concise": format_concise,
        "json": format_json,
        "json-lines": reports.format_json_lines,
        "github": reports.format_github,
        "sarif": reports.format_sarif,
        "junit": reports.format_junit,
        "gitlab": reports.format_gitlab,
        "grouped": format_grouped,
        "pylint": reports.format_pylint,
        "azure": reports.format_azure,
        "rdjson": reports.format_rdjson,
    }


def write(
    output_format: str,
    diagnostics: Sequence[Diagnostic],
    unsafe_fixes: bool,
    palette: Palette = PLAIN,
) -> str:
    """The report in `output_format`; the text formats in `palette`'s colours."""
    if output_format in TEXT_FORMATS:
        text_writers = {"full": format_full, "concise": format_concise, "grouped": format_grouped}
        return text_writers[output_format](diagnostics, unsafe_fixes, palette)
    return _writers()[output_format](diagnostics, unsafe_fixes)


def format_fixes(fixed_by_file: Mapping[str, Counter]) -> str:
    """ruff's `--show-fixes` list: per file, each rule's count."""
    from bgtask_lint.rules import RULE_NAMES

    files = {name: counts for name, counts in sorted(fixed_by_file.items()) if sum(counts.values())}
    total = sum(sum(counts.values()) for counts in files.values())
    if not total:
        return "No errors fixed.\n"
    lines = [f"Fixed {_plural(total, 'error')}:"]
    for name, counts in files.items():
        lines.append(f"- {display_path(name)}:")
        for code, count in sorted(counts.items()):
            lines.append(f"    {count} × {code} ({RULE_NAMES.get(code, '')})")  # noqa: RUF001 - the sign ruff prints
    return "\n".join(lines) + "\n\n"


def format_statistics(diagnostics: Sequence[Diagnostic]) -> str:
    counts = Counter(d.code for d in diagnostics)
    names = {d.code: d.name for d in diagnostics}
    fixable = {d.code for d in diagnostics if d.fix is not None}
    width = max((len(str(n)) for n in counts.values()), default=1)
    return "".join(
        f"{count:>{width}}\t{code}\t{'[*]' if code in fixable else '[ ]'} {names[code]}\n"
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )


def format_statistics_json(diagnostics: Sequence[Diagnostic]) -> str:
    """`--statistics --output-format json`: ruff's list of counts per rule."""
    counts = Counter(d.code for d in diagnostics)
    names = {d.code: d.name for d in diagnostics}
    fixable = {d.code for d in diagnostics if d.fix is not None}
    entries = [
        {"code": code, "name": names[code], "count": count, "fixable": code in fixable}
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    return json.dumps(entries, indent=2) + "\n"


def _plural(count: int, word: str, plural: str = "") -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def format_summary(
    diagnostics: Sequence[Diagnostic],
    *,
    fixed: int = 0,
    fix_mode: bool = False,
    unsafe_fixes: bool = False,
    palette: Palette = PLAIN,
) -> str:
    """ruff's closing lines: the count, what was fixed, what more could be."""
    remaining = len(diagnostics)
    fixable = sum(1 for d in diagnostics if fixable_mark(d, unsafe_fixes))
    hidden = sum(
        1
        for d in diagnostics
        if d.fix is not None and d.fix.applicability == UNSAFE and not unsafe_fixes
    )
    unsafe_hint = f"{_plural(hidden, 'unsafe fix', 'unsafe fixes')} available with "
    unsafe_hint += "`--fix --unsafe-fixes`"
    if remaining == 0 and fixed == 0:
        return "All checks passed!\n"
    if fixed:
        total = fixed + remaining
        lines = [f"Found {_plural(total, 'error')} ({fixed} fixed, {remaining} remaining)."]
    else:
        lines = [f"Found {_plural(remaining, 'error')}."]
    if not fix_mode and fixable:
        extra = f" ({unsafe_hint})" if hidden else ""
        lines.append(f"{palette.fix('[*]')} {fixable} fixable with `--fix`{extra}.")
    elif hidden:
        lines.append(f"{unsafe_hint}.")
    return "\n".join(lines) + "\n"


def format_diff_summary(fixed: int, diagnostics: Sequence[Diagnostic], unsafe_fixes: bool) -> str:
    hidden = sum(
        1
        for d in diagnostics
        if d.fix is not None and d.fix.applicability == UNSAFE and not unsafe_fixes
    )
    extra = (
        f" ({_plural(hidden, 'additional fix', 'additional fixes')} available with "
        "`--unsafe-fixes`)"
        if hidden
        else ""
    )
    if fixed:
        return f"Would fix {_plural(fixed, 'error')}{extra}.\n"
    return f"No errors would be fixed{extra}.\n"


def unified_diff(filename: str, before: str, after: str) -> str:
    """A patch `patch -p0` and `git apply` accept: lines split where Python
    ends them (not at U+2028 or a form feed, as str.splitlines would), and a
    last line without a newline marked as diff marks it."""
    name = display_path(filename)
    lines = difflib.unified_diff(
        split_lines(before), split_lines(after), fromfile=name, tofile=name
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )
