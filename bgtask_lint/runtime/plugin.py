"""The pytest hooks: the options, and the watcher registered when enabled."""

from __future__ import annotations

import pytest

from bgtask_lint.runtime.records import WATCHER, BackgroundTaskWarning

DEFAULT_BLOCK_MS = 50.0
# The names the plugin is enabled by with `-p` (its entry point's, and this module's).
PLUGIN_NAMES = ("bgtask_lint.pytest_plugin", __name__)


# -- options -----------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bgtask-lint", "background tasks lost, dropped or blocking")
    group.addoption(
        "--bgtask-lint",
        action="store_true",
        default=None,
        help="fail a test whose background tasks are lost, dropped or block the event loop",
    )
    group.addoption(
        "--bgtask-lint-mode",
        choices=("fail", "warn"),
        default=None,
        help="fail the test (default) or only warn",
    )
    group.addoption(
        "--bgtask-lint-block-ms",
        type=float,
        default=None,
        help=f"how long an async task may hold the event loop (default {DEFAULT_BLOCK_MS:g} ms)",
    )
    parser.addini("bgtask_lint", "enable the bgtask-lint plugin", type="bool", default=False)
    parser.addini("bgtask_lint_mode", "fail (default) or warn", default="fail")
    parser.addini(
        "bgtask_lint_block_ms",
        "how long an async task may hold the event loop, in ms",
        default=str(DEFAULT_BLOCK_MS),
    )


def pytest_configure(config: pytest.Config) -> None:
    named = any(
        str(plugin).strip() in PLUGIN_NAMES for plugin in (config.getoption("plugins", None) or [])
    )
    if not (config.getoption("bgtask_lint") or config.getini("bgtask_lint") or named):
        return
    if config.pluginmanager.has_plugin(WATCHER):
        return
    mode = config.getoption("bgtask_lint_mode") or config.getini("bgtask_lint_mode")
    if mode not in ("fail", "warn"):
        raise pytest.UsageError(f"bgtask_lint_mode must be fail or warn, got {mode!r}")
    block_ms = config.getoption("bgtask_lint_block_ms")
    if block_ms is None:
        try:
            block_ms = float(config.getini("bgtask_lint_block_ms"))
        except ValueError as error:
            raise pytest.UsageError(f"bgtask_lint_block_ms must be a number: {error}") from None
    from bgtask_lint.runtime.watcher import Watcher  # only when enabled

    watcher = Watcher(mode, block_ms / 1000.0)
    config.pluginmanager.register(watcher, WATCHER)
    # Installed before the test modules are imported: a task object made at
    # import time (a module-level `BackgroundTask`, shared by every request)
    # is known too.
    watcher.install()


__all__ = ["DEFAULT_BLOCK_MS", "BackgroundTaskWarning", "pytest_addoption", "pytest_configure"]
