"""What the language server knows of the open documents, and its answers for
them: findings, the text `--fix` would give, a line with a noqa directive.
Plain values, no protocol types, so that it is tested without a client.

Every open document's text stands for its file, saved or not: a route module
checked while its task module has unsaved edits sees the edits. A document
is checked within its project as the CLI checks one named file, so a
finding is the same in the editor and in `bgtask-lint check`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from bgtask_lint import api
from bgtask_lint.config.settings import ConfigError, Overrides, Settings, check_selector
from bgtask_lint.diagnostic import Diagnostic, rule_url

RUN_MODES = ("onType", "onSave")
DEFAULT_DEBOUNCE = 0.3  # seconds between the last keystroke and the check


@dataclass(frozen=True)
class EditorOptions:
    """The client's initialization options."""

    run: str = "onType"  # check on every change, or only when saved
    unsafe_fixes: Optional[bool] = None  # None: the configuration's `unsafe-fixes`
    configuration: Optional[str] = None  # a configuration file, as `--config`
    select: Optional[tuple[str, ...]] = None
    ignore: tuple[str, ...] = ()
    debounce: float = DEFAULT_DEBOUNCE


def parse_options(raw: Any) -> tuple[EditorOptions, list[str]]:
    """The options a client sent at initialization, and one line for each
    value passed over (it is logged, and the default stands)."""
    problems: list[str] = []
    if raw is None:
        return EditorOptions(), problems
    if not isinstance(raw, dict):
        return EditorOptions(), [f"initialization options must be an object, not {raw!r}"]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        problem = _take_option(values, key, value)
        if problem is not None:
            problems.append(f"initialization option `{key}`: {problem}; passed over")
    return EditorOptions(**values), problems


