from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from bgtask_lint.analysis.model import WEBSOCKET
from bgtask_lint.analysis.walk import walk
from bgtask_lint.rules.base import FIX_NEVER, Rule, RuleContext, Violation

# A file without these words cannot have a finding of this rule (the text screen).
TRIGGERS = ("BackgroundTasks",)


class BackgroundTasksInWebsocket(Rule):
    """
    ## What it does
    Flags a `BackgroundTasks` parameter on a websocket route
    (`@app.websocket(...)`, `add_api_websocket_route`) whose tasks are never
    run by hand.

    ## Why is this bad?
    FastAPI injects a `BackgroundTasks` into a websocket route like any other
    dependency, but a websocket has no response to attach it to: nothing ever
    runs the tasks added to it. They are silently lost.

    Not flagged when the route awaits the object itself (`await tasks()`), which
    runs the tasks.

    ## Example
    ```python
    @app.websocket("/ws")
    async def chat(websocket: WebSocket, background_tasks: BackgroundTasks):
        await websocket.accept()
        background_tasks.add_task(log_connection, websocket.client)
    ```

    ## Use instead
    ```python
    @app.websocket("/ws")
    async def chat(websocket: WebSocket):
        await websocket.accept()
        await run_in_threadpool(log_connection, websocket.client)
    ```

    ## Fix safety
    No fix: where the work should run (now, in a thread, in a task of its own)
    is the author's choice.

    ## References
    - [FastAPI: WebSockets](https://fastapi.tiangolo.com/advanced/websockets/)
    - [FastAPI: Background Tasks](https://fastapi.tiangolo.com/tutorial/background-tasks/)
    """

    code = "BGT007"
    name = "background-tasks-in-websocket"
    summary = "`BackgroundTasks` in a websocket route never run"
    fix_availability = FIX_NEVER

    MUST_FLAG = (
        """
from fastapi import BackgroundTasks, FastAPI, WebSocket
app = FastAPI()
@app.websocket("/ws")
async def ws(websocket: WebSocket, tasks: BackgroundTasks):
    tasks.add_task(print, 1)
""",
    )
    MUST_NOT_FLAG = (
        """
from fastapi import BackgroundTasks, FastAPI, WebSocket
app = FastAPI()
@app.websocket("/ws")
async def ws(websocket: WebSocket, tasks: BackgroundTasks):
    tasks.add_task(print, 1)
    await tasks()
""",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        model = context.model
        for route in model.functions:
            if route.route_kind != WEBSOCKET:
                continue
            run_by_hand = _awaited_names(route.node.body)
            for param in route.parameters():
                name = param.name.value
                if model.annotation_info(param.annotation).kind == "tasks" and (
                    name not in run_by_hand
                ):
                    yield Violation(
                        param,
                        f"`{name}` is injected into websocket route `{route.name}`, where "
                        "nothing runs background tasks: its tasks are silently lost; run "
                        f"them yourself (`await {name}()`) or do the work directly",
                    )


def _awaited_names(body: cst.CSTNode) -> set[str]:
    """Names `n` that appear as `await n()`."""
    names = set()
    for node, entering in walk(body):
        if (
            entering
            and isinstance(node, cst.Await)
            and isinstance(node.expression, cst.Call)
            and isinstance(node.expression.func, cst.Name)
        ):
            names.add(node.expression.func.value)
    return names
