"""The rule base class and what a rule hands back to the engine.

A rule is one class in one file under `bgtask_lint/rules/`: its code, name and
summary, its documentation (the class docstring, in ruff's sections), examples
that must and must not be flagged, and `check`, which reads the shared Model and
yields Violations. Rules know nothing about positions, noqa, config or output.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, ClassVar, Optional

import libcst as cst

from bgtask_lint.analysis.model import Model
from bgtask_lint.config.options import RuleOptions
from bgtask_lint.diagnostic import Diagnostic
from bgtask_lint.text.noqa import CommentMap

if TYPE_CHECKING:
    from bgtask_lint.rules.rewrite import Edits

# How often a rule can offer a fix, shown by `bgtask-lint rules` as ruff does.
FIX_NEVER = "never"
FIX_SOMETIMES = "sometimes"
FIX_ALWAYS = "always"


@dataclass(frozen=True)
class FixPlan:
    """A fix as edits of the module's tree; the engine turns them into text
    edits (regenerating only the statements they touch)."""

    applicability: str  # diagnostic.SAFE or diagnostic.UNSAFE
    message: str
    rewrite: Callable[[cst.Module], Edits]


@dataclass(frozen=True)
class Violation:
    node: cst.CSTNode
    message: str
    fix: Optional[FixPlan] = None
    # "error", or "warning" where the harm depends on facts we cannot see
    # (BGT009 when the project's FastAPI version is unknown or unaffected).
    severity: str = "error"
    # The other files whose code leads here (the routes that submit the task or
    # hand over the value). A file read only to complete a chain reports just
    # the findings one of whose sources the run checks.
    sources: frozenset[str] = frozenset()
    # Other places on the chain: (absolute file, row, 1-based column, what it is).
    related: tuple[tuple[str, int, int, str], ...] = ()


def one_per_node(violations: Iterable[Violation]) -> Iterator[Violation]:
    """Each node reported once, in first-seen order: the first violation's
    message and fix, with the sources and related places of all of them
    (several routes lead to one place: each stays named)."""
    kept: dict[int, Violation] = {}
    for violation in violations:
        known = kept.get(id(violation.node))
        if known is None:
            kept[id(violation.node)] = violation
        else:
            sources = known.sources | violation.sources
            related = tuple(dict.fromkeys((*known.related, *violation.related)))
            kept[id(violation.node)] = replace(known, sources=sources, related=related)
    yield from kept.values()


@dataclass(frozen=True)
class RuleContext:
    model: Model
    options: RuleOptions = field(default_factory=RuleOptions)

    @property
    def blocking_calls(self) -> frozenset[str]:
        return self.options.blocking_calls


@dataclass(frozen=True)
class SuppressionContext:
    """What a rule that judges `# noqa` directives sees, after every other
    finding of the file was placed and suppressed."""

    filename: str
    lines: Sequence[str]
    comments: CommentMap
    suppressed: Mapping[int, set[str]]  # row -> the codes its directive silenced
    codes: frozenset[str]  # the rules enabled for this file


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    fix_availability: ClassVar[str] = FIX_NEVER
    # Each a small module: MUST_FLAG ones yield at least one violation of this
    # rule, MUST_NOT_FLAG ones none. The test suite runs them all.
    MUST_FLAG: ClassVar[tuple[str, ...]] = ()
    MUST_NOT_FLAG: ClassVar[tuple[str, ...]] = ()

    # A rule that judges the noqa directives of a file (BGT100) sets this and
    # implements check_suppressions; the engine calls it after suppression.
    judges_suppressions: ClassVar[bool] = False

    def check(self, context: RuleContext) -> Iterator[Violation]:
        raise NotImplementedError

    def check_suppressions(self, context: SuppressionContext) -> Iterator[Diagnostic]:
        """Findings about the directives themselves, located by their comments."""
        return iter(())

    @classmethod
    def documentation(cls) -> str:
        """The rule's page, as `bgtask-lint rule CODE` and docs/rules show it."""
        body = inspect.cleandoc(cls.__doc__ or "")
        return f"# {cls.name} ({cls.code})\n\n{body}\n"
