"""The command line: parse options, call the API, print, pick the exit code.

Exit codes follow ruff: 0 nothing to report, 1 findings remain, 2 usage error,
bad configuration or an internal failure.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import click

from bgtask_lint import __version__
from bgtask_lint.output import FORMATS

if TYPE_CHECKING:
    from bgtask_lint.config.command import CheckOptions
    from bgtask_lint.config.settings import Overrides
    from bgtask_lint.run.result import RunResult

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def _split_codes(
    _ctx: click.Context, _param: click.Parameter, values: Sequence[str]
) -> Optional[tuple[str, ...]]:
    """`--select BGT001,BGT002 --select BGT003` → ("BGT001", "BGT002", "BGT003")."""
    if not values:
        return None
    codes = tuple(
        code.strip().upper() for value in values for code in value.split(",") if code.strip()
    )
    if not codes:
        # As ruff: an empty selection is a mistake, not a request to check nothing.
        raise click.BadParameter("expected at least one rule code or prefix, got an empty list")
    return codes


def _split_list(values: tuple[str, ...]) -> Optional[tuple[str, ...]]:
    """Repeated and comma-separated values as one tuple; None when not given."""
    if not values:
        return None
    return tuple(item.strip() for value in values for item in value.split(",") if item.strip())


def _config_options(values: tuple[str, ...]) -> tuple[Optional[Path], tuple[tuple[str, Any], ...]]:
    """`--config` values, as ruff reads them: an existing file is the
    configuration file (one at most); anything else is a TOML fragment."""
    from bgtask_lint.config.settings import tomllib

    config_file: Optional[Path] = None
    table: dict[str, Any] = {}
    for value in values:
        if os.path.isfile(value) or "=" not in value:
            if config_file is not None:
                _fail("--config names one configuration file at most")
            config_file = Path(value)
            if not config_file.is_file():
                _fail(f"--config: cannot read {value}: no such file (nor a `KEY = VALUE` setting)")
            continue
        try:
            table.update(tomllib.loads(value))
        except tomllib.TOMLDecodeError as error:
            _fail(f"--config {value!r} is neither a file nor valid TOML: {error}")
    return config_file, tuple(table.items())


def _target(option: str, value: Optional[str], example: str) -> Optional[tuple[int, ...]]:
    """The version a `--target-*` option gives, or a usage error."""
    from bgtask_lint.config.versions import parse_version

    if value is None:
        return None
    version = parse_version(value)
    if version is None:
        _fail(f'{option} must be a version such as "{example}", got {value!r}')
    return version


def _per_file_ignore(value: str) -> tuple[str, tuple[str, ...]]:
    """`tests/*.py:BGT001,BGT003` -> ("tests/*.py", ("BGT001", "BGT003"))."""
    pattern, colon, codes = value.rpartition(":")
    if not colon or not pattern or not codes.strip():
        _fail(f"--extend-per-file-ignores takes PATTERN:CODES, got {value!r}")
    return pattern, tuple(c.strip().upper() for c in codes.split(",") if c.strip())


def _fail(message: str) -> None:
    click.echo(f"bgtask-lint: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def run() -> None:
    """The `bgtask-lint` command: main(), with a quick exit. Python's own
    exit frees every object the run made, one by one, and runs the
    interpreter's teardown: 14 ms of a 130 ms warm run on 5 files. As mypy
    does, the command leaves with os._exit once its output is flushed;
    nothing is left to do by then (files are written and closed, the cache
    is stored, the workers have ended). Only main()'s own exit is made
    quick: an uncaught error still ends as Python ends it."""
    try:
        main()  # click's standalone mode: every way out is a SystemExit
    except SystemExit as leaving:
        code = leaving.code
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)  # as Python reports sys.exit("message")
            code = 1
        for stream in (sys.stdout, sys.stderr):
            with suppress(OSError, ValueError):  # a closed pipe: nothing more to say
                stream.flush()
        os._exit(code or 0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="bgtask-lint")
def main() -> None:
    """Find FastAPI / Starlette background tasks that silently never run."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, readable=False))
