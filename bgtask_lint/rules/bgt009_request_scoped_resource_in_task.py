from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

from bgtask_lint.analysis.origins import (
    BOUND,
    DEPENDENCY,
    INJECTED,
    INSTANCE,
    ITEM,
    LOADED,
    STATE,
    Origin,
    is_closable,
)
from bgtask_lint.analysis.provenance import origins_of
from bgtask_lint.analysis.resolution import entry_label, entry_position
from bgtask_lint.config.options import RuleOptions
from bgtask_lint.config.versions import tears_down_before_response
from bgtask_lint.rules.base import FIX_NEVER, Rule, RuleContext, Violation

# A file without these words cannot have a finding of this rule (the text screen).
TRIGGERS = ("BackgroundTask",)


class RequestScopedResourceInTask(Rule):
    """
    ## What it does
    Flags a request-scoped resource handed to a background task: the value of
    a yield dependency (typically a database session), an `UploadFile`, or a
    session or connection a middleware keeps on `request.state` and closes —
    passed directly, inside `functools.partial`, or inside an object handed to
    the task.

    The resource is followed however it travels: into a handler method in
    another module that queues the task (also through `run_in_threadpool` and
    `*args` / `**kwargs`), back out of a helper that returns a `partial`
    holding it (also inside a tuple the route unpacks, `job, name =
    job_for(db)`, or indexes, and through `run_in_threadpool(job_for, db)` /
    `asyncio.to_thread`), into a nested function or lambda that reads it
    when the task runs, through a dependency that returns `request.state.db`, an
    `Annotated[Session, Depends(get_db)]` alias defined in another module, and
    the dependency attributes of a class-based view (declared on a base class
    however far up, in any module, or computed from them by a `@property`:
    `Scraper(self.repos).scrape`). The message names where
    it came from. It is reported where it is handed to the task, whichever of
    the files on the way is checked (the route's, the handler's): see "One
    finding, one place" in the README.

    An ORM object loaded through such a session (`db.get(User, id)`,
    `db.query(User).filter(...).first()`, `db.execute(stmt).scalar_one()`,
    `db.scalars(stmt).all()`) or added to it and committed is reported too:
    it stays bound to the session, and once the session is closed, reading
    an expired or lazy-loaded attribute raises `DetachedInstanceError`.

    A yield dependency counts only when its teardown can close what it gave:
    a call after the `yield` other than logging (`db.close()`), or a `with`
    or `finally` around it. One that yields a shared client and stops,
    yields plain data (`{"debug": True}`), or only sets values after it
    (`state["done"] = True`) closes nothing and is not reported.

    A plain value kept on `request.state` (an id, a string, a dict of data) is
    not a resource and is not reported. What a middleware stores is read from
    the checked files (so check the middleware's file with the routes).

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
    The FastAPI versions a file runs on come from `target-fastapi`, else from
    the pin nearest the file: `pyproject.toml`, `Pipfile`, `requirements*.txt`
    at any depth, `uv.lock`, `poetry.lock`, `Pipfile.lock` (a lock file wins
    at the same distance). The message names the pin it used.
    - An error when every version the pin allows is in the broken range, for
      `scope="function"`, and for `request.state`.
    - A warning when the pin allows broken and safe versions
      (`fastapi>=0.100`), or when no version is known.
    - Not reported when every allowed version keeps the session open for the
      tasks (`fastapi==0.120.0`), unless `portability = true`, which reports
      it as a warning for a team planning an upgrade.

    ## Example
    ```python
    @app.post("/orders")
    def create(order: Order, tasks: BackgroundTasks, db: Session = Depends(get_db)):
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
      `"0.115"`; it wins over every pin.
    - `portability`: report what the versions make safe, as warnings.

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
    db.close()
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
        """
from fastapi import BackgroundTasks, Depends, FastAPI
app = FastAPI()
CLIENT = object()
def get_client():
    yield CLIENT
def work(client): ...
@app.post("/")
def create(tasks: BackgroundTasks, client=Depends(get_client)):
    tasks.add_task(work, client)
