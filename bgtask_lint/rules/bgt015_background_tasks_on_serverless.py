from __future__ import annotations

from collections.abc import Iterator

from bgtask_lint.analysis.positions import node_ranges
from bgtask_lint.analysis.serverless import TaskRoute, adapter_calls, project_task_routes
from bgtask_lint.rules.base import FIX_NEVER, Rule, RuleContext, Violation

# Reported at the `Mangum(...)` call: a module without the word has no finding.
TRIGGERS = ("Mangum",)
# How many of the routes the finding links to.
MAX_RELATED = 5


class BackgroundTasksOnServerless(Rule):
    """
    ## What it does
    Flags the `Mangum(app)` call of a project whose routes queue background
    tasks (`BackgroundTasks`, `add_task`, a response's `background=`), once,
    naming one such route with its file and how many there are. The routes
    are found across the project, so a run that checks only a route module
    (pre-commit) reports it too, at the entry module's `Mangum(...)`.

    ## Why is this bad?
    Under AWS Lambda (API Gateway, through Mangum) a request is one
    invocation. Mangum returns the response only when the app's ASGI call
    has finished, and Starlette runs the background tasks inside that call:
    every request's latency includes its tasks, and a task that outlives the
    function's timeout is killed with the request. Behind an adapter that
    returns early (the Lambda Web Adapter in buffered mode), the environment
    is frozen once the response is out, and the tasks stall or never run.
    See fastapi #1233, mangum #214, aws-lambda-web-adapter #404 and #590.

    ## Example
    ```python
    # handler.py
    from mangum import Mangum
    from app.main import app  # its routes call background_tasks.add_task(...)

    handler = Mangum(app)
    ```

    ## Use instead
    Send the work to a queue (SQS, Celery, a job table) or invoke another
    function asynchronously (`lambda_client.invoke(..., InvocationType="Event")`),
    and keep `BackgroundTasks` for servers that keep running after the
    response (uvicorn, gunicorn).

    ## Fix safety
    No fix: the replacement is a design choice.

    ## References
    - [fastapi #1233](https://github.com/fastapi/fastapi/issues/1233)
    - [Mangum](https://mangum.fastapiexpert.com/)
    """

    code = "BGT015"
    name = "background-tasks-on-serverless"
    summary = "Background tasks in an app served by Mangum (AWS Lambda) delay or never run"
    fix_availability = FIX_NEVER

    MUST_FLAG = (
        """
from fastapi import BackgroundTasks, FastAPI
from mangum import Mangum
app = FastAPI()
@app.post("/")
def route(tasks: BackgroundTasks):
    tasks.add_task(print, 1)
handler = Mangum(app)
""",
    )
    MUST_NOT_FLAG = (
        """
from fastapi import FastAPI
from mangum import Mangum
app = FastAPI()
@app.post("/")
def route():
    return {}
handler = Mangum(app)
""",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        model = context.model
        calls = adapter_calls(model)
        if not calls:
            return
        routes = project_task_routes(model)
        if not routes:
            return
        first = routes[0]
        shown, row, _ = _where(first)
        sources = frozenset(route.model.path for route in routes) - {model.path}
        count = "1 route queues" if len(routes) == 1 else f"{len(routes)} routes queue"
        message = (
            f"{count} background tasks under Mangum (AWS Lambda), for example "
            f"`{first.function.display_name}` ({shown}:{row}): each response waits for "
            "its tasks, and tasks cut off by the timeout or a frozen environment never "
            "finish; send the work to a queue (SQS, Celery) or invoke a function "
            "asynchronously"
        )
        related = tuple(
            (route.model.path, *_where(route)[1:], f"`{route.function.display_name}` queues tasks")
            for route in routes[:MAX_RELATED]
        )
        # Once per module, at its first adapter.
        yield Violation(calls[0].node, message, sources=sources, related=related)


def _where(route: TaskRoute) -> tuple[str, int, int]:
    """The route's file as messages show it, and the row and 1-based column
    of its name."""
    model = route.model
    node = route.function.node
    start = node_ranges(model.module, [node.name], model.parsed_text)[node.name].start
    return model.shown_path, start.line, start.column + 1