def _take_option(values: dict[str, Any], key: str, value: Any) -> Optional[str]:
    if key == "run":
        if value not in RUN_MODES:
            return f"expected one of {', '.join(RUN_MODES)}, not {value!r}"
        values["run"] = value
    elif key == "unsafeFixes":
        if not isinstance(value, bool):
            return f"expected true or false, not {value!r}"
        values["unsafe_fixes"] = value
    elif key == "configuration":
        if value is not None and not isinstance(value, str):
            return f"expected a path, not {value!r}"
        values["configuration"] = value or None
    elif key in ("select", "ignore"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"expected a list of rule codes, not {value!r}"
        try:
            for selector in value:
                check_selector(selector, "the initialization options")
        except ConfigError as error:
            return str(error)
        values[key] = tuple(value)
    elif key == "debounce":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            return f"expected a number of seconds, not {value!r}"
        values["debounce"] = float(value)
    else:
        return "unknown option"
    return None


@dataclass
class Checked:
    """One document's findings, the text they were found in, and lines for
    the client's log."""

    text: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Session:
    def __init__(self, options: EditorOptions, folders: Sequence[str] = ()) -> None:
        self.options = options
        self.folders = [os.path.abspath(folder) for folder in folders]
        # The open documents, by absolute path: their texts stand for the files.
        self.texts: dict[str, str] = {}
        self._told: set[tuple[str, str]] = set()  # what was logged, once each
        configuration = None
        if options.configuration is not None:
            configuration = Path(os.path.expanduser(options.configuration))
            if not configuration.is_absolute() and self.folders:
                configuration = Path(self.folders[0]) / configuration
        self.overrides = Overrides(
            config_file=configuration, select=options.select, ignore=options.ignore
        )

    def reload(self) -> None:
        """A configuration file changed: read configurations afresh."""
        api.forget_what_was_read()
        self._told.clear()

    def settings(self, path: str) -> Settings:
        """The settings `path` is checked with; raises ConfigError."""
        return api.settings_for(path, self.overrides)

    def unsafe_fixes(self, path: str) -> bool:
        """Whether unsafe fixes are offered for `path`."""
        if self.options.unsafe_fixes is not None:
            return self.options.unsafe_fixes
        try:
            return bool(self.settings(path).unsafe_fixes)
        except ConfigError:
            return False

    def same_project(self, path: str) -> list[str]:
        """The open documents of `path`'s project, `path` first: the ones a
        change to `path` can change the findings of (a route module reaches
        its task module, and the reverse)."""
        from bgtask_lint.config.roots import find_project_root

        root = find_project_root(path, is_dir=False)
        others = sorted(
            p for p in self.texts if p != path and find_project_root(p, is_dir=False) == root
        )
        return [path, *others] if path in self.texts else others

    def check(self, path: str) -> Checked:
        """The findings of open document `path`, with those its tasks lead to
        in other files shown at its submissions."""
        texts = dict(self.texts)  # the server's thread may open another meanwhile
        text = texts[path]
        checked = Checked(text)
        try:
            settings = self.settings(path)
        except ConfigError as error:
            checked.problems.append(f"{path}: not checked: {error}")
            return checked
        problem = self._cannot_check(path, text, settings)
        if problem is not None:
            self._tell(checked, path, f"{path}: not checked: {problem}")
            return checked
        if settings.source is None and not self._in_a_folder(path):
            self._tell(
                checked,
                path,
                f"{path} is outside the workspace folders and no configuration applies to "
                "it: checked with the default settings",
            )
        try:
            result = api.check_documents(texts, [path], self.overrides)
        except ConfigError as error:
            checked.problems.append(f"{path}: not checked: {error}")
            return checked
        checked.problems.extend(result.errors)
        elsewhere = []
        for d in result.diagnostics:
            if os.path.abspath(d.filename) == path:
                checked.diagnostics.append(d)
            else:
                elsewhere.append(d)
        if elsewhere:
            from bgtask_lint.config.roots import find_project_root
            from bgtask_lint.editor.entries import mirrored, queued_tasks

            roots = [settings.root / src for src in settings.src]
            queued = queued_tasks(path, text, texts, roots)
            root = str(find_project_root(path, is_dir=False))
            checked.diagnostics.extend(mirrored(queued, elsewhere, path, root))
        return checked

    def _cannot_check(self, path: str, text: str, settings: Settings) -> Optional[str]:
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as error:
            return f"its text cannot be encoded as UTF-8 ({error.reason})"
        if size > settings.max_file_size:
            return (
                f"{size} bytes, larger than `max-file-size` ({settings.max_file_size}); "
                "raise it in the configuration to check this file"
            )
        if settings.is_excluded_with_ancestors(Path(path)):
            return "`exclude` in the configuration matches it"
        return None

    def _in_a_folder(self, path: str) -> bool:
        return any(path.startswith(folder.rstrip(os.sep) + os.sep) for folder in self.folders)

    def _tell(self, checked: Checked, path: str, line: str) -> None:
        if (path, line) not in self._told:
            self._told.add((path, line))
            checked.problems.append(line)

    def fixed_text(self, path: str, *, unsafe: bool = False) -> tuple[Optional[str], list[str]]:
        """The text `bgtask-lint check --fix` gives document `path` (None:
        unchanged), and what failed."""
        try:
            result = api.check_documents(
                dict(self.texts), [path], self.overrides, fix=api.FixMode(unsafe=unsafe)
            )
        except ConfigError as error:
            return None, [f"{path}: {error}"]
        for change in result.changes:
            if os.path.abspath(change.filename) == path and change.after != change.before:
                return change.after, result.errors
        return None, result.errors

    def with_fix(self, text: str, diagnostic: Diagnostic) -> str:
        """`text` with the fix of `diagnostic` applied, as `--fix` applies it."""
        from bgtask_lint.engine.fix import apply_fixes

        return apply_fixes(text, [diagnostic])[0]

    def with_noqa(self, path: str, row: int, code: str) -> Optional[str]:
        """Document `path` with `code` added to the directive of `row` (None:
        nothing to add, or its comments cannot be read)."""
        from bgtask_lint.engine.noqa_writer import with_directives
        from bgtask_lint.text.noqa import CannotTokenize

        try:
            text, changed = with_directives(self.texts[path], {row: {code}})
        except CannotTokenize:
            return None
        return text if changed else None


_NOQA_CODES = re.compile(r"#\s*noqa\s*:\s*(?P<codes>[A-Za-z]+\d+(?:[\s,]+[A-Za-z]+\d+)*)")
_CODE = re.compile(r"[A-Za-z]+\d+")


def noqa_code_at(line: str, column: int) -> Optional[str]:
    """The code of a `# noqa: ...` directive that `line`'s character
    `column` (0-based) is on."""
    for directive in _NOQA_CODES.finditer(line):
        start = directive.start("codes")
        for code in _CODE.finditer(directive.group("codes")):
            if start + code.start() <= column <= start + code.end():
                return code.group().upper()
    return None


def rule_hover(code: str) -> Optional[str]:
    """A rule's name, summary and page, in Markdown (None: not a rule)."""
    from bgtask_lint.rules import find_rule

    rule = find_rule(code) if code.upper().startswith("BGT") else None
    if rule is None:
        return None
    url = rule_url(rule.code)
    return f"**{rule.code}** `{rule.name}`\n\n{rule.summary}\n\n[Rule documentation]({url})"
