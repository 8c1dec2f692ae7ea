"""The codes the runtime companion reports with, taken from the rule
registry by the static rules' names: one finding, one code, whichever side
finds it."""

from __future__ import annotations

from bgtask_lint.rules import RULE_NAMES

_CODES = {name: code for code, name in RULE_NAMES.items()}


def code_of(name: str) -> str:
    """The code of the rule named `name` (its kebab-case name)."""
    return _CODES[name]


UNATTACHED = code_of("unattached-background-tasks")
BLOCKING = code_of("blocking-call-in-async-task")
CALLED_NOT_PASSED = code_of("task-called-not-passed")
INJECTED_DROPPED = code_of("injected-tasks-dropped")
OVERWRITTEN = code_of("background-overwritten")
IN_WEBSOCKET = code_of("background-tasks-in-websocket")
AFTER_YIELD = code_of("add-task-after-yield")
SHARED = code_of("shared-response-instance")
EVENT_LOOP_CALL = code_of("event-loop-call-in-task")
DROPPED_BY_RAISE = code_of("tasks-dropped-by-raise")
FAILURE_SKIPS_LATER = code_of("task-failure-skips-later-tasks")
