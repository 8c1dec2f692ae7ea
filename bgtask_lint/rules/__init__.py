"""The rule registry: every rule, found by its module's name, `bgtNNN_<name>.py`
(code BGTNNN, name `<name>` in kebab case). Codes never change meaning.

Listing the rules imports none of them: the configuration validates selectors
and the text screen is built on every run, cached or not, and importing the
rules means importing libcst. Each rule declares, as a literal `TRIGGERS` in
its module, the words a file must contain for it to report anything; they are
read from the module's source. The rule classes themselves are loaded on first
use (`ALL_RULES`, `RULES_BY_CODE`, `RULES_BY_NAME`, `load_rule`).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Collection, Iterator
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from bgtask_lint.rules.base import Rule

_RULE_MODULE = re.compile(r"^bgt(?P<number>\d{3})_(?P<name>[a-z0-9_]+)$")


def _rule_modules() -> dict[str, str]:
    """Rule code -> module name, in code order."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        match = _RULE_MODULE.match(info.name)
        if match:
            found[f"BGT{match.group('number')}"] = info.name
    return dict(sorted(found.items()))


RULE_MODULES: dict[str, str] = _rule_modules()
RULE_CODES: tuple[str, ...] = tuple(RULE_MODULES)
RULE_NAMES: dict[str, str] = {
    code: module.split("_", 1)[1].replace("_", "-") for code, module in RULE_MODULES.items()
}


_TRIGGERS_LINE = re.compile(r"^TRIGGERS = (\(.*\))$", re.MULTILINE)


@cache
def _source(code: str) -> str:
    """The source of rule `code`'s module, read without importing it."""
    return (Path(__file__).parent / f"{RULE_MODULES[code]}.py").read_text(encoding="utf-8")


@cache
def triggers(code: str) -> tuple[str, ...]:
    """The regular expressions a file must match (any of them) for rule `code`
    to report on it: the module's one-line `TRIGGERS = (...)` literal, read
    from its source without importing it (every run builds the screen: this
    costs a fraction of parsing the module)."""
    source = _source(code)
    match = _TRIGGERS_LINE.search(source)
    value = ast.literal_eval(match.group(1)) if match else None
    if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
        return value
    raise LookupError(f"rule module {RULE_MODULES[code]} has no one-line TRIGGERS tuple of strings")


_OFF_BY_DEFAULT_LINE = re.compile(r"^ENABLED_BY_DEFAULT = False$", re.MULTILINE)


def _enabled_by_default(code: str) -> bool:
    """False for a rule whose module says `ENABLED_BY_DEFAULT = False` on a line
    of its own (as ruff's RUF100: it runs when selected)."""
    source = _source(code)
    return _OFF_BY_DEFAULT_LINE.search(source) is None


_PREVIEW_LINE = re.compile(r"^PREVIEW = True$", re.MULTILINE)


def _in_preview(code: str) -> bool:
    """True for a rule whose module says `PREVIEW = True` on a line of its own
    (ruff's preview rules: they run with `--preview` / `preview = true`, or
    when selected by their exact code)."""
    source = _source(code)
    return _PREVIEW_LINE.search(source) is not None


PREVIEW_CODES: frozenset[str] = frozenset(c for c in RULE_CODES if _in_preview(c))

_QUIET_IN_TESTS_LINE = re.compile(r"^IN_TEST_CODE = False$", re.MULTILINE)
# The rules a module turns off in test code by saying `IN_TEST_CODE = False`
# on a line of its own (BGT001: a test builds `BackgroundTasks()` to call a
# view function directly); see the `test-code` setting.
QUIET_IN_TEST_CODE: frozenset[str] = frozenset(
    c for c in RULE_CODES if _QUIET_IN_TESTS_LINE.search(_source(c))
)
# The rules a configuration that selects nothing runs; with preview on, the
# preview rules join them.
DEFAULT_CODES: tuple[str, ...] = tuple(
    c for c in RULE_CODES if _enabled_by_default(c) and c not in PREVIEW_CODES
)


_IN_COMMENTS_LINE = re.compile(r"^TRIGGERS_IN_COMMENTS = True$", re.MULTILINE)


