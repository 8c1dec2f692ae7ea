"""The pytest plugin's entry point (`-p bgtask_lint.pytest_plugin`, the
`pytest11` entry point): the run-time companion of the static rules lives in
bgtask_lint/runtime/. Loading this imports neither FastAPI, Starlette nor the
companion's instruments; they come when the plugin is enabled."""

from bgtask_lint.runtime.plugin import (
    DEFAULT_BLOCK_MS,
    BackgroundTaskWarning,
    pytest_addoption,
    pytest_configure,
)

__all__ = ["DEFAULT_BLOCK_MS", "BackgroundTaskWarning", "pytest_addoption", "pytest_configure"]
