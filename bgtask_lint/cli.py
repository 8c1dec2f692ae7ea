"""The command line: parse options, call the API, print, pick the exit code.

Exit codes follow ruff: 0 nothing to report, 1 findings remain, 2 usage error,
bad configuration or an internal failure.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import click

from bgtask_lint import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _split_codes(
    _ctx: click.Context, _param: click.Parameter, values: Sequence[str]
) -> Optional[tuple[str, ...]]:
    """`--select BGT001,BGT002 --select BGT003` → ("BGT001", "BGT002", "BGT003")."""
    if not values:
        return None
    return tuple(
        code.strip().upper() for value in values for code in value.split(",") if code.strip()
    )


def _fail(message: str) -> None:
    click.echo(f"bgtask-lint: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="bgtask-lint")
def main() -> None:
    """Find FastAPI / Starlette background tasks that silently never run."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
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
    "--ignore",
    multiple=True,
    callback=_split_codes,
    help="Rule codes or prefixes to disable.",
)
@click.option(
    "--output-format",
    type=click.Choice(["full", "concise", "json"]),
    default="full",
    show_default=True,
)
@click.option("--exit-zero", is_flag=True, help="Exit with 0 even when findings remain.")
@click.option("--statistics", is_flag=True, help="Show a count per rule instead of each finding.")
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary.")
@click.option(
    "--stdin-filename",
    help="The file name to report for source read from standard input (`-`).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Use this pyproject.toml for every file instead of discovering one.",
)
@click.option(
    "--force-exclude",
    is_flag=True,
    help="Apply `exclude` even to paths named on the command line.",
)
def check(
    paths: tuple[Path, ...],
    select: Optional[tuple[str, ...]],
    extend_select: Optional[tuple[str, ...]],
    ignore: Optional[tuple[str, ...]],
    output_format: str,
    exit_zero: bool,
    statistics: bool,
    quiet: bool,
    stdin_filename: Optional[str],
    config_file: Optional[Path],
    force_exclude: bool,
) -> None:
    """Check PATHS (default: the current directory) for background-task bugs."""
    from bgtask_lint import api, output
    from bgtask_lint.config import ConfigError, Overrides

    overrides = Overrides(
        config_file=config_file,
        select=select,
        extend_select=extend_select or (),
        ignore=ignore or (),
    )
    try:
        if paths == (Path("-"),) or (not paths and stdin_filename):
            result = api.check_stdin(sys.stdin.buffer.read(), stdin_filename or "-", overrides)
        else:
            if Path("-") in paths:
                _fail("`-` (standard input) cannot be combined with other paths")
            result = api.check_paths(paths or (Path("."),), overrides, force_exclude=force_exclude)
    except ConfigError as error:
        _fail(str(error))
        return

    for failure in result.internal_errors:
        click.echo(f"bgtask-lint: error: {failure}", err=True)
    if result.files_checked == 0 and not result.diagnostics and not quiet:
        click.echo("warning: No Python files found under the given path(s)", err=True)

    diagnostics = result.diagnostics
    if statistics:
        text = output.format_statistics(diagnostics)
    else:
        text = output.WRITERS[output_format](diagnostics, False)
    click.echo(text, nl=False)
    if output_format in ("full", "concise") and not quiet:
        if diagnostics and output_format == "full" and not statistics:
            click.echo()
        click.echo(output.format_summary(diagnostics), nl=False)

    if result.internal_errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if diagnostics and not exit_zero else EXIT_CLEAN)


@main.command()
@click.argument("code")
def rule(code: str) -> None:
    """Show the documentation of rule CODE (for example BGT001)."""
    from bgtask_lint.rules import find_rule

    found = find_rule(code)
    if found is None:
        _fail(f"unknown rule `{code}`; `bgtask-lint rules` lists them")
        return
    click.echo(found.documentation(), nl=False)


@main.command(name="rules")
def rules_command() -> None:
    """List every rule: code, name, fix availability, summary."""
    from bgtask_lint.rules import ALL_RULES

    for r in ALL_RULES:
        click.echo(f"{r.code}  {r.name:<36} fix: {r.fix_availability:<9} {r.summary}")
