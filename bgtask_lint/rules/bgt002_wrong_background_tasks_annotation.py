from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.model import HTTP, WEBSOCKET, FunctionInfo, Model
from bgtask_lint.analysis.names import (
    ANNOTATED,
    BACKGROUND_TASKS,
    DEPENDS,
    MISSPELLED_FASTAPI_TASK,
    dotted_name,
)
from bgtask_lint.diagnostic import SAFE, UNSAFE
from bgtask_lint.rules.base import FIX_SOMETIMES, FixPlan, Rule, RuleContext, Violation
from bgtask_lint.rules.rewrite import (
    CannotFix,
    Edits,
    add_parameter,
    background_tasks_reference,
    can_remove_statement,
    remove_item,
)

# A file without these words cannot have a finding of this rule (the text screen).
TRIGGERS = ("BackgroundTask",)


class WrongBackgroundTasksAnnotation(Rule):
    """
    ## What it does
    Flags route and dependency parameters that were meant to receive FastAPI's
    injected `BackgroundTasks` but are declared in a way FastAPI does not inject:

    - annotated `BackgroundTask` (singular, Starlette's single task);
    - `Optional[BackgroundTasks]`, `Union[BackgroundTasks, None]`,
      `BackgroundTasks | None`;
    - `background_tasks: BackgroundTasks = Depends()`;
    - no annotation, with a `BackgroundTasks()` default;
    - annotated with a subclass of `BackgroundTasks`;

    and `from fastapi import BackgroundTask`, which does not exist.

    ## Why is this bad?
    FastAPI recognises the background-tasks parameter by its annotation being
    exactly `BackgroundTasks` (or `Annotated[BackgroundTasks, ...]`). Measured
    with FastAPI 0.165:

    - the singular `BackgroundTask`, the `Optional` / `| None` forms and
      `= Depends()` raise `FastAPIError` when the route is declared, so the
      application does not even import (FastAPI 0.128 still accepted
      `= Depends()`, injecting a fresh object whose tasks nothing runs);
    - an unannotated `bt=BackgroundTasks()` becomes a query parameter: the tasks
      added to the default object never run, and `?bt=x` gives a 500;
    - a subclass annotation still gets a plain `BackgroundTasks` injected, so
      the subclass's own methods are missing at run time;
    - `from fastapi import BackgroundTask` is an `ImportError`.

    A `BackgroundTask` that is your own model, or another framework's type, is
    not flagged: the name is resolved through the module's imports first.

    ## Example
    ```python
    from starlette.background import BackgroundTask

    @app.post("/orders")
    async def create_order(order: Order, tasks: BackgroundTask):
        tasks.add_task(send_receipt, order.id)
    ```

    ## Use instead
    ```python
    from fastapi import BackgroundTasks

    @app.post("/orders")
    async def create_order(order: Order, tasks: BackgroundTasks):
        tasks.add_task(send_receipt, order.id)
    ```

    ## Fix safety
    Safe: the annotation becomes `BackgroundTasks` (inside `Annotated[...]`
    only the type changes), `Optional` / `| None` and a `None`, `Depends()` or
    `BackgroundTasks()` default are dropped, and a run-time
    `from fastapi import BackgroundTasks` is added if needed.
    `from fastapi import BackgroundTask` becomes `BackgroundTasks`, and so do
    its uses in annotations.

    Unsafe when the body uses the single-task API (`.func`, `.args`, `.kwargs`,
    `.is_async`, or calls the parameter): the author may have meant one task.
    Unsafe when dropping the default would put a parameter without a default
    after one with a default: the parameter then moves behind a `*`
    (keyword-only), which changes the order of positional arguments for any
    direct caller.

    No fix for a subclass of `BackgroundTasks` (its own methods cannot be kept),
    nor for `from fastapi import BackgroundTask` when the name is called
    (`BackgroundTask(f)` meant Starlette's single task).

    ## References
    - [FastAPI: Background Tasks](https://fastapi.tiangolo.com/tutorial/background-tasks/)
    - [FastAPI: Dependencies with BackgroundTasks](https://fastapi.tiangolo.com/tutorial/background-tasks/#dependency-injection)
    """

    code = "BGT002"
    name = "wrong-background-tasks-annotation"
    summary = (
        "Parameter meant for injected `BackgroundTasks` is declared so FastAPI cannot inject it"
    )
    fix_availability = FIX_SOMETIMES

    MUST_FLAG = (
        """
from fastapi import FastAPI
from starlette.background import BackgroundTask
app = FastAPI()
@app.get("/")
def view(tasks: BackgroundTask):
    return {}
""",
        """
from dataclasses import dataclass
from typing import Optional
from fastapi import BackgroundTasks, FastAPI
app = FastAPI()
@app.get("/")
def view(tasks: Optional[BackgroundTasks] = None):
    return {}
""",
        "from fastapi import BackgroundTask\n",
    )
    MUST_NOT_FLAG = (
        """
from typing import Annotated
from fastapi import BackgroundTasks, FastAPI
app = FastAPI()
@app.get("/")
def view(tasks: Annotated[BackgroundTasks, "x"]):
    return {}
""",
        """
from fastapi import FastAPI
from pydantic import BaseModel
app = FastAPI()
class BackgroundTask(BaseModel):
    name: str
@app.post("/jobs")
def create(job: BackgroundTask):
    return job
""",
        """
from starlette.background import BackgroundTask
def schedule(task: BackgroundTask) -> None:
    ...
""",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        model = context.model
        for misspelled in _misspelled_imports(model):
            yield Violation(
                misspelled.alias,
                "`fastapi` has no `BackgroundTask`: this import raises ImportError; "
                "import `BackgroundTasks` and inject it as a parameter",
                _import_fix(model, misspelled),
            )
        for function in model.functions:
            if function.route_kind not in (HTTP, WEBSOCKET) and not function.is_dependency:
                continue  # only FastAPI injects parameters (not Starlette endpoints)
            kind = "route" if function.route_kind else "dependency"
            where = f"{kind} `{function.name}`"
            for param in function.parameters():
                problem = _problem(model, param, where)
                if problem:
                    message, retype, drop_default = problem
                    node = param.annotation.annotation if param.annotation else param
                    fix = _param_fix(model, function, param, retype, drop_default)
                    yield Violation(node, message, fix)


# The attributes of Starlette's single BackgroundTask; a body that reads them
# really meant one task, so retyping the parameter changes what it does.
_SINGLE_TASK_ATTRIBUTES = frozenset({"func", "args", "kwargs", "is_async"})


def _problem(model: Model, param: cst.Param, where: str) -> Optional[tuple[str, bool, bool]]:
    """(message, retype the annotation, drop the default), or None."""
    name = param.name.value
    info = model.annotation_info(param.annotation)
    if info.kind == "task":
        message = (
            f"`{name}` is annotated `BackgroundTask` (a single task) in {where}: "
            "FastAPI injects only `BackgroundTasks` and rejects this at import time"
        )
        return message, True, info.optional
    if info.kind == "tasks-subclass":
        message = (
            f"`{name}` is annotated with a subclass of `BackgroundTasks` in {where}: "
            "FastAPI injects a plain `BackgroundTasks`, so the subclass's methods are "
            "missing"
        )
        return message, False, False
    if info.kind == "tasks" and info.optional:
        message = (
            f"`{name}` is an optional `BackgroundTasks` in {where}: FastAPI rejects "
            "`Optional` / `| None` here at import time; annotate `BackgroundTasks`"
        )
        return message, True, True
    if info.kind == "tasks" and _is_depends_call(model, param.default):
        message = (
            f"`{name}: BackgroundTasks = Depends()` in {where}: recent FastAPI rejects "
            "this at import time, older versions inject a new object nothing runs; drop "
            "the `Depends()` default"
        )
        return message, False, True
    if (
        param.annotation is None
        and param.default is not None
        and model.is_background_tasks_call(param.default)
    ):
        message = (
            f"unannotated `{name}=BackgroundTasks()` in {where} is a query parameter, "
            "not injected: its tasks never run; annotate it `BackgroundTasks`"
        )
        return message, True, True
    return None


def _is_depends_call(model: Model, default: Optional[cst.BaseExpression]) -> bool:
    return isinstance(default, cst.Call) and model.qualified_name(default.func) in DEPENDS


def _param_fix(
    model: Model, function: FunctionInfo, param: cst.Param, retype: bool, drop_default: bool
) -> Optional[FixPlan]:
    if not retype and not drop_default:
        return None  # a subclass: its own methods cannot be kept
    safe = not _uses_single_task_api(model, function, param.name.value)

    def rewrite(module: cst.Module) -> Edits:
        edits = Edits()
        new_param = param
        if retype:
            name = background_tasks_reference(model, edits, before=function.position)
            reference = cst.parse_expression(name)
            new_param = new_param.with_changes(
                annotation=_retyped(model, param.annotation, reference)
            )
        if drop_default:
            new_param = new_param.with_changes(default=None, equal=cst.MaybeSentinel.DEFAULT)
        edits.replace[function.node.params] = replace_parameter(
            function.node.params, param, new_param
        )
        return edits

    moved = drop_default and _must_move(function.node.params, param)
    applicability = SAFE if safe and not moved else UNSAFE
    return FixPlan(applicability, "Annotate the parameter `BackgroundTasks`", rewrite)


def _retyped(
    model: Model, annotation: Optional[cst.Annotation], reference: cst.BaseExpression
) -> cst.Annotation:
    """The annotation with its type replaced by `reference`; the metadata of an
    `Annotated[...]` is kept."""
    if annotation is None:
        return cst.Annotation(reference)
    inner = annotation.annotation
    if (
        isinstance(inner, cst.Subscript)
        and inner.slice
        and model.qualified_name(inner.value) in ANNOTATED
    ):
        first = inner.slice[0]
        new_first = first.with_changes(slice=cst.Index(reference))
        return annotation.with_changes(
            annotation=inner.with_changes(slice=[new_first, *inner.slice[1:]])
        )
    return annotation.with_changes(annotation=reference)


def _must_move(params: cst.Parameters, param: cst.Param) -> bool:
    """A positional parameter that loses its default after one that keeps a
    default would be a syntax error: it has to become keyword-only."""
    positional = list(params.params)
    if param not in positional:
        return False
    index = positional.index(param)
    return any(p.default is not None for p in positional[:index])


def replace_parameter(params: cst.Parameters, old: cst.Param, new: cst.Param) -> cst.Parameters:
    """`params` with `old` replaced by `new`, moved to keyword-only when `new` has
    no default but an earlier positional parameter does."""
    for field in ("posonly_params", "params", "kwonly_params"):
        items = list(getattr(params, field))
        if old not in items:
            continue
        if field == "params" and new.default is None and _must_move(params, old):
            remaining = params.with_changes(params=remove_item(items, old))
            return add_parameter(remaining, new.with_changes(comma=cst.MaybeSentinel.DEFAULT))
        if field == "posonly_params" and new.default is None and _must_move(params, old):
            raise CannotFix("a positional-only parameter cannot move")
        items[items.index(old)] = new
        return params.with_changes(**{field: items})
    raise CannotFix("the parameter is not in the signature")


def _uses_single_task_api(model: Model, function: FunctionInfo, name: str) -> bool:
    """The parameter `name` is used as a single `BackgroundTask` (its `.func`,
    `.args`..., or called by hand): retyping it would break that code."""
    for use in model.local_uses(function.node, name):
        parent = use.parent
        if isinstance(parent, cst.Attribute) and parent.attr.value in _SINGLE_TASK_ATTRIBUTES:
            return True
        if isinstance(parent, cst.Call) and parent.func is use.node:
            return True  # `await task()` runs a single task by hand
    return False


@dataclass(frozen=True)
class MisspelledImport:
    """`from fastapi import BackgroundTask`: the alias, its import, its line."""

    alias: cst.ImportAlias
    statement: cst.ImportFrom
    line: Optional[cst.BaseStatement]


def _misspelled_imports(model: Model) -> Iterator[MisspelledImport]:
    """`from fastapi import BackgroundTask` and friends (an ImportError)."""
    for found in model.import_statements:
        node = found.node
        if (
            not isinstance(node, cst.ImportFrom)
            or node.relative
            or node.module is None
            or isinstance(node.names, cst.ImportStar)
        ):
            continue
        module = dotted_name(node.module)
        for alias in node.names:
            if f"{module}.{dotted_name(alias.name)}" in MISSPELLED_FASTAPI_TASK:
                yield MisspelledImport(alias, node, found.line)


def _import_fix(model: Model, misspelled: MisspelledImport) -> Optional[FixPlan]:
    """`from fastapi import BackgroundTask` → `BackgroundTasks`, and the uses of
    the imported name with it. A use as a call (`BackgroundTask(f)`) meant
    Starlette's single task: no fix then."""
    alias, statement, line = misspelled.alias, misspelled.statement, misspelled.line
    asname = alias.asname.name if alias.asname else None
    local = asname.value if isinstance(asname, cst.Name) else "BackgroundTask"
    uses = []
    for use in model.local_uses(model.module, local):
        if isinstance(use.parent, cst.Call) and use.parent.func is use.node:
            return None
        uses.append(use.node)
    existing = next(
        (
            name
            for name, binding in model.imports.bindings.items()
            if binding.qualname in BACKGROUND_TASKS and not binding.type_checking_only
        ),
        None,
    )

    def rewrite(module: cst.Module) -> Edits:
        edits = Edits()
        if existing:
            if isinstance(statement.names, cst.ImportStar):
                raise CannotFix("a star import")
            names = remove_item(list(statement.names), alias)
            if names:
                edits.replace[statement] = statement.with_changes(names=names)
            elif line is not None and can_remove_statement(model.module, line):
                edits.replace[line] = cst.RemoveFromParent()
            else:
                raise CannotFix("the import is alone in its block")
            target = existing
        else:
            edits.replace[alias.name] = cst.Name("BackgroundTasks")
            target = local if alias.asname else "BackgroundTasks"
        if target != local:
            for use in uses:
                edits.replace[use] = use.with_changes(value=target)
        return edits

    return FixPlan(SAFE, "Import `BackgroundTasks` instead", rewrite)
