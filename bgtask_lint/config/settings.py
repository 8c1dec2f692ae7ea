"""`[tool.bgtask-lint]` in pyproject.toml, command-line overrides, and which rules
apply to which file.

Every key is validated: an unknown key or a value of the wrong type is a
ConfigError (exit code 2) that names the file and the key, never ignored.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Optional, Union

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]  # Python < 3.11

from bgtask_lint.config import listing
from bgtask_lint.config.blocking import BLOCKING_CALLS
from bgtask_lint.config.documents import toml_document
from bgtask_lint.config.formatting import formatter_line_length
from bgtask_lint.config.options import DEFAULT_MAX_CALL_DEPTH, OUTPUT_FORMATS, RuleOptions
from bgtask_lint.config.patterns import DEFAULT_TEST_CODE, is_test_code, matches
from bgtask_lint.config.pins import pin_of
from bgtask_lint.config.versions import Pin, Version, parse_version
from bgtask_lint.rules import DEFAULT_CODES, PREVIEW_CODES, QUIET_IN_TEST_CODE, RULE_CODES
from bgtask_lint.text.source import DEFAULT_MAX_FILE_SIZE

SECTION = "bgtask-lint"
ALL_CODES = RULE_CODES  # every rule's code, from the registry (no rule is imported)

DEFAULT_EXCLUDE = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".hg",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".pytest_cache",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    ".bgtask_lint_cache",
    "__pycache__",
    "__pypackages__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
)

PYTHON_SUFFIXES = (".py", ".pyi")

_LIST_KEYS = (
    "select",
    "ignore",
    "extend-select",
    "exclude",
    "extend-exclude",
    "extend-include",
    "extra-blocking-calls",
    "src",
    "fixable",
    "unfixable",
    "test-code",
)
# Lists a configuration adds to those of the one it extends (ruff's `extend-*`).
_EXTENDING_LISTS = ("extend_exclude", "extend_include", "extra_blocking_calls")
_KNOWN_KEYS = (
    *_LIST_KEYS,
    "extend",
    "fix",
    "unsafe-fixes",
    "output-format",
    "cache-dir",
    "per-file-ignores",
    "target-fastapi",
    "target-starlette",
    "max-call-depth",
    "max-file-size",
    "respect-gitignore",
    "preview",
    "portability",
)


class ConfigError(Exception):
    """A configuration or selection problem: reported in one line, exit code 2."""


@dataclass(frozen=True)
class SelectionLayer:
    """One source of rule selection (the defaults, a config file, the command
    line). A layer with `select` starts afresh; one without adjusts what the
    layers before it chose (ruff's semantics)."""

    select: Optional[tuple[str, ...]] = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def apply(self, enabled: frozenset[str]) -> frozenset[str]:
        selected = (*(self.select or ()), *self.extend_select)
        result = set() if self.select is not None else set(enabled)
        for code in ALL_CODES:
            chosen, dropped = _specificity(selected, code), _specificity(self.ignore, code)
            # The more specific selector wins: `select=["BGT001"]` beats
            # `ignore=["BGT"]`; on a tie, ignore wins.
            if chosen > dropped:
                result.add(code)
            elif dropped >= 0:
                result.discard(code)
        return frozenset(result)


DEFAULT_SELECTION = SelectionLayer(select=DEFAULT_CODES)
# The defaults with preview on: the preview rules join them.
_PREVIEW_DEFAULT_SELECTION = SelectionLayer(select=(*DEFAULT_CODES, *sorted(PREVIEW_CODES)))


@dataclass(frozen=True)
class Settings:
    """The configuration that applies to the files below `root`."""

    root: Path
    selection: tuple[SelectionLayer, ...] = (DEFAULT_SELECTION,)
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    # Files to check besides `*.py` / `*.pyi` (`"*.md"`: Markdown's code blocks).
    extend_include: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    test_code: tuple[str, ...] = DEFAULT_TEST_CODE
    extra_blocking_calls: tuple[str, ...] = ()
    target_fastapi: Optional[Version] = None
    target_starlette: Optional[Version] = None
    # Where the project's top-level modules live, besides its root and src/.
    src: tuple[str, ...] = ()
    max_call_depth: int = DEFAULT_MAX_CALL_DEPTH
    respect_gitignore: bool = True
    # Preview rules run (`preview = true`, `--preview`); without it a preview
    # rule runs only when selected by its exact code, as in ruff.
    preview: bool = False
    # Report as warnings what the pinned versions make safe (to plan upgrades).
    portability: bool = False
    # Larger files are reported as skipped, never parsed (memory stays bounded).
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    # Which findings' fixes may be applied or offered (`fixable`, `unfixable`),
    # layered as the selection is, from every code.
    fix_selection: tuple[SelectionLayer, ...] = ()
    # What the command line takes from the configuration where it runs, when
    # it does not say: `fix`, `unsafe-fixes`, `output-format`, `cache-dir`.
    fix: Optional[bool] = None
    unsafe_fixes: Optional[bool] = None
    output_format: Optional[str] = None
    cache_dir: Optional[Path] = None
    # The configuration file these settings were read from (None: defaults).
    source: Optional[Path] = None

    def rule_options(
        self, project_root: Optional[Path] = None, directory: Optional[str] = None
    ) -> RuleOptions:
        """What rules read, for a file in `directory` (absolute) of the project
        at `project_root`: `target-fastapi`, else the pin nearest the file."""
        root = project_root or self.root
        fastapi = pin_of("fastapi", self.target_fastapi, root, directory)
        starlette = pin_of("starlette", self.target_starlette, root, directory)
        options = ((fastapi, starlette), self.portability, root, self.max_call_depth)
        return _rule_options(self.extra_blocking_calls, *options)

    def enabled_codes(self, path: Union[str, Path, None] = None) -> frozenset[str]:
        codes = self._selected_codes
        if path is not None and is_test_code(path, self.root, self.test_code):
            codes -= QUIET_IN_TEST_CODE
        if path is not None and self.per_file_ignores:
            relative = self._relative(path)
            for pattern, ignored in self.per_file_ignores:
                # As in ruff, `!pattern` ignores the codes in the files it does not match.
                negated = pattern.startswith("!")
                if negated:
                    pattern = pattern[1:]
                matched = matches(pattern, relative) or fnmatch.fnmatchcase(relative, pattern)
                if matched != negated:
                    codes = SelectionLayer(ignore=ignored).apply(codes)
        return codes

    @cached_property
    def _selected_codes(self) -> frozenset[str]:
        codes: frozenset[str] = frozenset()
        named: set[str] = set()
        for layer in self.selection:
            if layer is DEFAULT_SELECTION and self.preview:
                layer = _PREVIEW_DEFAULT_SELECTION
            codes = layer.apply(codes)
            if layer is not DEFAULT_SELECTION:
                named.update((*(layer.select or ()), *layer.extend_select))
        if self.preview:
            return codes
        # `ALL` or a prefix does not turn a preview rule on; its own code does.
        return frozenset(c for c in codes if c not in PREVIEW_CODES or c in named)

    @cached_property
    def fixable_codes(self) -> frozenset[str]:
        """The codes whose fixes `--fix` applies and reports offer."""
        codes = frozenset(ALL_CODES)
        for layer in self.fix_selection:
            codes = layer.apply(codes)
        return codes

    @cached_property
    def _exclusion(self) -> _PatternSet:
        return _PatternSet((*self.exclude, *self.extend_exclude))

    def is_excluded(self, path: Path) -> bool:
        """Whether a file or directory met while walking is excluded (its
        ancestors were checked on the way down)."""
        relative = self._relative(path)
        return self._exclusion.matches(relative.rsplit("/", 1)[-1], relative)

    def is_excluded_name(self, name: str, relative: str) -> bool:
        """`is_excluded` for the walk, which knows both strings already."""
        return self._exclusion.matches(name, relative)

    def is_included_name(self, name: str, relative: str) -> bool:
        """A file the walk checks: Python, or matched by `extend-include`."""
        if name.endswith(PYTHON_SUFFIXES):
            return True
        return bool(self.extend_include) and self._inclusion.matches(name, relative)

    @cached_property
    def _inclusion(self) -> _PatternSet:
        return _PatternSet(self.extend_include)

    def relative_directory(self, directory: str) -> str:
        """`directory` relative to the config root ("" for the root itself)."""
        relative = os.path.relpath(directory, self.root)
        if relative == ".":
            return ""
        return relative.replace(os.sep, "/")

    def is_excluded_with_ancestors(self, path: Path) -> bool:
        """For `--force-exclude`: a path named on the command line is excluded
        when it or a directory above it (below the config root) is."""
        parts = self._relative(path).split("/")
        return any(
            self.is_excluded(self.root / "/".join(parts[:n])) for n in range(1, len(parts) + 1)
        )

    def _relative(self, path: Union[str, Path]) -> str:
        try:
            return Path(os.path.abspath(path)).relative_to(self.root).as_posix()
        except ValueError:
            return Path(path).as_posix()


@dataclass(frozen=True)
class Overrides:
    """Command-line options that take precedence over the configuration files."""

    config_file: Optional[Path] = None
    select: Optional[tuple[str, ...]] = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    # `--extend-per-file-ignores PATTERN:CODES`, added to the configured ones.
    extend_per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    target_fastapi: Optional[Version] = None
    target_starlette: Optional[Version] = None
    # `--config "KEY = VALUE"` fragments, as one table (later ones win).
    config_table: tuple[tuple[str, Any], ...] = ()
    # `--exclude` replaces the configured `exclude`; `--extend-exclude` adds.
    exclude: Optional[tuple[str, ...]] = None
    extend_exclude: tuple[str, ...] = ()
    # `--preview` / `--no-preview`, over the configuration's `preview`.
    preview: Optional[bool] = None

    def apply(self, settings: Settings) -> Settings:
        if self.config_table:
            table = dict(self.config_table)
            if "extend" in table:
                raise ConfigError("`extend` cannot be given with --config KEY=VALUE")
            parsed = table_fields(table, "--config")
            settings = _combined(settings, parsed, settings.root)
        layer = SelectionLayer(self.select, self.extend_select, self.ignore)
        return replace(
            settings,
            selection=(*settings.selection, layer),
            exclude=settings.exclude if self.exclude is None else self.exclude,
            extend_exclude=(*settings.extend_exclude, *self.extend_exclude),
            per_file_ignores=(*settings.per_file_ignores, *self.extend_per_file_ignores),
            target_fastapi=self.target_fastapi or settings.target_fastapi,
            target_starlette=self.target_starlette or settings.target_starlette,
            preview=settings.preview if self.preview is None else self.preview,
        )

    def validate(self) -> None:
        if self.config_table:
            table_fields(dict(self.config_table), "--config")  # a bad key fails now
        ignored = [code for _, codes in self.extend_per_file_ignores for code in codes]
        for selector in (*(self.select or ()), *self.extend_select, *self.ignore, *ignored):
            check_selector(selector, "the command line")


class _PatternSet:
    """Exclude patterns compiled once: plain names in a set, globs over names
    and over relative paths each in one regular expression."""

    def __init__(self, patterns: Sequence[str]) -> None:
        names, name_globs, path_globs = set(), [], []
        for pattern in patterns:
            pattern = pattern.rstrip("/")
            if "/" in pattern:
                path_globs.append(fnmatch.translate(pattern))
            elif any(c in pattern for c in "*?["):
                name_globs.append(fnmatch.translate(pattern))
            else:
                names.add(pattern)
        self.names = frozenset(names)
        self.name_globs = re.compile("|".join(name_globs)) if name_globs else None
        self.path_globs = re.compile("|".join(path_globs)) if path_globs else None

    def matches(self, name: str, relative: str) -> bool:
        return (
            name in self.names
            or (self.name_globs is not None and self.name_globs.match(name) is not None)
            or (self.path_globs is not None and self.path_globs.match(relative) is not None)
        )


def check_selector(selector: str, where: str) -> None:
    if selector != "ALL" and not any(code.startswith(selector) for code in ALL_CODES):
        raise ConfigError(
            f"unknown rule selector `{selector}` in {where} "
            f"(expected `ALL`, a code such as `BGT001`, or a prefix such as `BGT00`)"
        )


def _specificity(selectors: Iterable[str], code: str) -> int:
    """How closely the best of `selectors` names `code`: -1 not at all, 0 `ALL`."""
    best = -1
    for selector in selectors:
        if selector == "ALL":
            best = max(best, 0)
        elif code.startswith(selector):
            best = max(best, len(selector))
    return best


# Configuration files, in the order a directory's are looked for (as ruff
# finds `.ruff.toml`, `ruff.toml`, then `pyproject.toml`): the dedicated ones
# hold the settings at top level, pyproject.toml in [tool.bgtask-lint].
DEDICATED_FILES = (".bgtask-lint.toml", "bgtask-lint.toml")
CONFIG_FILES = (*DEDICATED_FILES, "pyproject.toml")


def load_settings(pyproject: Path, *, required: bool = False) -> Optional[Settings]:
    """Settings from a configuration file: a dedicated `bgtask-lint.toml`'s top
    level, or a pyproject.toml's [tool.bgtask-lint] table; None when a
    pyproject.toml has no such table (an error when `required`, as for
    `--config`: the file was named for its settings)."""
    table = _table_of(pyproject, required=required)
    if table is None:
        return None
    settings = Settings(root=pyproject.resolve().parent, source=pyproject)
    for file, layer, where in _extended_chain(pyproject, table, _where(pyproject)):
        settings = _combined(settings, table_fields(layer, where), file.resolve().parent)
    return settings


def _where(file: Path) -> str:
    return str(file) if file.name in DEDICATED_FILES else f"[tool.{SECTION}] in {file}"


def _extended_chain(
    file: Path, table: Mapping[str, Any], where: str
) -> list[tuple[Path, Mapping[str, Any], str]]:
    """The tables a configuration stands on, the furthest base first, each
    with the words that place it: each `extend = "path"` names a file
    (relative to the one naming it) whose settings it changes. A loop is a
    ConfigError."""
    chain = [(file, table, where)]
    seen = {os.path.realpath(file)}
    while "extend" in table:
        base = table["extend"]
        if not isinstance(base, str) or not base:
            raise ConfigError(f"`extend` in {where} must be a path, got {base!r}")
        base_file = Path(os.path.expanduser(base))
        if not base_file.is_absolute():
            base_file = file.parent / base_file
        if os.path.realpath(base_file) in seen:
            raise ConfigError(f"`extend` in {where} makes a loop through {base_file}")
        seen.add(os.path.realpath(base_file))
        # As ruff's: a base that is not a pyproject.toml holds its settings at top level.
        dedicated = base_file.name != "pyproject.toml"
        extended = _table_of(base_file, required=True, dedicated=dedicated)
        assert extended is not None
        file, table = base_file, extended
        where = str(file) if dedicated else f"[tool.{SECTION}] in {file}"
        chain.append((file, table, where))
    return chain[::-1]


def _combined(
    settings: Settings, parsed: tuple[SelectionLayer, dict[str, Any]], root: Path
) -> Settings:
    """`settings` changed by one configuration table's: its selection layered
    on top, its `extend-*` lists added, its other keys set (`cache-dir`
    relative to the file that says it)."""
    layer, fields = parsed
    for name in _EXTENDING_LISTS:
        if name in fields:
            fields[name] = (*getattr(settings, name), *fields[name])
    fixable, unfixable = fields.pop("fixable", None), fields.pop("unfixable", ())
    if fixable is not None or unfixable:
        fix_layer = SelectionLayer(select=fixable, ignore=unfixable)
        fields["fix_selection"] = (*settings.fix_selection, fix_layer)
    if "cache_dir" in fields:
        fields["cache_dir"] = root / os.path.expanduser(fields["cache_dir"])
    return replace(settings, selection=(*settings.selection, layer), **fields)


def _table_of(
    pyproject: Path, *, required: bool, dedicated: bool = False
) -> Optional[Mapping[str, Any]]:
    document = read_toml(pyproject)
    if dedicated or pyproject.name in DEDICATED_FILES:
        return document
    tools = document.get("tool", {})
    if not isinstance(tools, Mapping):
        raise ConfigError(f"`tool` in {pyproject} must be a table, got {tools!r}")
    table = tools.get(SECTION)
    if table is None:
        if required:
            raise ConfigError(
                f"{pyproject} has no [tool.{SECTION}] table (a dedicated file is "
                f"named bgtask-lint.toml and holds the settings at its top level)"
            )
        return None
    if not isinstance(table, Mapping):
        raise ConfigError(f"[tool.{SECTION}] in {pyproject} must be a table")
    return table


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a dict; ConfigError (one line) when it cannot be read or
    is not valid UTF-8 TOML."""
    try:
        return toml_document(os.fspath(path))
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path} is not valid TOML: invalid UTF-8 byte at offset {error.start}"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None


def table_fields(table: Any, where: str) -> tuple[SelectionLayer, dict[str, Any]]:
    """A configuration table read: its rule selection, and the Settings fields
    it sets (only those: `--config` fragments set a few over a file's)."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(table) - set(_KNOWN_KEYS))
    if unknown:
        raise ConfigError(
            f"unknown key `{unknown[0]}` in {where}; expected one of: {', '.join(_KNOWN_KEYS)}"
        )
    lists: dict[str, Any] = {
        key.replace("-", "_"): _string_list(table[key], f"`{key}` in {where}")
        for key in _LIST_KEYS
        if key in table
    }
    for key in ("select", "extend_select", "ignore", "fixable", "unfixable"):
        for selector in lists.get(key, ()):
            check_selector(selector, where)
    layer = SelectionLayer(
        lists.pop("select", None), lists.pop("extend_select", ()), lists.pop("ignore", ())
    )
    if "per-file-ignores" in table:
        lists["per_file_ignores"] = _per_file_ignores(table["per-file-ignores"], where)
    for key, example in (("target-fastapi", "0.115"), ("target-starlette", "0.38.5")):
        if key in table:
            value = table[key]
            version = parse_version(value) if isinstance(value, str) else None
            if version is None:
                raise ConfigError(
                    f'`{key}` in {where} must be a version such as "{example}", got {value!r}'
                )
            lists[key.replace("-", "_")] = version
    if "max-call-depth" in table:
        depth = table["max-call-depth"]
        if not isinstance(depth, int) or isinstance(depth, bool) or not 0 <= depth <= 50:
            raise ConfigError(
                f"`max-call-depth` in {where} must be a whole number from 0 to 50, got {depth!r}"
            )
        lists["max_call_depth"] = depth
    if "max-file-size" in table:
        lists["max_file_size"] = parse_size(table["max-file-size"], f"`max-file-size` in {where}")
    for key in ("respect-gitignore", "preview", "portability", "fix", "unsafe-fixes"):
        if key in table:
            if not isinstance(table[key], bool):
                raise ConfigError(f"`{key}` in {where} must be true or false")
            lists[key.replace("-", "_")] = table[key]
    if "output-format" in table:
        if table["output-format"] not in OUTPUT_FORMATS:
            raise ConfigError(
                f"`output-format` in {where} must be one of {', '.join(OUTPUT_FORMATS)}, "
                f"got {table['output-format']!r}"
            )
        lists["output_format"] = table["output-format"]
    if "cache-dir" in table:
        if not isinstance(table["cache-dir"], str) or not table["cache-dir"]:
            raise ConfigError(f"`cache-dir` in {where} must be a path")
        lists["cache_dir"] = table["cache-dir"]
    return layer, lists


_SIZE = re.compile(r"^\s*(?P<number>\d+)\s*(?P<unit>[KMG]i?B|B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2}
_UNITS.update({"gb": 1000**3, "gib": 1024**3})


def parse_size(value: Any, what: str) -> int:
    """A size in bytes: a whole number, or a string such as "2MiB" or "500 KB"."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _SIZE.match(value) if isinstance(value, str) else None
    if match is None or int(match.group("number")) == 0:
        raise ConfigError(
            f'{what} must be a size such as 1048576 or "1MiB" (B, KB, KiB, MB, MiB), got {value!r}'
        )
    return int(match.group("number")) * _UNITS[(match.group("unit") or "").lower()]


def _string_list(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{what} must be a list of strings, got {value!r}")
    return tuple(value)


def _per_file_ignores(value: Any, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"`per-file-ignores` in {where} must be a table of pattern = [codes]")
    result = []
    for pattern, codes in value.items():
        codes = _string_list(codes, f"`per-file-ignores.{pattern}` in {where}")
        for code in codes:
            check_selector(code, where)
        result.append((pattern, codes))
    return tuple(result)


def forget_rule_options() -> None:
    """See api.forget_what_was_read."""
    _rule_options.cache_clear()


@lru_cache(maxsize=512)
def _rule_options(
    extra_blocking_calls: tuple[str, ...],
    pins: tuple[Optional[Pin], Optional[Pin]],  # FastAPI's and Starlette's
    portability: bool,
    root: Path,
    max_call_depth: int,
) -> RuleOptions:
    return RuleOptions(
        blocking_calls=BLOCKING_CALLS.union(extra_blocking_calls),
        fastapi=pins[0],
        starlette=pins[1],
        portability=portability,
        max_call_depth=max_call_depth,
        line_length=formatter_line_length(root),
    )


@dataclass
class SettingsResolver:
    """Finds the settings for each file: `--config` for all of them, or else the
    nearest pyproject.toml with a [tool.bgtask-lint] table above the file."""

    overrides: Overrides = field(default_factory=Overrides)
    cwd: Path = field(default_factory=Path.cwd)
    _by_directory: dict[str, Settings] = field(default_factory=dict)
    _fixed: Optional[Settings] = None
    _by_name: dict[str, Settings] = field(default_factory=dict)
    _by_name_leniently: dict[str, Settings] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.overrides.validate()
        if self.overrides.config_file is not None:
            loaded = load_settings(self.overrides.config_file, required=True)
            assert loaded is not None
            self._fixed = self.overrides.apply(loaded)

    def for_path(self, path: Union[str, Path], *, is_dir: Optional[bool] = None) -> Settings:
        """The settings for a file or directory (`is_dir` saves a `stat` when
        the caller knows)."""
        if self._fixed is not None:
            return self._fixed
        # Strings from the walk are absolute already: skip abspath's normpath.
        absolute = path if isinstance(path, str) and os.path.isabs(path) else os.path.abspath(path)
        if not (os.path.isdir(absolute) if is_dir is None else is_dir):
            absolute = os.path.dirname(absolute)
        settings = self._by_name.get(absolute)  # strings: no Path per file
        if settings is None:
            settings = self._by_name[absolute] = self._for_directory(absolute)
        return settings

    def for_context(self, path: Union[str, Path], *, is_dir: Optional[bool] = None) -> Settings:
        """The settings for a file read only for what it tells about checked
        files (context, the end of a chain): a configuration file that cannot
        be loaded is passed over, as if absent. Only the configurations of
        checked files are validated: vendored code or a test fixture holding a
        broken pyproject.toml must not stop a run that does not check it."""
        try:
            return self.for_path(path, is_dir=is_dir)
        except ConfigError:
            pass
        absolute = os.path.abspath(path)
        if not (os.path.isdir(absolute) if is_dir is None else is_dir):
            absolute = os.path.dirname(absolute)
        settings = self._by_name_leniently.get(absolute)
        if settings is None:
            settings = self._by_name_leniently[absolute] = self._for_directory(
                absolute, leniently=True
            )
        return settings

    def _for_directory(self, directory: str, *, leniently: bool = False) -> Settings:
        # Up the tree until a directory with settings (a loop, not recursion:
        # a tree can be deeper than Python's stack). Strings, not Paths: the
        # walk asks this of every directory it enters.
        passed_over = False  # a broken file, leniently: what is found is not kept
        unresolved: list[str] = []
        settings: Optional[Settings] = None
        while settings is None:
            settings = self._by_directory.get(directory)
            if settings is not None:
                break
            unresolved.append(directory)
            loaded = None
            names = listing.names_in(directory)
            for name in CONFIG_FILES:
                if name not in names:
                    continue
                candidate = Path(directory, name)
                try:
                    loaded = load_settings(candidate) if os.path.isfile(candidate) else None
                except ConfigError:
                    if not leniently:
                        raise
                    passed_over = True
                    continue
                if loaded is not None:
                    break
            parent = os.path.dirname(directory)
            if loaded is not None:
                settings = self.overrides.apply(loaded)
            elif parent == directory:
                settings = self.overrides.apply(Settings(root=self.cwd))
            else:
                directory = parent
        if not passed_over:
            for seen in unresolved:
                self._by_directory[seen] = settings
        return settings
