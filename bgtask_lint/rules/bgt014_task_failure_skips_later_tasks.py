from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.blocking import tasks_run_here, used_only_as_tasks
from bgtask_lint.analysis.failures import FailurePath, Failures
from bgtask_lint.analysis.model import FunctionInfo, FunctionRef, Model, TaskSubmission
from bgtask_lint.analysis.positions import node_ranges
from bgtask_lint.diagnostic import UNSAFE
from bgtask_lint.rules.base import FIX_SOMETIMES, FixPlan, Rule, RuleContext, Violation
from bgtask_lint.rules.rewrite import (
    CannotFix,
    Edits,
    fit_call,
    is_docstring,
    line_column,
    module_reference,
)

# A file without these words cannot have a finding of this rule (the text screen).
TRIGGERS = ("BackgroundTasks",)

# Ruff's preview convention: runs with `--preview` or when selected by its
# code, until its precision on real applications is shown (see its page).
PREVIEW = True

# Module-level loggers a fix may use, by what they are built from.
_LOGGER_FACTORIES = frozenset({"logging.getLogger", "structlog.get_logger", "structlog.getLogger"})
_LOGGER_OBJECTS = frozenset({"loguru.logger"})
MAX_NAMED = 3


class TaskFailureSkipsLaterTasks(Rule):
    """
    ## What it does
    Flags an `add_task` whose task can raise when more tasks are queued after
    it on the same request (the same injected `BackgroundTasks`, or the same
    `BackgroundTasks()` object).

    "Can raise" means the task, or a helper it calls or awaits (across the
    project's modules), does network, database, file or subprocess work
    (`requests.post`, `smtplib.SMTP`, `db.commit()`, `await client.post(...)`,
    `asyncio.wait_for`...), calls `raise_for_status()`, or raises explicitly —
    outside any `try` whose handler swallows the error.

    ## Why is this bad?
    Starlette runs a request's background tasks one after another and stops
    at the first exception: every task queued after the failing one never
    starts. The error reaches only the server log ("Exception in ASGI
    application"); the response has long been sent. This is documented and
    intended (starlette #1589), and applications keep meeting it: a timed-out
    first task meant every task after it never ran.

    ## Example
    ```python
    def send_welcome(email: str):
        requests.post(MAIL_API, json={"to": email}).raise_for_status()

    @app.post("/signup")
    def signup(user: User, background_tasks: BackgroundTasks):
        background_tasks.add_task(send_welcome, user.email)  # can raise
        background_tasks.add_task(record_signup, user.id)  # then never runs
    ```

    ## Use instead
    ```python
    def send_welcome(email: str):
        try:
            requests.post(MAIL_API, json={"to": email}).raise_for_status()
        except Exception:
            logger.exception("Background task send_welcome failed")
    ```
    or queue one task that runs the others, each in its own `try`.

    Not flagged: the last task of a request (nothing after it is lost), a
    single task, tasks that handle their own errors, tasks wrapped by a
    decorator (a retry or logging wrapper may catch), tasks the project
    cannot see into (a library's function), and the same `add_task` in a loop.

    ## Fix safety
    Unsafe: the task's body is wrapped in `try` / `except Exception:` with
    `logger.exception(...)`, using the module's logger if it has one
    (`logging.getLogger`, structlog, loguru), else
    `logging.getLogger(__name__)`. The task no longer raises: what relied on
    its exception (a caller, a test) sees it logged instead. Offered only for
    a task defined in the same module and used there only as a task.

    ## Preview
    This rule is in preview: it runs with `--preview` (`preview = true`), or
    when selected by its code (`--select BGT014`, `extend-select =
    ["BGT014"]`), as ruff's preview rules do. A default rule must show 95%
    precision on real applications first; on the checkouts measured so far
    (12 FastAPI applications) requests that queue several tasks are rare, and
    none of their first tasks was shown to raise, so there is no precision to
    measure yet.

    ## References
    - [Starlette: Background Tasks](https://www.starlette.io/background/)
    - [starlette #1589](https://github.com/encode/starlette/issues/1589)
    """

    code = "BGT014"
    name = "task-failure-skips-later-tasks"
    summary = "A task that can raise skips every task queued after it"
    fix_availability = FIX_SOMETIMES

    MUST_FLAG = (
        """
import requests
from fastapi import BackgroundTasks
def notify(url):
    requests.post(url)
def audit(x): ...
def route(bt: BackgroundTasks):
    bt.add_task(notify, "http://x")
    bt.add_task(audit, 1)
""",
    )
    MUST_NOT_FLAG = (
        """
import requests
from fastapi import BackgroundTasks
def notify(url):
    try:
        requests.post(url)
    except Exception:
        pass
def audit(x): ...
def route(bt: BackgroundTasks):
    bt.add_task(notify, "http://x")
    bt.add_task(audit, 1)
""",
        """
import requests
from fastapi import BackgroundTasks
def notify(url):
    requests.post(url)
def audit(x): ...
def route(bt: BackgroundTasks):
    bt.add_task(audit, 1)
    bt.add_task(notify, "http://x")
""",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        model = context.model
        failures = Failures(context.blocking_calls, context.options.max_call_depth)
        only_tasks: Optional[set[FunctionInfo]] = None
        for group in _per_request(model):
            for index, first in enumerate(group):
                later = [s for s in group[index + 1 :] if _can_follow(model, first, s)]
                if not later or first.callable_arg is None:
                    continue
                task = model.task_function(first.callable_arg.value, first.site.function)
                if task is None or task.info.yields:
                    continue
                path = failures.path(task)
                if path is None:
                    continue
                if only_tasks is None:
                    only_tasks = used_only_as_tasks(model, tasks_run_here(model))
                fix = None
                if task.model is model and task.info in only_tasks:
                    fix = _guard_fix(model, task.info)
                yield Violation(
                    first.site.node,
                    _message(task, path, later, model),
                    fix,
                    related=_related(model, path, later),
                )


def _per_request(model: Model) -> Iterator[list[TaskSubmission]]:
    """The `add_task` calls of each function on each BackgroundTasks name, in
    source order: the tasks of one request, when there are several."""
    groups: dict[tuple[int, str], list[TaskSubmission]] = {}
    for submission in model.task_submissions():
        site = submission.site
        receiver = submission.receiver
        if (
            site.function is None
            or site.in_lambda
            or site.statement is None
            or not isinstance(receiver, cst.Name)
        ):
            continue
        groups.setdefault((id(site.function.node), receiver.value), []).append(submission)
    for group in groups.values():
        if len(group) > 1:
            yield group


def _can_follow(model: Model, first: TaskSubmission, then: TaskSubmission) -> bool:
    """`then` can be queued after `first` on the same request."""
    before, after = first.site.statement, then.site.statement
    return before is not None and after is not None and model.scopes.can_run_after(before, after)


def _task_name(model: Model, submission: TaskSubmission) -> str:
    arg = submission.callable_arg
    if arg is None:
        return "?"
    ref = model.task_function(arg.value, submission.site.function)
    if ref is not None:
        return ref.info.display_name
    return model.module.code_for_node(arg.value)


def _message(
    task: FunctionRef, path: FailurePath, later: list[TaskSubmission], model: Model
) -> str:
    names = [f"`{_task_name(model, s)}`" for s in later[:MAX_NAMED]]
    if len(later) > MAX_NAMED:
        names.append(f"{len(later) - MAX_NAMED} more")
    count = "task" if len(later) == 1 else f"{len(later)} tasks"
    return (
        f"task `{task.info.display_name}` can raise ({' → '.join(path.chain)}); "
        f"Starlette then skips the {count} queued after it on this request "
        f"({', '.join(names)}): handle its errors inside the task"
    )


def _related(
    model: Model, path: FailurePath, later: list[TaskSubmission]
) -> tuple[tuple[str, int, int, str], ...]:
    found = []
    where = path.model
    start = node_ranges(where.module, [path.node], where.parsed_text)[path.node].start
    found.append((where.path, start.line, start.column + 1, "can raise here"))
    ranges = node_ranges(model.module, [s.site.node for s in later], model.parsed_text)
    for submission in later:
        position = ranges[submission.site.node].start
        found.append((model.path, position.line, position.column + 1, "never runs then"))
    return tuple(found)


def module_logger(model: Model) -> Optional[str]:
    """A module-level name holding the module's logger, if it has one."""
    for name, binding in model.imports.bindings.items():
        if binding.qualname in _LOGGER_OBJECTS and binding.module_level:
            return name
    for statement in model.module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            target: Optional[cst.BaseExpression] = None
            value: Optional[cst.BaseExpression] = None
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target, value = small.targets[0].target, small.value
            elif isinstance(small, cst.AnnAssign):
                target, value = small.target, small.value
            if (
                isinstance(target, cst.Name)
                and isinstance(value, cst.Call)
                and model.qualified_name(value.func) in _LOGGER_FACTORIES
            ):
                return target.value
    return None


def _guard_fix(model: Model, task: FunctionInfo) -> Optional[FixPlan]:
    body = task.node.body
    if not isinstance(body, cst.IndentedBlock):
        return None  # `def f(): x()` on one line: left as it is

    statements = list(body.body)
    kept: list[cst.BaseStatement] = []
    if statements and is_docstring(statements[0]):
        kept.append(statements.pop(0))
    if not statements:
        return None

    def free(name: str) -> bool:
        # A parameter or local of that name would be what the handler
        # calls (or unbound when the error came first).
        return not model.local_bindings(task.node, name)

    def rewrite(module: cst.Module) -> Edits:
        edits = Edits()
        logger = module_logger(model)
        if logger is None or not free(logger):
            logging = module_reference(model, edits, "logging")
            if not free(logging):
                raise CannotFix(f"`{logging}` is a local name of `{task.name}`")
            logger = f"{logging}.getLogger(__name__)"
        report = cst.parse_expression(
            f'{logger}.exception("Background task {task.display_name} failed")'
        )
        assert isinstance(report, cst.Call)
        # Two indents in from the `def`: its body, then the handler's.
        indent = len(model.module.default_indent.expandtabs())
        report = fit_call(model, report, line_column(model, task.node) + 2 * indent)
        handler = cst.Try(
            body=cst.IndentedBlock(body=statements),
            handlers=[
                cst.ExceptHandler(
                    body=cst.IndentedBlock(body=[cst.SimpleStatementLine([cst.Expr(report)])]),
                    type=cst.Name("Exception"),
                )
            ],
        )
        edits.replace[task.node] = task.node.with_changes(
            body=body.with_changes(body=[*kept, handler])
        )
        return edits

    message = f"Log and swallow the errors of `{task.name}` (`try` / `except Exception`)"
    return FixPlan(UNSAFE, message, rewrite)