@click.option(
    "--fix/--no-fix",
    default=None,
    help="Apply fixes (safe ones; see --unsafe-fixes). Default: `fix` in the configuration.",
)
@click.option(
    "--fix-only",
    is_flag=True,
    help="Apply fixes and report nothing about what remains (exit 0; implies --fix).",
)
@click.option(
    "--show-fixes/--no-show-fixes",
    default=False,
    help="List the fixes applied, per file and rule.",
)
@click.option(
    "--unsafe-fixes/--no-unsafe-fixes",
    default=None,
    help="Also offer and apply fixes marked unsafe (default: `unsafe-fixes` in the configuration).",
)
@click.option(
    "--diff", is_flag=True, help="Show the fixes as a diff and write nothing (exit 1 if any)."
)
@click.option(
    "--exit-non-zero-on-fix", is_flag=True, help="Exit 1 when files were fixed, even if clean."
)
@click.option(
    "--select",
    multiple=True,
    callback=_split_codes,
    help="Rule codes or prefixes to enable (replaces the configured `select`).",
)
@click.option(
    "--extend-select",
    multiple=True,
    callback=_split_codes,
    help="Rule codes or prefixes to enable in addition.",
)
@click.option(
    "--ignore", multiple=True, callback=_split_codes, help="Rule codes or prefixes to disable."
)
@click.option(
    "--output-format",
    type=click.Choice(FORMATS),
    envvar="BGTASK_LINT_OUTPUT_FORMAT",
    show_envvar=True,
    help="full and concise for people; json, json-lines, github, sarif, junit, gitlab for "
    "tools. Default: `output-format` in the configuration, else full.",
)
@click.option(
    "--output-file",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report to this file instead of standard output.",
)
@click.option("--exit-zero", "-e", is_flag=True, help="Exit with 0 even when findings remain.")
@click.option("--statistics", is_flag=True, help="Show a count per rule instead of each finding.")
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary.")
@click.option(
    "--extend-per-file-ignores",
    multiple=True,
    metavar="PATTERN:CODES",
    help="Ignore CODES (comma-separated) in files matching PATTERN, besides the "
    "configured per-file-ignores.",
)
@click.option(
    "--target-fastapi",
    metavar="VERSION",
    help='The FastAPI version the project runs on (for example "0.115"), over the '
    "configuration and the project's pin.",
)
@click.option(
    "--target-starlette",
    metavar="VERSION",
    help='The Starlette version the project runs on (for example "0.38.5"), over the '
    "configuration and the project's pin.",
)
@click.option(
    "--preview/--no-preview",
    default=None,
    help="Run the preview rules too (default: no, or `preview` in the config); "
    "a preview rule selected by its code runs either way.",
)
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour the text formats: auto colours a terminal (and honours NO_COLOR, "
    "FORCE_COLOR and CLICOLOR_FORCE).",
)
@click.option(
    "--stdin-filename", help="The file name to report for source read from standard input (`-`)."
)
@click.option(
    "--config",
    "config_options",
    multiple=True,
    metavar="FILE | KEY=VALUE",
    help="A configuration file (pyproject.toml or bgtask-lint.toml) to use for every "
    "file instead of discovering one, or a TOML `KEY = VALUE` that overrides a setting "
    "(for example \"target-fastapi = '0.115'\"); may be repeated.",
)
@click.option(
    "--add-noqa",
    is_flag=True,
    help="Add `# noqa: CODE` to the line of every current finding (to adopt the tool now).",
)
@click.option(
    "--respect-gitignore/--no-respect-gitignore",
    default=None,
    help="Skip files .gitignore ignores (default: yes, or `respect-gitignore` in the config).",
)
@click.option(
    "--no-cache",
    "-n",
    is_flag=True,
    help="Do not read or write the result cache (.bgtask_lint_cache/); "
    "also BGTASK_LINT_NO_CACHE=1.",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="BGTASK_LINT_CACHE_DIR",
    show_envvar=True,
    help="Where the result cache lives (default: `cache-dir` in the configuration, "
    "else .bgtask_lint_cache).",
)
@click.option(
    "--exclude",
    multiple=True,
    callback=lambda ctx, param, value: _split_list(value),
    metavar="PATTERNS",
    help="Patterns of files and directories to skip, comma-separated (replaces `exclude`).",
)
@click.option(
    "--extend-exclude",
    multiple=True,
    callback=lambda ctx, param, value: _split_list(value) or (),
    metavar="PATTERNS",
    help="Patterns to skip besides `exclude`, comma-separated.",
)
@click.option(
    "--show-files",
    is_flag=True,
    help="List the files that would be checked, and check nothing.",
)
@click.option(
    "--show-settings",
    is_flag=True,
    help="Show the settings the first file under PATHS is checked with, and check nothing.",
)
@click.option(
    "--force-exclude",
    is_flag=True,
    help="Apply `exclude` even to paths named on the command line.",
)
@click.option(
    "--watch",
    "-w",
    is_flag=True,
    help="Check again whenever a file changes (needs the `watch` extra: watchfiles).",
)
def check(watch: bool, show_files: bool, show_settings: bool, **options: Any) -> None:
    """Check PATHS (default: the current directory) for background-task bugs.

    Only files that mention background tasks are parsed (the others cannot
    have findings, and are read at most to follow a value into them), so a
    syntax error is reported (BGT900) in those files only.
    """
    with _interruptible():
        parsed = _options(options)
        if show_files or show_settings:
            _show(parsed, settings=show_settings)
        elif watch:
            _watch(parsed)
        else:
            _check(parsed)


