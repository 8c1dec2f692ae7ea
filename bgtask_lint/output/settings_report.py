"""`check --show-settings`: the settings a file is checked with, resolved, as
TOML a user can read and paste back (ruff prints its settings struct)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Optional

from bgtask_lint.config.settings import Settings


def format_settings(path: Path, settings: Settings, project_root: Optional[Path]) -> str:
    """Every setting that shapes the check of `path`: where it came from,
    the rules and fixes it enables, the file walk's patterns and the
    versions rules assume (`project_root`'s pins where the configuration
    names none)."""
    options = settings.rule_options(project_root, str(path.absolute().parent))
    fields: list[tuple[str, Any]] = [
        ("root", str(settings.root)),
        ("enabled", sorted(settings.enabled_codes(path))),
        ("fixable", sorted(settings.fixable_codes)),
        ("exclude", list(settings.exclude)),
        ("extend-exclude", list(settings.extend_exclude)),
        ("extend-include", list(settings.extend_include)),
        ("per-file-ignores", {p: list(codes) for p, codes in settings.per_file_ignores}),
        ("respect-gitignore", settings.respect_gitignore),
        ("preview", settings.preview),
        ("src", list(settings.src)),
        ("target-fastapi", _version(settings.target_fastapi)),
        ("target-starlette", _version(settings.target_starlette)),
        ("portability", settings.portability),
        ("max-call-depth", settings.max_call_depth),
        ("max-file-size", settings.max_file_size),
        ("extra-blocking-calls", list(settings.extra_blocking_calls)),
        ("line-length", options.line_length),
        ("fix", settings.fix),
        ("unsafe-fixes", settings.unsafe_fixes),
        ("output-format", settings.output_format),
        ("cache-dir", str(settings.cache_dir) if settings.cache_dir else None),
    ]
    source = str(settings.source) if settings.source else "none (the defaults)"
    lines = [
        f"Resolved settings for: {json.dumps(str(path.absolute()))}",
        f"Settings path: {json.dumps(source) if settings.source else source}",
        "",
    ]
    lines.extend(_lines(fields))
    for package, pin in (("FastAPI", options.fastapi), ("Starlette", options.starlette)):
        lines.append(f"# {package} versions: {pin.named() if pin else 'unknown (no pin found)'}")
    return "\n".join(lines) + "\n"


def _version(version: Optional[tuple[int, ...]]) -> Optional[str]:
    return ".".join(map(str, version)) if version else None


def _lines(fields: Iterable[tuple[str, Any]]) -> Iterable[str]:
    for key, value in fields:
        if value is None:
            yield f"# {key}: not set"
        elif isinstance(value, dict):
            table = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in value.items())
            yield f"{key} = {{{table}}}" if table else f"{key} = {{}}"
        else:
            yield f"{key} = {json.dumps(value)}"
