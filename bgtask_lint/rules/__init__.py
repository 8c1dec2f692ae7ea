"""The rule registry: every rule, by code. Codes never change meaning."""

from __future__ import annotations

from bgtask_lint.rule import Rule
from bgtask_lint.rules.bgt001_unattached_background_tasks import (
    UnattachedBackgroundTasks,
)
from bgtask_lint.rules.bgt002_wrong_background_tasks_annotation import (
    WrongBackgroundTasksAnnotation,
)
from bgtask_lint.rules.bgt003_blocking_call_in_async_task import BlockingCallInAsyncTask

ALL_RULES: tuple[type[Rule], ...] = (
    UnattachedBackgroundTasks,
    WrongBackgroundTasksAnnotation,
    BlockingCallInAsyncTask,
)

RULES_BY_CODE: dict[str, type[Rule]] = {rule.code: rule for rule in ALL_RULES}
RULES_BY_NAME: dict[str, type[Rule]] = {rule.name: rule for rule in ALL_RULES}


def find_rule(code_or_name: str) -> type[Rule] | None:
    key = code_or_name.strip()
    return RULES_BY_CODE.get(key.upper()) or RULES_BY_NAME.get(key.lower())