# `_overrides`'s parameters: the options that change the settings.
_OVERRIDE_OPTIONS = (
    "select",
    "extend_select",
    "ignore",
    "extend_per_file_ignores",
    "target_fastapi",
    "target_starlette",
    "config_options",
    "exclude",
    "extend_exclude",
    "preview",
)


def _options(given: dict[str, Any]) -> CheckOptions:
    """`check`'s options as one value (BGTASK_LINT_NO_CACHE counts as
    `--no-cache`)."""
    from bgtask_lint.config.command import CheckOptions

    overrides = _overrides(*(given.pop(name) for name in _OVERRIDE_OPTIONS))
    no_cache = given.pop("no_cache") or os.environ.get("BGTASK_LINT_NO_CACHE", "") not in ("", "0")
    return CheckOptions(overrides=overrides, no_cache=no_cache, **given)


# What a change must touch to be worth a new check in watch mode.
_WATCHED_SUFFIXES = (".py", ".pyi", ".md", ".markdown", ".toml", ".gitignore")


def _watch(options: CheckOptions) -> None:
    """`--watch`, as ruff's: check, then check again after every change to
    a Python file or a configuration, the screen cleared first. The cache
    makes each new check cost what changed."""
    try:
        import watchfiles
    except ImportError:
        _fail("--watch needs the watchfiles package: pip install 'bgtask-lint[watch]'")
    paths = options.targets
    if Path("-") in paths or options.stdin_filename is not None:
        _fail("--watch cannot read standard input")
    if options.diff or options.add_noqa:
        _fail("--watch cannot be combined with --diff or --add-noqa")

    def relevant(change: Any, path: str) -> bool:
        return path.endswith(_WATCHED_SUFFIXES) and ".bgtask_lint_cache" not in path

    click.echo("Starting bgtask-lint in watch mode...\n")
    _check_once(options)
    try:
        for _ in watchfiles.watch(*paths, watch_filter=relevant):
            click.clear()
            click.echo(f"[{time.strftime('%H:%M:%S')}] File change detected. Checking...\n")
            _check_once(options)
    except KeyboardInterrupt:  # the way a watch ends: 130, as any interrupted run
        click.echo("bgtask-lint: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


def _check_once(options: CheckOptions) -> None:
    """One check of watch mode: its report, and on a bad configuration its
    error; the watching goes on either way."""
    from bgtask_lint import api

    api.forget_what_was_read()  # an edited configuration or .gitignore counts
    with suppress(SystemExit):
        _check(options)
    sys.stdout.flush()


@contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C and SIGTERM end the run with one line and exit 130 / 143. Files
    being written are finished or left untouched first (writes hold the
    signals back, and workers stop at a safe point), so nothing is half-done."""

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    except KeyboardInterrupt:
        click.echo("bgtask-lint: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _check(options: CheckOptions) -> None:
    """`check`: the run the options ask for, its report and exit code."""
    from bgtask_lint import api
    from bgtask_lint.config.settings import ConfigError
    from bgtask_lint.run.cache import CACHE_DIRECTORY

    try:  # only `--config`'s own file is read strictly here
        configured = api.settings_for(Path.cwd(), options.overrides, leniently=True)
    except ConfigError as error:
        _fail(str(error))
        return
    options = options.configured(configured, Path(CACHE_DIRECTORY))
    misuse = options.misused_stdin()
    if misuse is not None:
        _fail(misuse)
    try:
        if options.add_noqa:
            _add_noqa(options)
        data = sys.stdin.buffer.read() if options.from_stdin else None
        result = api.run_check(options, data)
    except ConfigError as error:
        _fail(str(error))
        return
    for failure in result.errors:
        click.echo(f"bgtask-lint: error: {failure}", err=True)
    if result.files_checked == 0 and not result.diagnostics and not options.quiet:
        click.echo("warning: No Python files found under the given path(s)", err=True)
    if options.fix_only:
        _finish_fix_only(options, result)
    if options.diff:
        _finish_diff(options, result)
    _finish(options, result, data)


def _add_noqa(options: CheckOptions) -> None:
    """`--add-noqa`: a directive on the line of every finding; exits."""
    from bgtask_lint import api

    added, result = api.add_noqa(
        options.targets,
        options.overrides,
        force_exclude=options.force_exclude,
        respect_gitignore=options.respect_gitignore,
    )
    for failure in result.errors:
        click.echo(f"bgtask-lint: error: {failure}", err=True)
    plural = "directive" if added == 1 else "directives"
    click.echo(f"Added {added} noqa {plural}.", err=True)
    sys.exit(EXIT_ERROR if result.errors else EXIT_CLEAN)


def _finish_fix_only(options: CheckOptions, result: RunResult) -> None:
    """`--fix-only`: what was fixed, not what remains; exits."""
    from bgtask_lint.output import formats as output

    fixed = sum(result.fixed.values())
    if options.show_fixes and not options.quiet:
        click.echo(output.format_fixes(result.fixed_by_file), nl=False)
    elif not options.quiet:
        click.echo(
            f"Fixed {fixed} error{'s' if fixed != 1 else ''}." if fixed else "No errors fixed."
        )
    if result.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if options.exit_non_zero_on_fix and fixed > 0 else EXIT_CLEAN)


def _finish_diff(options: CheckOptions, result: RunResult) -> None:
    """`--diff`: the fixes as a diff on stdout, the summary on stderr; exits
    1 when there is something to change."""
    from bgtask_lint.output import formats as output

    for change in result.changes:
        click.echo(output.unified_diff(change.filename, change.before, change.after), nl=False)
    if not options.quiet:
        sys.stdout.flush()  # the diff first, then the summary on stderr
        fixed = sum(result.fixed.values())
        summary = output.format_diff_summary(fixed, result.diagnostics, bool(options.unsafe_fixes))
        click.echo(summary, err=True, nl=False)
    sys.exit(EXIT_ERROR if result.errors else int(bool(result.changes)))


def _finish(options: CheckOptions, result: RunResult, data: Optional[bytes]) -> None:
    """The report of a check (or a fix), and its exit code."""
    from bgtask_lint.output import formats as output

    # With --fix on standard input the fixed source goes to stdout, the report
    # to stderr (as ruff does), so the command works as an editor filter.
    report_to_stderr = options.from_stdin and options.fixes
    if report_to_stderr:
        # The input's own bytes when nothing changed; else its encoding, BOM
        # and line endings (they are in the text already).
        first = result.changes[0] if result.changes else None
        sys.stdout.buffer.write(first.after.encode(first.encoding) if first else data or b"")
        sys.stdout.buffer.flush()
    fixed = sum(result.fixed.values())
    if (
        options.show_fixes
        and fixed
        and not options.quiet
        and options.output_format in output.TEXT_FORMATS
    ):
        click.echo(output.format_fixes(result.fixed_by_file), err=report_to_stderr, nl=False)
    _report(result, options, report_to_stderr)
    if result.errors:
        sys.exit(EXIT_ERROR)
    if options.exit_zero:
        sys.exit(EXIT_CLEAN)
    failed = bool(result.diagnostics) or (options.exit_non_zero_on_fix and fixed > 0)
    sys.exit(EXIT_FINDINGS if failed else EXIT_CLEAN)


def _overrides(
    select: Optional[tuple[str, ...]],
    extend_select: Optional[tuple[str, ...]],
    ignore: Optional[tuple[str, ...]],
    extend_per_file_ignores: tuple[str, ...],
    target_fastapi: Optional[str],
    target_starlette: Optional[str],
    config_options: tuple[str, ...],
    exclude: Optional[tuple[str, ...]],
    extend_exclude: tuple[str, ...],
    preview: Optional[bool],
) -> Overrides:
    """What the command line says over the configuration files."""
    from bgtask_lint.config.settings import Overrides

    config_file, config_table = _config_options(config_options)
    return Overrides(
        config_file=config_file,
        config_table=config_table,
        select=select,
        extend_select=extend_select or (),
        ignore=ignore or (),
        extend_per_file_ignores=tuple(_per_file_ignore(v) for v in extend_per_file_ignores),
        target_fastapi=_target("--target-fastapi", target_fastapi, "0.115"),
        target_starlette=_target("--target-starlette", target_starlette, "0.38.5"),
        exclude=exclude,
        extend_exclude=extend_exclude,
        preview=preview,
    )


def _show(options: CheckOptions, *, settings: bool) -> None:
    """`--show-files` and `--show-settings`: what a check would read, and
    with which settings; nothing is checked. Exit 2 when a path cannot be
    walked, as a check would."""
    from bgtask_lint import api
    from bgtask_lint.config.settings import ConfigError

    overrides, paths = options.overrides, options.targets
    try:
        files, errors = api.files_to_check(
            paths,
            overrides,
            force_exclude=options.force_exclude,
            respect_gitignore=options.respect_gitignore,
        )
        for error in errors:
            click.echo(f"bgtask-lint: error: {error}", err=True)
        if settings:
            click.echo(
                api.describe_settings(Path(files[0]) if files else paths[0], overrides), nl=False
            )
        else:
            click.echo("".join(f"{file}\n" for file in files), nl=False)
    except ConfigError as error:
        _fail(str(error))
    sys.exit(EXIT_ERROR if errors else EXIT_CLEAN)


def _report(result: RunResult, options: CheckOptions, to_stderr: bool) -> None:
    """The findings in the format asked for, with the summary in text formats,
    on stdout (stderr: `to_stderr`) or in `--output-file`."""
    from bgtask_lint.output import formats as output
    from bgtask_lint.output.shared import Palette, colour_wanted

    output_format, output_file = options.output_format or "full", options.output_file
    quiet, statistics = options.quiet, options.statistics
    stream = sys.stderr if to_stderr else sys.stdout
    on_terminal = output_file is None and stream.isatty()
    palette = Palette(output_file is None and colour_wanted(options.color, on_terminal, os.environ))
    diagnostics = result.diagnostics
    if statistics and output_format in ("json", "json-lines"):
        text = output.format_statistics_json(diagnostics)
    elif statistics:
        text = output.format_statistics(diagnostics)
    else:
        text = output.write(output_format, diagnostics, bool(options.unsafe_fixes), palette)
    if output_format in output.TEXT_FORMATS and not quiet:
        if diagnostics and output_format == "full" and not statistics:
            text += "\n"
        text += output.format_summary(
            diagnostics,
            fixed=sum(result.fixed.values()),
            fix_mode=options.fixes,
            unsafe_fixes=bool(options.unsafe_fixes),
            palette=palette,
        )
    if output_file is None:
        click.echo(text, nl=False, err=to_stderr, color=palette.enabled)
        return
    try:
        output_file.parent.mkdir(parents=True, exist_ok=True)
        output_file.write_text(text, encoding="utf-8")
    except OSError as error:
        _fail(f"cannot write {output_file}: {error.strerror or error}")


_CATALOGUE_FORMATS = click.Choice(["text", "json"])


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="Show the documentation of every rule.")
@click.option("--output-format", type=_CATALOGUE_FORMATS, default="text", show_default=True)
def rule(code: Optional[str], show_all: bool, output_format: str) -> None:
    """Show the documentation of rule CODE (a code such as BGT001, or a name
    such as unattached-background-tasks), or of every rule with --all."""
    import json

    from bgtask_lint.rules import ALL_RULES, find_rule

    if show_all == (code is not None):
        _fail("give a rule's code or name, or --all")
    if show_all:
        chosen = list(ALL_RULES)
    else:
        found = find_rule(code or "")
        if found is None:
            _fail(f"unknown rule `{code}`; `bgtask-lint rules` lists them")
            return
        chosen = [found]
    if output_format == "json":
        entries = [_rule_json(r) for r in chosen]
        click.echo(json.dumps(entries if show_all else entries[0], indent=2))
        return
    click.echo("\n".join(r.documentation() for r in chosen), nl=False)


@main.command(name="rules")
@click.option("--output-format", type=_CATALOGUE_FORMATS, default="text", show_default=True)
def rules_command(output_format: str) -> None:
    """List every rule: code, name, fix availability, summary."""
    import json

    from bgtask_lint.rules import ALL_RULES, PREVIEW_CODES

    if output_format == "json":
        click.echo(json.dumps([_rule_json(r, explanation=False) for r in ALL_RULES], indent=2))
        return
    for r in ALL_RULES:
        summary = f"{r.summary} (preview)" if r.code in PREVIEW_CODES else r.summary
        click.echo(f"{r.code}  {r.name:<36} fix: {r.fix_availability:<9} {summary}")


def _rule_json(rule: Any, explanation: bool = True) -> dict:
    """A rule as `ruff rule --output-format json` describes one."""
    from bgtask_lint.rules import DEFAULT_CODES, PREVIEW_CODES

    entry = {
        "name": rule.name,
        "code": rule.code,
        "linter": "bgtask-lint",
        "summary": rule.summary,
        "fix": f"Fix is {_FIX_WORDS[rule.fix_availability]}.",
        "enabled_by_default": rule.code in DEFAULT_CODES,
        "preview": rule.code in PREVIEW_CODES,
    }
    if explanation:
        entry["explanation"] = rule.documentation()
    return entry


_FIX_WORDS = {
    "always": "always available",
    "sometimes": "sometimes available",
    "never": "not available",
}


@main.command()
def server() -> None:
    """Run the language server over stdin and stdout, for editors (needs the
    `lsp` extra: pip install 'bgtask-lint[lsp]'). See docs/editors.md."""
    try:
        from bgtask_lint.editor.server import serve
    except ImportError as error:  # pygls or lsprotocol is missing
        _fail(
            f"the language server needs the `lsp` extra ({error}); "
            "install it with: pip install 'bgtask-lint[lsp]'"
        )
        return
    sys.exit(serve())
