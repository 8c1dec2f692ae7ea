"""The rule registry: every rule, by code. Codes never change meaning."""

from __future__ import annotations

from typing import Optional

from bgtask_lint.rule import Rule
from bgtask_lint.rules.bgt001_unattached_background_tasks import UnattachedBackgroundTasks
from bgtask_lint.rules.bgt002_wrong_background_tasks_annotation import (
    WrongBackgroundTasksAnnotation,
)
from bgtask_lint.rules.bgt003_blocking_call_in_async_task import BlockingCallInAsyncTask
from bgtask_lint.rules.bgt004_task_called_not_passed import TaskCalledNotPassed
from bgtask_lint.rules.bgt005_injected_tasks_dropped import InjectedTasksDropped
from bgtask_lint.rules.bgt006_background_overwritten import BackgroundOverwritten
from bgtask_lint.rules.bgt007_background_tasks_in_websocket import BackgroundTasksInWebsocket
from bgtask_lint.rules.bgt008_add_task_after_yield import AddTaskAfterYield
from bgtask_lint.rules.bgt009_request_scoped_resource_in_task import (
    RequestScopedResourceInTask,
)
from bgtask_lint.rules.bgt010_shared_response_instance import SharedResponseInstance
from bgtask_lint.rules.bgt100_unused_noqa import UnusedNoqa

ALL_RULES: tuple[type[Rule], ...] = (
    UnattachedBackgroundTasks,
    WrongBackgroundTasksAnnotation,
    BlockingCallInAsyncTask,
    TaskCalledNotPassed,
    InjectedTasksDropped,
    BackgroundOverwritten,
    BackgroundTasksInWebsocket,
    AddTaskAfterYield,
    RequestScopedResourceInTask,
    SharedResponseInstance,
    UnusedNoqa,
)

RULES_BY_CODE: dict[str, type[Rule]] = {rule.code: rule for rule in ALL_RULES}
RULES_BY_NAME: dict[str, type[Rule]] = {rule.name: rule for rule in ALL_RULES}


def find_rule(code_or_name: str) -> Optional[type[Rule]]:
    key = code_or_name.strip()
    return RULES_BY_CODE.get(key.upper()) or RULES_BY_NAME.get(key.lower())
