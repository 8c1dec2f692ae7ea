"""The Python code blocks of Markdown files, checked (and fixed) in place.

Tutorials and design documents teach these bugs too. A fenced block whose
info string says `python` (or `py`, `python3`, `py3`) is checked as a module
of its own; its findings are reported at their row and column in the `.md`
file, `# noqa` comments inside the block count, and `--fix` rewrites the
block where it stands. A block that does not parse is skipped silently:
documentation is full of fragments. A block that uses `BackgroundTasks`
without importing it is read as if `from fastapi import BackgroundTasks`
were in force, as its reader would take it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Optional

from bgtask_lint.analysis.project import Project
from bgtask_lint.diagnostic import Diagnostic, Edit, Fix
from bgtask_lint.engine.check import check_text
from bgtask_lint.engine.fix import FixOutcome, fix_text
from bgtask_lint.rules.base import RuleOptions
from bgtask_lint.text.markdown import PRELUDE, CodeBlock, code_blocks
from bgtask_lint.text.source import NEWLINE


@dataclass
class MarkdownOutcome:
    text: str
    diagnostics: list[Diagnostic]
    fixed: Counter
    errors: list[str]


def check_markdown(
    text: str,
    filename: str,
    codes: frozenset[str],
    options: Optional[RuleOptions] = None,
    *,
    fix: bool = False,
    unsafe: bool = False,
    fixable: Optional[frozenset[str]] = None,
) -> MarkdownOutcome:
    """Check (and with `fix`, fix) every Python block of a Markdown file
    (`fixable`: the codes whose fixes may apply)."""
    lines = NEWLINE.split(text)
    newline = _newline_of(text)
    outcome = MarkdownOutcome(text, [], Counter(), [])
    replacements: list[tuple[CodeBlock, str]] = []
    for block in code_blocks(lines):
        found = _check_block(
            block, filename, codes, options, fix=fix, unsafe=unsafe, fixable=fixable
        )
        if found is None:
            continue  # a fragment that does not parse
        diagnostics, fixed = found
        if fixed is not None and fixed.text != block.source:
            new_code = _without_prelude(block, fixed.text)
            if new_code is not None:
                replacements.append((block, new_code))
                outcome.fixed.update(fixed.fixed)
            else:
                diagnostics = check_text(block.source, filename, codes, options, screen=False)
        outcome.errors.extend(fixed.errors if fixed is not None else ())
        outcome.diagnostics.extend(d for d in (_placed(d, block, lines) for d in diagnostics) if d)
    if replacements:
        outcome.text = _rewritten(lines, replacements, newline)
        if outcome.text != text:
            # Rows moved where a block grew or shrank: place the findings anew.
            again = check_markdown(outcome.text, filename, codes, options)
            outcome.diagnostics = again.diagnostics
    return outcome


def _check_block(
    block: CodeBlock,
    filename: str,
    codes: frozenset[str],
    options: Optional[RuleOptions],
    *,
    fix: bool,
    unsafe: bool,
    fixable: Optional[frozenset[str]],
) -> Optional[tuple[list[Diagnostic], Optional[FixOutcome]]]:
    project: Optional[Project] = None
    diagnostics = check_text(block.source, filename, codes, options, project, screen=False)
    if any(d.code == "BGT900" for d in diagnostics):
        return None
    if not fix or not any(d.fix is not None for d in diagnostics):
        return diagnostics, None
    fixed = fix_text(
        block.source,
        filename,
        codes,
        options,
        project,
        unsafe=unsafe,
        screen=False,
        fixable=fixable,
    )
    return fixed.remaining, fixed


def _without_prelude(block: CodeBlock, fixed: str) -> Optional[str]:
    """The fixed block's own code; None when a fix changed the prelude."""
    if not block.prelude:
        return fixed
    if not fixed.startswith(PRELUDE):
        return None
    return fixed[len(PRELUDE) :]


def _placed(
    d: Diagnostic,
    block: CodeBlock,
    lines: list[str],
) -> Optional[Diagnostic]:
    """`d` at its place in the Markdown file, its fix's edits too (a fix
    that touches the prelude is dropped)."""
    start, end = block.to_file(d.location), block.to_file(d.end_location)
    if start is None or end is None:
        return None
    fix = d.fix
    if fix is not None:
        edits = [(block.to_file(e.location), block.to_file(e.end_location), e) for e in fix.edits]
        if all(a is not None and b is not None for a, b, _ in edits):
            fix = Fix(
                fix.applicability,
                fix.message,
                tuple(
                    Edit(_indented(e.content, block.indent), a, b)
                    for a, b, e in edits
                    if a is not None and b is not None
                ),
            )
        else:
            fix = None
    noqa = d.noqa_row - (1 if block.prelude else 0) + block.first if d.noqa_row else None
    return replace(
        d,
        location=start,
        end_location=end,
        fix=fix,
        noqa_row=noqa,
        source_lines=tuple(lines),
    )


def _indented(content: str, indent: str) -> str:
    """An edit's new text with the block's indentation on its later lines."""
    if not indent or "\n" not in content:
        return content
    head, *rest = content.split("\n")
    return "\n".join([head, *(indent + line if line else line for line in rest)])


def _rewritten(lines: list[str], replacements: list[tuple[CodeBlock, str]], newline: str) -> str:
    out = list(lines)
    for block, code in sorted(replacements, key=lambda item: -item[0].first):
        new = [block.indent + line if line.strip() else "" for line in code.split("\n")]
        if new and new[-1] == "":
            new.pop()  # the block's last line ends with a newline
        out[block.first : block.first + block.count] = new
    return newline.join(out)


def _newline_of(text: str) -> str:
    match = NEWLINE.search(text)
    return match.group(0) if match else "\n"