""",
    )

    def check(self, context: RuleContext) -> Iterator[Violation]:
        model = context.model
        depth = context.options.max_call_depth
        for submission in model.task_submissions():
            function = submission.site.function
            if function is None or submission.site.in_lambda:
                continue
            for expr in model.handed_over(submission):
                origins = origins_of(model, expr, function, depth)
                found = list(_request_scoped(origins, ""))
                if not found:
                    continue
                resource = found[0][0]
                here = entry_label(model, function)
                routes = sorted({route for _, route in found if route and route != here})
                related = []
                for origin in sorted(
                    {o for _, route in found for o in _made_for(origins, route)},
                    key=lambda o: (o.route, o.source),
                ):
                    position = entry_position(model, origin)
                    if position is not None and origin.route != here:
                        entry = origin.route[1:].partition("`")[0]
                        related.append((*position, f"`{entry}` gets it from FastAPI"))
                sources = {o.source for origin in origins for o in origin.flattened()}
                verdict = _verdict(resource, context.options)
                if verdict is None:
                    continue  # safe on the versions this file runs on
                severity, versions = verdict
                shown = model.module.code_for_node(expr)
                advice = (
                    "pass its id and let the task load it in a session it opens"
                    if resource.kind == LOADED
                    else "let the task open its own"
                )
                yield Violation(
                    expr,
                    f"{_describe(shown, resource, routes)} is handed to a background task, "
                    f"which runs after the response: {versions}; {advice}",
                    severity=severity,
                    sources=frozenset(sources - {"", model.path}),
                    related=tuple(dict.fromkeys(related)),
                )


def _request_scoped(origins: tuple[Origin, ...], route: str) -> Iterator[tuple[Origin, str]]:
    """The request-scoped resources among `origins` or inside them (a partial
    binding one, an object built from one, a dependency returning one, an ORM
    object loaded through one), each with the route it was made for (`route`:
    the enclosing origin's). An ORM object comes as a LOADED origin holding
    only its resource."""
    for origin in origins:
        made_for = origin.route or route
        if _is_resource(origin):
            yield origin, made_for
        elif origin.kind == LOADED:
            for resource, at in _request_scoped(origin.parts, made_for):
                yield Origin(LOADED, parts=(resource,)), at
        elif origin.kind in (BOUND, INSTANCE, DEPENDENCY, ITEM):
            yield from _request_scoped(origin.parts, made_for)


def _made_for(origins: tuple[Origin, ...], route: str) -> Iterator[Origin]:
    """The origins (inside `origins` too) that name `route`."""
    for origin in origins:
        for inner in origin.flattened():
            if inner.route == route and inner.source:
                yield inner


def _is_resource(origin: Origin) -> bool:
    if origin.kind == DEPENDENCY:
        return origin.tears_down or origin.function_scope
    if origin.kind == INJECTED:
        return origin.type == "UploadFile"
    if origin.kind == STATE:
        # A session or connection the middleware closes; not an id, a string, data.
        return any(is_closable(part) for o in origin.parts for part in o.flattened())
    return False


# How many routes a message names before "and N more".
MAX_ROUTES_SHOWN = 3


def _describe(shown: str, origin: Origin, routes: list[str]) -> str:
    """`db_session` (from yield dependency `get_db` in `create` (app/routes.py))."""
    named = ", ".join(routes[:MAX_ROUTES_SHOWN])
    if len(routes) > MAX_ROUTES_SHOWN:
        named += f" and {len(routes) - MAX_ROUTES_SHOWN} more"
    where = f" in {named}" if named else ""
    if origin.kind == LOADED:
        session = origin.parts[0]
        if session.kind == STATE:
            through = f"`request.state.{session.name}`, which a middleware closes"
        else:
            through = f"the session of yield dependency `{session.name}`"
        return f"`{shown}` (an ORM object loaded through {through}{where})"
    if origin.kind == DEPENDENCY:
        return f"`{shown}` (from yield dependency `{origin.name}`{where})"
    if origin.kind == STATE:
        return f"`{shown}` (`request.state.{origin.name}`, which a middleware closes{where})"
    return f"`{shown}` (the uploaded file `{origin.name}`{where})"


def _verdict(resource: Origin, options: RuleOptions) -> Optional[tuple[str, str]]:
    """(severity, what breaks where) for `resource` on the FastAPI versions
    the file runs on; None when those versions make it safe (and
    `portability` does not ask for it)."""
    if resource.kind == LOADED:
        verdict = _verdict(resource.parts[0], options)
        if verdict is None:
            return None
        return verdict[0], verdict[1].replace("closes it", "closes its session")
    if resource.kind == STATE:
        return "error", "the middleware closes it before the task runs, on every FastAPI version"
    if resource.function_scope:
        return "error", 'with `scope="function"` FastAPI (0.121 and later) closes it first'
    broken = "FastAPI 0.106 to 0.117 closes it before the task runs"
    pin = options.fastapi
    if pin is None:
        return "warning", f"{broken} (set `target-fastapi` or pin fastapi to know)"
    closes_first = tears_down_before_response(pin)
    if closes_first:
        return "error", f"{broken}, and this project is on {pin.named()}"
    if closes_first is None:
        return "warning", f"{broken}, and {pin.named()} allows those versions"
    if options.portability:
        return "warning", f"fine on {pin.named()}, but {broken}"
    return None
