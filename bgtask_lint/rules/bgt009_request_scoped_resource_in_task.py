from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.model import FunctionInfo, Model, TaskSubmission, call_argument
from bgtask_lint.analysis.names import PARTIAL, REQUEST_CLASSES, UPLOAD_FILE
from bgtask_lint.analysis.walk import nodes_with_parents, walk
from bgtask_lint.config.versions import Version
from bgtask_lint.rules.base import FIX_NEVER, Rule, RuleContext, Violation

# FastAPI closed a yield dependency's resources (and UploadFiles) before
# background tasks ran in these versions (inclusive, exclusive).
BROKEN_RANGE = ((0, 106), (0, 118))
# From this version, `Depends(..., scope="function")` tears down before the response.


# A file without these words cannot have a finding of this rule (the text screen).
TRIGGERS = ("BackgroundTask",)


@dataclass(frozen=True)
class Resource:
    kind: str  # "dependency", "upload" or "state"
    description: str
    function_scope: bool = False


class RequestScopedResourceInTask(Rule):
    """
    ## What it does
    Flags a request-scoped resource handed to a background task: the value of
    a yield dependency (typically a database session), an `UploadFile`, or an
    object a middleware keeps on `request.state` — passed directly, inside
    `functools.partial`, or inside an object handed to the task.

    ## Why is this bad?
    Background tasks run after the response is sent, when the request's
    resources may already be closed:
    - FastAPI 0.106 to 0.117 runs the teardown of yield dependencies (the
      code after `yield`, such as `db.close()`) and closes uploaded files
      before background tasks run;
    - from 0.121, `Depends(..., scope="function")` does the same on purpose;
    - a session a middleware opens and closes around `call_next` is closed
      before the tasks run on every FastAPI version.

    The task then fails on a closed session or file — after the client got a
    success response, so nobody sees it.

    ## Severity
    An error when the project's FastAPI version is in a broken range (set
    `target-fastapi`, or pin fastapi in `pyproject.toml` / `requirements*.txt`),
    for `scope="function"`, and for `request.state`; a warning otherwise,
    naming the versions that break.

    ## Example
    ```python
    @app.post("/orders")
    def create(order: Order, db: Session = Depends(get_db), tasks: BackgroundTasks):
        tasks.add_task(send_receipt, db, order.id)
    ```

    ## Use instead
    ```python
    def send_receipt(order_id: int):
        with SessionLocal() as db:   # the task opens its own session
            ...

    @app.post("/orders")
    def create(order: Order, tasks: BackgroundTasks):
        tasks.add_task(send_receipt, order.id)
    ```

    ## Fix safety
    No fix: where the task should get its own resource from is the author's
    choice.

    ## Options
    - `target-fastapi`: the FastAPI version the project runs on, for example
      `"0.115"`.

    ## References
    - [FastAPI: Dependencies with yield and background tasks](https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-with-yield/)
    - [FastAPI 0.106.0 release notes](https://fastapi.tiangolo.com/release-notes/#01060)
    """

    code = "BGT009"
    name = "request-scoped-resource-in-task"
    summary = "Request-scoped resource (DB session, UploadFile) handed to a background task"
    fix_availability = FIX_NEVER

    MUST_FLAG = (
        """
from fastapi import BackgroundTasks, Depends, FastAPI
app = FastAPI()
def get_db():
    db = object()
    yield db
def work(db): ...
@app.post("/")
def create(tasks: BackgroundTasks, db=Depends(get_db)):
    tasks.add_task(work, db)
""",
    )
    MUST_NOT_FLAG = (
        """
from fastapi import BackgroundTasks, Depends, FastAPI
app = FastAPI()
def get_settings():
    return {}
def work(settings): ...
@app.post("/")
def create(tasks: BackgroundTasks, settings=Depends(get_settings)):
    tasks.add_task(work, settings)
""",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        model = context.model
        target = context.options.target_fastapi
        by_function: dict[FunctionInfo, dict[str, Resource]] = {}
        for submission in model.task_submissions():
            function = submission.site.function
            if function is None or submission.site.in_lambda:
                continue
            if function not in by_function:
                by_function[function] = _resources(model, function)
            resources = by_function[function]
            requests = _request_parameters(model, function)
            if not resources and not requests:
                continue
            for expr in _handed_over(model, submission):
                found = _find_resource(expr, resources, requests)
                if found is None:
                    continue
                severity, versions = _verdict(found, target)
                yield Violation(
                    expr,
                    f"{found.description} is handed to a background task, which runs "
                    f"after the response: {versions}; let the task open its own",
                    severity=severity,
                )


def _resources(model: Model, function: FunctionInfo) -> dict[str, Resource]:
    """Request-scoped values in `function`: parameters filled by a yield
    dependency or with an upload, and locals built from them (`svc =
    Service(db)`)."""
    resources: dict[str, Resource] = {}
    for param in function.parameters():
        name = param.name.value
        ref = model.dependency_of(param)
        dependency = ref.info if ref else None
        if dependency is not None and dependency.yields:
            call = model.depends_call(param)
            scope = call_argument(call, 99, "scope") if call else None
            function_scope = (
                scope is not None
                and isinstance(scope.value, cst.SimpleString)
                and scope.value.evaluated_value == "function"
            )
            resources[name] = Resource(
                "dependency",
                f"`{name}` (from yield dependency `{dependency.name}`)",
                function_scope,
            )
        elif param.annotation is not None and _is_upload(model, param.annotation.annotation):
            resources[name] = Resource("upload", f"the uploaded file `{name}`")
    if resources:
        for node, entering in walk(function.node.body):
            if (
                entering
                and isinstance(node, cst.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0].target, cst.Name)
            ):
                found = _find_resource(node.value, resources, set())
                if found is not None:
                    local = node.targets[0].target.value
                    resources.setdefault(local, found)
    return resources


