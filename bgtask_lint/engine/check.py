"""Check one file: decode, screen, parse once, build the model, run the selected
rules, place and filter what they report. Knows nothing about any single rule.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import libcst as cst

from bgtask_lint.analysis.builder import build_model
from bgtask_lint.analysis.parsing import CannotParse
from bgtask_lint.analysis.positions import node_ranges, statement_spans
from bgtask_lint.analysis.statements import parse_source
from bgtask_lint.diagnostic import (
    SYNTAX_ERROR,
    Diagnostic,
    Fix,
    Location,
    Related,
    file_error,
)
from bgtask_lint.rules import ALL_RULES
from bgtask_lint.rules import screen as text_screen
from bgtask_lint.rules.base import (
    FixPlan,
    Rule,
    RuleContext,
    RuleOptions,
    SuppressionContext,
    Violation,
)
from bgtask_lint.rules.rewrite import CannotFix, ModuleLayout
from bgtask_lint.text.noqa import (
    EMPTY,
    CannotTokenize,
    Comment,
    CommentMap,
    comment_map,
    comment_map_within,
    may_exempt_the_file,
    mentions_own_directive,
)
from bgtask_lint.text.source import NEWLINE

if TYPE_CHECKING:
    from bgtask_lint.analysis.model import Model
    from bgtask_lint.analysis.project import Project


_RULES: dict[str, Rule] = {rule.code: rule() for rule in ALL_RULES}
TOO_DEEP = "cannot check this file: it is too deeply nested"


def check_text(
    text: str,
    filename: str,
    codes: frozenset[str],
    options: Optional[RuleOptions] = None,
    project: Optional[Project] = None,
    *,
    screen: bool = True,
) -> list[Diagnostic]:
    """Diagnostics for one decoded file, sorted by position, noqa applied. With
    a `project`, names imported from other project modules resolve to their
    code, and the file's model is shared with the rest of the run."""
    if not codes or (screen and not text_screen(codes)(text)):
        return []
    lines = tuple(NEWLINE.split(text))
    chain_end = project is not None and not project.is_checked(filename)
    if project is not None:
        # A file not asked about, checked for what the chains of the checked
        # files lead to there: the definitions those name are enough.
        model = (
            project.chain_end_model(Path(filename), text)
            if chain_end
            else project.model_for_text(Path(filename), text)
        )
        if model is None:  # it does not parse: let libcst say why, below
            project = None
    if project is None:
        try:
            module, parsed, shifts = parse_source(text)
            model = build_model(module, filename)
            model.parsed_text, model.column_shifts = parsed, shifts
        except cst.ParserSyntaxError as error:
            return [_syntax_error(text, error, filename, lines)]
        except CannotParse as error:
            if error.cpython_rejects:
                return [file_error(filename, f"SyntaxError: {error}", SYNTAX_ERROR)]
            return [file_error(filename, f"cannot check this file safely: {error}; skipped")]
        except RecursionError:
            return [file_error(filename, TOO_DEEP, SYNTAX_ERROR)]
    assert model is not None
    violations = _violations(model, codes, options)
    if project is not None and chain_end:
        # Not asked about: a file that holds the end of a chain that starts in
        # a checked file reports only what those chains lead to.
        violations = _led_to(violations, project)
        if any(v.fix is not None for _, v in violations) and not project.is_parsed(filename):
            # A fix is worked out on the whole module (one may add an import).
            model = project.model_for_text(Path(filename), text)
            assert model is not None  # its outline parsed: so does the module
            violations = _led_to(_violations(model, codes, options), project)
    return place(
        model.module,
        violations,
        filename,
        lines,
        text,
        codes,
        parsed_text=model.parsed_text,
        shifts=model.column_shifts,
    )


def _led_to(
    violations: list[tuple[Rule, Violation]], project: Project
) -> list[tuple[Rule, Violation]]:
    """The violations a chain that starts in a checked file leads to."""
    return [(rule, v) for rule, v in violations if any(project.is_checked(s) for s in v.sources)]


def _violations(
    model: Model, codes: frozenset[str], options: Optional[RuleOptions]
) -> list[tuple[Rule, Violation]]:
    context = RuleContext(model, options or RuleOptions())
    model.line_length = context.options.line_length  # fixes wrap their code to it
    violations: list[tuple[Rule, Violation]] = []
    for code in sorted(codes):
        rule = _RULES[code]
        violations.extend((rule, v) for v in rule.check(context))
    return violations


