from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.model import FunctionInfo, Model, TaskSubmission
from bgtask_lint.analysis.names import PARTIAL
from bgtask_lint.analysis.syntax import call_argument
from bgtask_lint.diagnostic import SAFE, UNSAFE
from bgtask_lint.rules.base import FIX_SOMETIMES, FixPlan, Rule, RuleContext, Violation
from bgtask_lint.rules.rewrite import Edits

# Return annotations of functions that hand back something to call or await.
_CALLABLE_ANNOTATIONS = frozenset({"Callable", "Awaitable", "Coroutine", "partial"})
# Calls that build a callable: handing their result to add_task is right.
_CALLABLE_FACTORIES = PARTIAL | {"operator.methodcaller", "operator.attrgetter", "builtins.getattr"}


# A file without these words cannot have a finding of this rule (the text screen).
TRIGGERS = ("BackgroundTask",)


class TaskCalledNotPassed(Rule):
    """
    ## What it does
    Flags a background task that is called where it should be passed:
    `add_task(send(x))`, `add_task(await send(x))`, `BackgroundTask(send(x))`,
    and `add_task(lambda: send_async(x))` with an `async def` inside the
    lambda.

    ## Why is this bad?
    `add_task` and `BackgroundTask` take the function and its arguments
    separately, and call it after the response is sent. Written as
    `add_task(send(x))`, the function runs right away, inside the request:
    - a `def` task runs before the response, slowing it down; then, after the
      response, Starlette tries to call its return value (usually `None`),
      raises `TypeError: first argument must be callable`, and skips every
      later task in the list;
    - an `async def` task never runs at all: its coroutine is created, never
      awaited (a `RuntimeWarning`), then the same `TypeError` follows.

    `add_task(lambda: send_async(x))` looks right but is a silent no-op: the
    lambda runs in the thread pool and only creates the coroutine.

    The receiver is checked first: many libraries have an `add_task` method of
    their own, so only a `BackgroundTasks` (an injected parameter, a
    `BackgroundTasks()` object, or an unannotated parameter of a helper that
    the project's routes hand their injected `BackgroundTasks`) is
    considered. A call that builds a callable is fine: `functools.partial(...)`,
    a function annotated `-> Callable` or one that returns a nested function,
    a lambda or a function of the project. Calls of functions bgtask-lint
    cannot find (another package, a method of an object of unknown type) are
    not flagged, since they may be such factories (langflow's
    `add_task(graph.end_all_traces_in_context())` is one), unless they are
    awaited: `add_task(await f(...))` always runs the work during the request,
    whatever `f` is.

    ## Example
    ```python
    background_tasks.add_task(send_receipt(order.id, email=order.email))
    ```

    ## Use instead
    ```python
    background_tasks.add_task(send_receipt, order.id, email=order.email)
    ```

    ## Fix safety
    The call's arguments become `add_task` arguments. Safe when the function
    returns nothing (so nothing used its result); unsafe otherwise, and when
    the awaited function cannot be read. Unsafe for the lambda form too: the
    arguments are now evaluated when the task is added, not when it runs. No
    fix when `add_task` has further arguments after the call.

    ## References
    - [FastAPI: Background Tasks](https://fastapi.tiangolo.com/tutorial/background-tasks/)
    - [Starlette: BackgroundTask](https://www.starlette.io/background/)
    """

    code = "BGT004"
    name = "task-called-not-passed"
    summary = "Task function called instead of passed to `add_task` / `BackgroundTask`"
    fix_availability = FIX_SOMETIMES

    MUST_FLAG = (
        """
from fastapi import BackgroundTasks
def send(x): ...
def route(bt: BackgroundTasks):
    bt.add_task(send(1))
""",
        """
from fastapi import BackgroundTasks
async def send(x): ...
def route(bt: BackgroundTasks):
    bt.add_task(lambda: send(1))
""",
    )
    MUST_NOT_FLAG = (
        """
from functools import partial
from fastapi import BackgroundTasks
def send(x): ...
def route(bt: BackgroundTasks):
    bt.add_task(partial(send, 1))
    bt.add_task(lambda: send(1))
""",
        """
def send(x): ...
def route(scheduler):
    scheduler.add_task(send(1))
""",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        model = context.model
        for submission in model.task_submissions():
            arg = submission.callable_arg
            if arg is None:
                continue
            value = arg.value
            awaited = isinstance(value, cst.Await)
            call = value.expression if isinstance(value, cst.Await) else value
            if isinstance(call, cst.Call):
                yield from self._called(model, submission, call, awaited)
            elif isinstance(value, cst.Lambda):
                yield from self._lambda(model, submission, value)
        for site in model.calls:
            if model.is_background_tasks_class(site.node.func):
                yield from self._list_entries(model, site.node)

    def _list_entries(self, model: Model, constructor: cst.Call) -> Iterator[Violation]:
        """`BackgroundTasks([send(x)])`: each entry must be a BackgroundTask."""
        arg = call_argument(constructor, 0, "tasks")
        if arg is None or not isinstance(arg.value, (cst.List, cst.Tuple)):
            return
        for element in arg.value.elements:
            entry = element.value
            if isinstance(entry, cst.Call) and not model.is_background_task_class(entry.func):
                name = _display(entry.func)
                yield Violation(
                    entry,
                    f"`{name}(...)` in `BackgroundTasks([...])` is called now and its result "
                    f"stored as a task; wrap it: `BackgroundTask({name}, ...)`",
                )

    def _called(
        self, model: Model, submission: TaskSubmission, call: cst.Call, awaited: bool
    ) -> Iterator[Violation]:
        qualname = model.qualified_name(call.func)
        if qualname in _CALLABLE_FACTORIES or model.is_background_task_class(call.func):
            return
        ref = model.resolve_function(call.func, submission.site.function)
        if ref is None and awaited:
            # `add_task(await f(...))` runs the work now, during the request,
            # whatever `f` is: only a function known to return a callable
            # makes it right, and this one cannot be read.
            name = _display(call.func)
            message = (
                f"`await {name}(...)` runs it now, inside the request, and hands its result "
                f"to `add_task`; pass the function and its arguments: `add_task({name}, ...)`"
            )
            yield Violation(call, message, _pass_instead_of_call(submission, call, UNSAFE))
            return
        # A target we cannot find may be a factory that returns the task
        # (`graph.end_traces(...)` returning a function, in real code): only
        # calls of functions we can read are judged.
        if ref is None or _returns_a_callable(ref.model, ref.info):
            return
        function = ref.info
        name = _display(call.func)
        if function is not None and function.is_async and not awaited:
            consequence = "its coroutine is never awaited, so the task never runs"
        else:
            consequence = (
                "it runs now, inside the request, and Starlette then fails to call "
                "its result after the response"
            )
        message = (
            f"`{name}(...)` is called, not passed: {consequence}; pass the function and "
            f"its arguments separately: `add_task({name}, ...)`"
        )
        safe = not _returns_a_value(function)
        fix = _pass_instead_of_call(submission, call, SAFE if safe else UNSAFE)
        yield Violation(call, message, fix)

    def _lambda(
        self, model: Model, submission: TaskSubmission, lambda_: cst.Lambda
    ) -> Iterator[Violation]:
        body = lambda_.body
        if not isinstance(body, cst.Call) or lambda_.params.params:
            return
        ref = model.resolve_function(body.func, submission.site.function)
        function = ref.info if ref else None
        if function is None or not function.is_async:
            return
        name = function.name
        message = (
            f"`lambda: {name}(...)` only creates a coroutine that is never awaited: the "
            f"task silently does nothing; pass `add_task({name}, ...)` instead"
        )
        yield Violation(lambda_, message, _pass_instead_of_call(submission, body, UNSAFE))


def _pass_instead_of_call(
    submission: TaskSubmission, call: cst.Call, applicability: str
) -> Optional[FixPlan]:
    """`add_task(f(a, k=1))` → `add_task(f, a, k=1)`, when the call is the only
    argument (with more, the rewrite would change what is called)."""
    submit = submission.site.node
    if len(submit.args) != 1 or submit.args[0] is not submission.callable_arg:
        return None
    if submission.callable_arg.keyword is not None:  # `add_task(func=f(x))`
        return None
    first = cst.Arg(value=call.func)
    args = [first, *call.args] if call.args else [first]

    def rewrite(module: cst.Module) -> Edits:
        edits = Edits()
        edits.replace[submit] = submit.with_changes(args=_with_default_commas(args))
        return edits

    return FixPlan(applicability, "Pass the function and its arguments separately", rewrite)


def _with_default_commas(args: list[cst.Arg]) -> list[cst.Arg]:
    """Commas as the call being unwrapped had them; the new first one is `, `."""
    if len(args) == 1:
        return [args[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
    first = args[0].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return [first, *args[1:]]


def _returns_a_value(function: FunctionInfo) -> bool:
    return bool(function.yields) or any(r.value is not None for r in function.returns)


def _returns_a_callable(model: Model, function: FunctionInfo) -> bool:
    """A factory: annotated to return a callable, or returns a nested function,
    a lambda, a partial or a function of the project."""
    returns = function.node.returns
    if returns is not None:
        annotation = returns.annotation
        base = annotation.value if isinstance(annotation, cst.Subscript) else annotation
        qualname = model.qualified_name(base) or _display(base)
        if qualname.rsplit(".", 1)[-1] in _CALLABLE_ANNOTATIONS:
            return True
    nested = {
        statement.name.value
        for statement in function.node.body.body
        if isinstance(statement, cst.FunctionDef)
    }
    for ret in function.returns:
        value = ret.value
        if isinstance(value, cst.Lambda):
            return True
        if isinstance(value, cst.Name) and value.value in nested:
            return True
        if isinstance(value, (cst.Name, cst.Attribute)) and model.resolve_function(value, function):
            return True  # `return send_reminder`: a function of the project
        if isinstance(value, cst.Call) and call_argument(value, 0, "func") is not None:
            func = value.func
            if isinstance(func, (cst.Name, cst.Attribute)) and _display(func).endswith("partial"):
                return True
    return False


def _display(expr: cst.BaseExpression) -> str:
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return f"{_display(expr.value)}.{expr.attr.value}"
    return "..."