def _is_upload(model: Model, annotation: cst.BaseExpression) -> bool:
    if isinstance(annotation, cst.Subscript):  # list[UploadFile], Optional[UploadFile]
        return any(
            isinstance(e.slice, cst.Index) and _is_upload(model, e.slice.value)
            for e in annotation.slice
        )
    return model.qualified_name(annotation) in UPLOAD_FILE


def _request_parameters(model: Model, function: FunctionInfo) -> set[str]:
    return {
        p.name.value
        for p in function.parameters()
        if p.annotation is not None
        and model.qualified_name(p.annotation.annotation) in REQUEST_CLASSES
    }


def _handed_over(model: Model, submission: TaskSubmission) -> Iterator[cst.BaseExpression]:
    """What a submission hands to the task: its arguments, the arguments bound
    by `partial(f, ...)`, and the object behind a bound method (`svc.run`)."""
    for arg in submission.site.node.args:
        if arg is submission.callable_arg:
            value = arg.value
            if isinstance(value, cst.Call) and model.qualified_name(value.func) in PARTIAL:
                yield from (a.value for a in value.args[1:])
            elif isinstance(value, cst.Attribute):
                yield value.value
            continue
        yield arg.value


def _find_resource(
    expr: cst.BaseExpression, resources: dict[str, Resource], requests: set[str]
) -> Optional[Resource]:
    for node, parent, _ in nodes_with_parents(expr):
        # `upload.filename`, `db.info["x"]`: a plain value read from the
        # resource, not the resource itself.
        is_read_from = isinstance(parent, cst.Attribute) and parent.value is node
        if isinstance(node, cst.Name) and node.value in resources and not is_read_from:
            return resources[node.value]
        if (
            isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Attribute)
            and node.value.attr.value == "state"
            and isinstance(node.value.value, cst.Name)
            and node.value.value.value in requests
        ):
            owner = node.value.value.value
            return Resource("state", f"`{owner}.state.{node.attr.value}` (owned by a middleware)")
    return None


def _verdict(resource: Resource, target: Optional[Version]) -> tuple[str, str]:
    """(severity, what breaks where) for `resource` on FastAPI `target`."""
    if resource.kind == "state":
        return "error", "the middleware closes it before the task runs, on every FastAPI version"
    if resource.function_scope:
        return "error", 'with `scope="function"` FastAPI (0.121 and later) closes it first'
    low, high = BROKEN_RANGE
    broken = "FastAPI 0.106 to 0.117 closes it before the task runs"
    if target is not None and low <= target[:2] < high:
        return "error", f"{broken}, and this project uses {_show(target)}"
    if target is not None:
        return "warning", f"fine on FastAPI {_show(target)}, but {broken}"
    return "warning", f"{broken} (set `target-fastapi` to know)"


def _show(version: Version) -> str:
    return ".".join(str(part) for part in version)