def place(
    module: cst.Module,
    violations: Sequence[tuple[Rule, Violation]],
    filename: str,
    lines: tuple[str, ...],
    text: str,
    codes: frozenset[str] = frozenset(),
    *,
    parsed_text: Optional[str] = None,
    shifts: Optional[dict[int, int]] = None,
) -> list[Diagnostic]:
    """Turn violations into located diagnostics, dropping the ones under noqa
    (and, with BGT100 enabled, reporting directives that suppressed nothing).
    `parsed_text` and `shifts`: the text the module was parsed from, when
    form feeds had to be taken out of indentation (see parse_source)."""
    shifts = shifts or {}
    judges = [_RULES[code] for code in sorted(codes) if _RULES[code].judges_suppressions]
    judge_noqa = bool(judges) and mentions_own_directive(text)
    ranges = node_ranges(module, (v.node for _, v in violations), parsed_text or text)
    comments = EMPTY
    if violations or judge_noqa:
        rows = [ranges[v.node].start.line for _, v in violations]
        comments = _comments(module, text, rows, judge_noqa, parsed_text, shifts)
    layout: list[ModuleLayout] = []  # made on the first fix, shared by the others
    diagnostics = []
    suppressed: dict[int, set[str]] = {}
    for rule, violation in violations:
        code_range = ranges[violation.node]
        start_row, end_row = code_range.start.line, code_range.end.line
        start = Location(start_row, code_range.start.column + 1 + shifts.get(start_row, 0))
        end = Location(end_row, code_range.end.column + 1 + shifts.get(end_row, 0))
        noqa_row = comments.noqa_row(start.row)
        if comments.exempts_file(rule.code):
            continue
        if comments.is_suppressed(noqa_row, rule.code):
            suppressed.setdefault(noqa_row, set()).add(rule.code)
            continue
        diagnostics.append(
            Diagnostic(
                code=rule.code,
                name=rule.name,
                message=violation.message,
                filename=filename,
                location=start,
                end_location=end,
                fix=materialize_fix(
                    module, parsed_text or text, violation.fix, layout, set(shifts)
                ),
                noqa_row=noqa_row,
                severity=violation.severity,
                related=tuple(
                    Related(path, Location(row, column), what)
                    for path, row, column, what in violation.related
                ),
                source_lines=lines,
            )
        )
    if judge_noqa:
        after = SuppressionContext(filename, lines, comments, suppressed, codes)
        for rule in judges:
            diagnostics.extend(rule.check_suppressions(after))
    diagnostics.sort(key=lambda d: (d.location, d.code))
    return diagnostics


def _comments(
    module: cst.Module,
    text: str,
    rows: list[int],
    judge_noqa: bool,
    parsed_text: Optional[str],
    shifts: dict[int, int],
) -> CommentMap:
    """The comments place() reads for findings starting on `rows`: of the
    statements holding them when that is all it needs (no file-level
    directive, no BGT100 judging every directive, no columns moved), else
    of the whole file."""
    # A lone `\r` ends a row for the positions but not for the tokenizer,
    # which reads the whole file as comment_map does: let it.
    lone_cr = "\r" in text and "\r" in text.replace("\r\n", "")
    if not judge_noqa and not shifts and not lone_cr and not may_exempt_the_file(text):
        spans = statement_spans(module, parsed_text or text, rows)
        if spans is not None:
            try:
                return comment_map_within(text, spans)
            except CannotTokenize:
                pass
    return file_comments(module, text)


def file_comments(module: Optional[cst.Module], text: str) -> CommentMap:
    """The file's comments from the tokenizer; when this Python cannot tokenize
    the file (syntax newer than it knows), from libcst's tree instead."""
    try:
        return comment_map(text)
    except CannotTokenize:
        if module is None:
            return EMPTY
    found: list[cst.Comment] = []

    class _Comments(cst.CSTVisitor):
        def visit_Comment(self, node: cst.Comment) -> None:
            found.append(node)

    module.visit(_Comments())
    ranges = node_ranges(module, found)
    by_row = {}
    for node in found:
        start = ranges[node].start
        by_row[start.line] = Comment(start.line, start.column, node.value)
    return CommentMap(by_row, {})


def materialize_fix(
    module: cst.Module,
    text: str,
    plan: Optional[FixPlan],
    layout: list[ModuleLayout],
    shifted_rows: Collection[int] = (),
) -> Optional[Fix]:
    """Run a fix's rewrite and reduce it to text edits; None when there is no
    fix, or when the rewrite finds it cannot be done here, or when it would
    edit a row whose columns moved (see parse_source)."""
    if plan is None:
        return None
    try:
        if not layout:
            layout.append(ModuleLayout(module, text))
        edits = plan.rewrite(module).text_edits(layout[0])
    except CannotFix:
        return None
    except Exception:
        # A fix that cannot be built (libcst refusing the new node, say) must
        # not cost the finding: it is reported without a fix.
        return None
    touched = {row for e in edits for row in range(e.location.row, e.end_location.row + 1)}
    if not touched.isdisjoint(shifted_rows):
        return None
    return Fix(plan.applicability, plan.message, edits) if edits else None


def _syntax_error(
    text: str, error: cst.ParserSyntaxError, filename: str, lines: tuple[str, ...]
) -> Diagnostic:
    """libcst's own error positions are often a line off; when the stdlib parser
    also rejects the file, its location and wording are the better ones."""
    row, column, message = error.raw_line, error.raw_column + 1, error.message
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as stdlib_error:
        if stdlib_error.lineno:
            row, column = stdlib_error.lineno, max(stdlib_error.offset or 1, 1)
            message = stdlib_error.msg
    except (ValueError, RecursionError, MemoryError):
        pass
    row = min(max(row, 1), len(lines))
    column = min(column, len(lines[row - 1]) + 1)
    return Diagnostic(
        code=SYNTAX_ERROR[0],
        name=SYNTAX_ERROR[1],
        message=f"SyntaxError: {message}",
        filename=filename,
        location=Location(row, column),
        end_location=Location(row, column),
        source_lines=lines,
    )