def triggers_in_comments(code: str) -> bool:
    """Whether rule `code`'s triggers count in comments: its module says
    `TRIGGERS_IN_COMMENTS = True` on a line of its own (BGT100 reads `noqa`
    comments). Other rules read code only, so a file that names a trigger
    only in a comment (`# see BackgroundTaskExecutor`) is not parsed."""
    return _IN_COMMENTS_LINE.search(_source(code)) is not None


class Screen:
    """Whether a text can have a finding of some rules: any of their triggers
    matches, in code (or, for a rule that says so, in a comment too).
    Substring tests first (they run at memory speed, a regular expression
    does not): each trigger's literal start, then the expression, then
    whether a match is in a comment."""

    def __init__(self, patterns: Collection[tuple[str, bool]]) -> None:
        """`patterns`: each trigger, and whether it counts in comments."""
        anywhere = {p for p, in_comments in patterns if in_comments}
        in_code = {p for p, _ in patterns} - anywhere
        checks = []
        for kept, in_comments in ((anywhere, True), (in_code, False)):
            plain = {p for p in kept if _literal_start(p) == p}
            # A plain word inside another plain word adds nothing: `BackgroundTask`
            # finds every file `BackgroundTasks` would.
            kept = {p for p in kept if not any(q != p and q in p for q in plain)}
            expressions = {p: None if p in plain else re.compile(p) for p in kept}
            checks += [(_literal_start(p), expressions[p], in_comments) for p in sorted(kept)]
        self.checks = checks

    def __call__(self, text: str) -> bool:
        for literal, expression, in_comments in self.checks:
            if literal not in text:
                continue
            if expression is None:
                starts = _occurrences(text, literal)
            else:
                starts = (match.start() for match in expression.finditer(text))
            if any(in_comments or not _in_comment(text, start) for start in starts):
                return True
        return False


def _occurrences(text: str, literal: str) -> Iterator[int]:
    start = text.find(literal)
    while start >= 0:
        yield start
        start = text.find(literal, start + 1)


def _in_comment(text: str, start: int) -> bool:
    """Whether `start` is past a `#` with no quote before it on its line:
    in a comment, for sure (a `#` inside a string has a quote before it,
    and one after a string's end is not told apart: that is taken for code)."""
    line = text[text.rfind("\n", 0, start) + 1 : start]
    hash_at = line.find("#")
    return hash_at >= 0 and "'" not in line[:hash_at] and '"' not in line[:hash_at]


@lru_cache(maxsize=64)
def screen(codes: frozenset[str]) -> Screen:
    """The text screen of the rules `codes`: a file it rejects is never parsed."""
    return Screen(
        [(pattern, triggers_in_comments(code)) for code in codes for pattern in triggers(code)]
    )


def _literal_start(pattern: str) -> str:
    """The plain text a regular expression starts with (`\\.background` from
    `\\.background\\s*=`)."""
    literal, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern) and pattern[index + 1] in ".()[]{}*+?^$|\\":
            literal.append(pattern[index + 1])
            index += 2
        elif char in ".^$*+?{}[]()|\\":
            break
        else:
            literal.append(char)
            index += 1
    if index < len(pattern) and pattern[index] in "*?{":
        literal = literal[:-1]  # `ab*`: the `b` is optional
    return "".join(literal)


def load_rule(code: str) -> type[Rule]:
    """The rule class of `code` (importing its module, and libcst)."""
    from bgtask_lint.rules.base import Rule

    module = importlib.import_module(f"{__name__}.{RULE_MODULES[code]}")
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, Rule)
            and value.__dict__.get("code") == code
        ):
            return value
    raise LookupError(f"module {module.__name__} defines no rule with code {code}")


@lru_cache(maxsize=1)
def _all_rules() -> tuple[type[Rule], ...]:
    return tuple(load_rule(code) for code in RULE_CODES)


def find_rule(code_or_name: str) -> Optional[type[Rule]]:
    key = code_or_name.strip()
    for code, name in RULE_NAMES.items():
        if key.upper() == code or key.lower() == name:
            return load_rule(code)
    return None


def __getattr__(name: str) -> Any:
    # Loaded on first use: importing this package must not import libcst.
    if name == "ALL_RULES":
        return _all_rules()
    if name == "RULES_BY_CODE":
        return {rule.code: rule for rule in _all_rules()}
    if name == "RULES_BY_NAME":
        return {rule.name: rule for rule in _all_rules()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
