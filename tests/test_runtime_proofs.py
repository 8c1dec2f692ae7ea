"""Run-time proofs: every fix turns an app whose task does not run (or that does
not even import) into one that runs it, with the right arguments.

Each proof writes a small FastAPI app, shows the bug with FastAPI's real
TestClient, fixes a copy with the real command line, imports the fixed copy as
a fresh module and shows the task running. The BGT003 proofs also run the task
through Starlette's own BackgroundTask runner beside a ticking coroutine, which
shows whether the event loop stayed free (TestClient cannot show that).
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import itertools
import logging
import re
import sys
import textwrap
import time

import pytest
from conftest import run_cli
from fastapi.testclient import TestClient
from starlette.background import BackgroundTask

_counter = itertools.count()


def write_app(tmp_path, source: str):
    path = tmp_path / f"proof_app_{next(_counter)}.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def load(path):
    """Import `path` as a brand-new module (a fixed copy is never cached)."""
    name = f"{path.stem}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def fix(path, *, unsafe=False):
    args = ["check", "--fix", str(path)] + (["--unsafe-fixes"] if unsafe else [])
    result = run_cli(*args)
    assert "Traceback" not in result.stderr, result.stderr
    assert "fixed" in result.stdout, result.stdout
    return path.read_text(encoding="utf-8")


def call(module, method, url):
    with TestClient(module.app) as client:
        response = client.request(method, url)
    assert response.status_code == 200, response.text
    return response


def assert_import_fails(path, error_name):
    with pytest.raises(Exception) as raised:
        load(path)
    assert type(raised.value).__name__ == error_name, raised.value


# --- BGT001 ---------------------------------------------------------------------

HELPER_WITH_TWO_OBJECTS = """
    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()
    RAN = []


    def notify(user: str):
        first = BackgroundTasks()
        first.add_task(RAN.append, "first " + user)
        second = BackgroundTasks()
        second.add_task(RAN.append, "second " + user)


    @app.post("/")
    async def route(user: str):
        notify(user)
        return {"ok": True}
"""


def test_bgt001_a_helper_building_two_objects_takes_one_parameter(tmp_path):
    """The second pass threaded the helper's parameter into its caller again
    (`notify(user, second=..., second=...)`): the guard rejected it, exit 2,
    one object left unfixed. Both objects become the one parameter."""
    path = write_app(tmp_path, HELPER_WITH_TWO_OBJECTS)
    before = load(path)
    call(before, "POST", "/?user=u")
    assert before.RAN == []
    result = run_cli("check", "--fix", "--unsafe-fixes", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    after = load(path)
    call(after, "POST", "/?user=u")
    assert after.RAN == ["first u", "second u"]
    assert run_cli("check", "--fix", "--unsafe-fixes", str(path)).returncode == 0


LOCAL_TASKS = """
    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()
    RAN = []


    def record(name, greeting="hi"):
        RAN.append((name, greeting))


    @app.post("/signup/{name}")
    def signup(name: str, verbose: bool = False):
        tasks = BackgroundTasks()
        tasks.add_task(record, name, greeting="welcome")
        return {"ok": True}
"""


def test_bgt001_local_tasks_run_after_injection(tmp_path):
    path = write_app(tmp_path, LOCAL_TASKS)
    before = load(path)
    call(before, "POST", "/signup/ada")
    assert before.RAN == []  # the bug: the task never runs

    fixed = fix(path)
    assert "verbose: bool = False, *, tasks: BackgroundTasks" in fixed
    after = load(path)
    call(after, "POST", "/signup/ada")
    assert after.RAN == [("ada", "welcome")]


PASSED_TO_HELPER = """
    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()
    RAN = []


    def record(user, what):
        RAN.append((user, what))


    def schedule(tasks: BackgroundTasks, user: str) -> None:
        tasks.add_task(record, user, "welcome")


    @app.post("/signup/{user}")
    def signup(user: str):
        tasks = BackgroundTasks()
        schedule(tasks, user)
        return {"ok": True}
"""


def test_bgt001_tasks_passed_to_a_helper_run_after_injection(tmp_path):
    path = write_app(tmp_path, PASSED_TO_HELPER)
    before = load(path)
    call(before, "POST", "/signup/ada")
    assert before.RAN == []  # the helper adds to an object nobody runs

    fixed = fix(path)
    assert "def signup(user: str, tasks: BackgroundTasks):" in fixed
    after = load(path)
    call(after, "POST", "/signup/ada")
    assert after.RAN == [("ada", "welcome")]


INLINE_AND_SEEDED = """
    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()
    RAN = []


    def welcome(tasks: BackgroundTasks, user: str):
        tasks.add_task(RAN.append, ("welcome", user))


    def seed(tasks: BackgroundTasks):
        tasks.add_task(RAN.append, "seeded")


    @app.post("/inline/{user}")
    def inline(user: str):
        welcome(BackgroundTasks(), user)
        return {}


    @app.post("/seed")
    def seeded():
        tasks = BackgroundTasks()
        tasks.add_task(seed, tasks)
        return {}
"""


def test_bgt001_inline_and_self_seeding_tasks_run_after_injection(tmp_path):
    """`welcome(BackgroundTasks(), user)` and a task seeded with its own
    object: both lost before the fix, both run after it (a task the running
    tasks add still runs: Starlette's loop sees the list grow)."""
    path = write_app(tmp_path, INLINE_AND_SEEDED)
    before = load(path)
    call(before, "POST", "/inline/ada")
    call(before, "POST", "/seed")
    assert before.RAN == []

    fixed = fix(path)
    assert "welcome(background_tasks, user)" in fixed
    after = load(path)
    call(after, "POST", "/inline/ada")
    call(after, "POST", "/seed")
    assert after.RAN == [("welcome", "ada"), "seeded"]


CREATE_TASK_HANDED = """
    import asyncio

    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()
    RAN = []


    async def notify(order, channel):
        RAN.append((order, channel))


    @app.post("/orders/{order}")
    async def create(order: int, tasks: BackgroundTasks):
        tasks.add_task(asyncio.create_task, notify(order, channel="mail"))
        return {"ok": True}
"""


def test_bgt011_coroutine_runs_once_passed_not_wrapped(tmp_path):
    path = write_app(tmp_path, CREATE_TASK_HANDED)
    before = load(path)
    # The task raises in Starlette's worker thread (no running loop there);
    # the client already has its 200.
    with TestClient(before.app, raise_server_exceptions=False) as client:
        assert client.post("/orders/7").status_code == 200
    assert before.RAN == []

    fixed = fix(path)
    assert 'tasks.add_task(notify, order, channel="mail")' in fixed
    after = load(path)
    call(after, "POST", "/orders/7")
    assert after.RAN == [(7, "mail")]


RAISE_AFTER_ADD_TASK = """
    from fastapi import BackgroundTasks, FastAPI, HTTPException

    app = FastAPI()
    RAN = []


    def audit(order, what):
        RAN.append((order, what))


    @app.post("/orders/{order}/cancel")
    def cancel(order: int, tasks: BackgroundTasks):
        tasks.add_task(audit, order, "cancel requested")
        raise HTTPException(status_code=409, detail="already shipped")
"""


def test_bgt012_tasks_run_when_the_error_is_returned(tmp_path):
    path = write_app(tmp_path, RAISE_AFTER_ADD_TASK)
    before = load(path)
    with TestClient(before.app) as client:
        response = client.post("/orders/3/cancel")
    assert response.status_code == 409
    assert before.RAN == []  # the exception dropped the injected tasks

    fixed = fix(path, unsafe=True)
    assert 'return JSONResponse({"detail": "already shipped"}, status_code=409)' in fixed
    after = load(path)
    with TestClient(after.app) as client:
        response = client.post("/orders/3/cancel")
    # The same response as FastAPI's own handler sends, and the task ran.
    assert (response.status_code, response.json()) == (409, {"detail": "already shipped"})
    assert after.RAN == [(3, "cancel requested")]


WRAPPED_ENDPOINT = """
    import functools

    from fastapi import APIRouter, BackgroundTasks, FastAPI, HTTPException

    app = FastAPI()
    router = APIRouter()
    RAN = []


    def audit(order, what):
        RAN.append((order, what))


    def logged(endpoint):
        @functools.wraps(endpoint)
        async def wrapper(*args, **kwargs):
            return await endpoint(*args, **kwargs)

        return wrapper


    async def cancel(order: int, tasks: BackgroundTasks):
        tasks.add_task(audit, order, "cancel requested")
        raise HTTPException(status_code=409, detail="already shipped")


    router.add_api_route("/orders/{order}/cancel", logged(cancel), methods=["POST"])
    app.include_router(router)
"""


def test_bgt012_an_endpoint_registered_through_a_wraps_wrapper_is_a_route(tmp_path):
    """`add_api_route(path, logged(cancel))`: FastAPI reads `cancel`'s
    signature through `__wrapped__` and injects its BackgroundTasks, so the
    raise drops the task as in a decorated route; the fix returns instead."""
    path = write_app(tmp_path, WRAPPED_ENDPOINT)
    before = load(path)
    with TestClient(before.app) as client:
        assert client.post("/orders/5/cancel").status_code == 409
    assert before.RAN == []

    fixed = fix(path, unsafe=True)
    assert 'return JSONResponse({"detail": "already shipped"}, status_code=409)' in fixed
    after = load(path)
    with TestClient(after.app) as client:
        response = client.post("/orders/5/cancel")
    assert (response.status_code, response.json()) == (409, {"detail": "already shipped"})
    assert after.RAN == [(5, "cancel requested")]


SHARED_TASK_LIST = """
    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()
    RAN = []
    TASKS = BackgroundTasks()


    def record(x):
        RAN.append(x)


    @app.post("/items/{x}")
    def add(x: int):
        TASKS.add_task(record, x)
        return {"ok": True}
"""


def test_bgt010_each_request_runs_its_own_tasks_once(tmp_path):
    path = write_app(tmp_path, SHARED_TASK_LIST)
    before = load(path)
    for x in (1, 2, 3):
        call(before, "POST", f"/items/{x}")
    assert before.RAN == []  # the shared list is attached to no response: never run
    assert len(before.TASKS.tasks) == 3  # and it grows with every request

    fixed = fix(path)
    assert "def add(x: int, background_tasks: BackgroundTasks):" in fixed
    after = load(path)
    for x in (1, 2, 3):
        call(after, "POST", f"/items/{x}")
    assert after.RAN == [1, 2, 3]
    assert after.TASKS.tasks == []


SHARED_AND_ATTACHED = """
    from fastapi import BackgroundTasks, FastAPI
    from fastapi.responses import JSONResponse

    app = FastAPI()
    RAN = []
    TASKS = BackgroundTasks()


    class Jobs:
        queue = BackgroundTasks()


    def record(x):
        RAN.append(x)


    @app.post("/items/{x}")
    def add(x: int):
        TASKS.add_task(record, x)
        return JSONResponse({}, background=TASKS)


    @app.post("/others/{x}")
    async def other(x: int):
        TASKS.add_task(record, -x)
        return {}


    @app.post("/jobs/{x}")
    def job(x: int):
        Jobs.queue.add_task(record, 10 * x)
        return JSONResponse({}, background=Jobs.queue)
"""


def test_bgt010_a_shared_list_attached_to_responses_is_fixed_route_by_route(tmp_path):
    path = write_app(tmp_path, SHARED_AND_ATTACHED)
    before = load(path)
    for url in ("/items/1", "/others/2", "/items/3", "/jobs/1", "/jobs/2"):
        call(before, "POST", url)
    # Each response runs every task any request ever added: 1; then 1, -2, 3;
    # the class's list likewise.
    assert before.RAN == [1, 1, -2, 3, 10, 10, 20]

    fixed = fix(path)
    assert "TASKS.add_task" not in fixed and "Jobs.queue.add_task" not in fixed
    after = load(path)
    for url in ("/items/1", "/others/2", "/items/3", "/jobs/1", "/jobs/2"):
        call(after, "POST", url)
    assert after.RAN == [1, -2, 3, 10, 20]  # each request's own task, once


CHAINED_BACKGROUND = """
    from fastapi import BackgroundTasks, FastAPI
    from fastapi.responses import JSONResponse

    app = FastAPI()
    RAN = []


    def record(order, reason):
        RAN.append((order, reason))


    @app.post("/orders/{order}/cancel")
    async def cancel(order: int):
        return JSONResponse(
            {"cancelled": order},
            background=BackgroundTasks().add_task(record, order, reason="customer"),
        )
"""


def test_bgt001_chained_background_argument_runs_after_fix(tmp_path):
    path = write_app(tmp_path, CHAINED_BACKGROUND)
    before = load(path)
    assert call(before, "POST", "/orders/7/cancel").json() == {"cancelled": 7}
    assert before.RAN == []

    fixed = fix(path)
    assert "background=" not in fixed
    after = load(path)
    assert call(after, "POST", "/orders/7/cancel").json() == {"cancelled": 7}
    assert after.RAN == [(7, "customer")]


CHAINED_STATEMENT = """
    from fastapi import FastAPI
    from fastapi.background import BackgroundTasks

    app = FastAPI()
    RAN = []


    def record(item):
        RAN.append(item)


    @app.get("/items/{item}")
    def read(item: str):
        BackgroundTasks().add_task(record, item)
        return {"item": item}
"""


def test_bgt001_chained_statement_runs_after_fix(tmp_path):
    path = write_app(tmp_path, CHAINED_STATEMENT)
    before = load(path)
    call(before, "GET", "/items/x")
    assert before.RAN == []

    fix(path)
    after = load(path)
    call(after, "GET", "/items/x")
    assert after.RAN == ["x"]


TYPE_CHECKING_ONLY = """
    from __future__ import annotations

    from typing import TYPE_CHECKING

    from fastapi import FastAPI

    if TYPE_CHECKING:
        from fastapi import BackgroundTasks

    app = FastAPI()
    RAN = []


    def record(x):
        RAN.append(x)


    @app.post("/")
    def create(x: int):
        import fastapi.background

        tasks = fastapi.background.BackgroundTasks()
        tasks.add_task(record, x)
        return {}
"""


def test_bgt001_fix_imports_at_run_time_not_only_for_type_checking(tmp_path):
    path = write_app(tmp_path, TYPE_CHECKING_ONLY)
    before = load(path)
    call(before, "POST", "/?x=3")
    assert before.RAN == []

    fixed = fix(path)
    assert "from fastapi import BackgroundTasks, FastAPI" in fixed
    after = load(path)
    call(after, "POST", "/?x=3")
    assert after.RAN == [3]


# --- BGT002 ---------------------------------------------------------------------

ANNOTATION_TEMPLATE = """
    from typing import Optional

    from fastapi import BackgroundTasks, Depends, FastAPI
    from starlette.background import BackgroundTask

    app = FastAPI()
    RAN = []


    def record(x):
        RAN.append(x)


    @app.post("/")
    def create(x: int, {param}):
        tasks.add_task(record, x)
        return {{}}
"""


def assert_tasks_lost(path):
    """The bug, as this FastAPI shows it: the app does not import (FastAPIError,
    on recent versions), or it runs and the task never does (older ones)."""
    try:
        before = load(path)
    except Exception as error:
        assert type(error).__name__ == "FastAPIError", error
        return
    call(before, "POST", "/?x=5")
    assert before.RAN == []


@pytest.mark.parametrize(
    "param",
    [
        "tasks: BackgroundTask",
        "tasks: Optional[BackgroundTasks] = None",
        pytest.param(
            "tasks: BackgroundTasks | None = None",
            marks=pytest.mark.skipif(sys.version_info < (3, 10), reason="PEP 604 needs 3.10"),
        ),
        "tasks: BackgroundTasks = Depends()",
    ],
    ids=["singular", "optional", "pipe-none", "depends"],
)
def test_bgt002_app_that_cannot_import_runs_after_fix(tmp_path, param):
    path = write_app(tmp_path, ANNOTATION_TEMPLATE.format(param=param))
    assert_tasks_lost(path)

    fixed = fix(path)
    assert "def create(x: int, tasks: BackgroundTasks):" in fixed
    after = load(path)
    call(after, "POST", "/?x=5")
    assert after.RAN == [5]


def test_bgt002_unannotated_default_becomes_injected(tmp_path):
    path = write_app(tmp_path, ANNOTATION_TEMPLATE.format(param="tasks=BackgroundTasks()"))
    before = load(path)
    call(before, "POST", "/?x=5")
    assert before.RAN == []  # a query parameter's default object: never run
    with TestClient(before.app, raise_server_exceptions=False) as client:
        assert client.post("/?x=5&tasks=oops").status_code == 500

    fix(path)
    after = load(path)
    call(after, "POST", "/?x=5")
    assert after.RAN == [5]


MISSPELLED_IMPORT = """
    from fastapi import BackgroundTask, FastAPI

    app = FastAPI()
    RAN = []


    def record(x):
        RAN.append(x)


    @app.post("/")
    def create(x: int, tasks: BackgroundTask):
        tasks.add_task(record, x)
        return {}
"""


def test_bgt002_misspelled_fastapi_import_runs_after_fix(tmp_path):
    path = write_app(tmp_path, MISSPELLED_IMPORT)
    assert_import_fails(path, "ImportError")

    fix(path)
    after = load(path)
    call(after, "POST", "/?x=9")
    assert after.RAN == [9]


MUST_MOVE = """
    from typing import Optional

    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()
    RAN = []


    def record(q, page):
        RAN.append((q, page))


    @app.get("/search")
    def search(q: str = "", tasks: Optional[BackgroundTasks] = None, page: int = 1):
        tasks.add_task(record, q, page)
        return {}
"""


def test_bgt002_unsafe_fix_moving_the_parameter_runs(tmp_path):
    path = write_app(tmp_path, MUST_MOVE)
    assert_import_fails(path, "FastAPIError")
    result = run_cli("check", "--fix", str(path))
    assert "1 unsafe fix available" in result.stdout  # not applied by --fix alone

    fixed = fix(path, unsafe=True)
    assert "page: int = 1, *, tasks: BackgroundTasks" in fixed
    after = load(path)
    call(after, "GET", "/search?q=shoes&page=2")
    assert after.RAN == [("shoes", 2)]


# --- BGT003 ---------------------------------------------------------------------


def loop_ticks_while(task_function, *args) -> int:
    """How often a 10 ms ticker got to run on the event loop while Starlette's
    own BackgroundTask runner ran `task_function` (awaited on the loop when it
    is async, in the thread pool when it is not)."""

    async def scenario():
        ticks = 0
        running = True

        async def ticker():
            nonlocal ticks
            while running:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.ensure_future(ticker())
        await asyncio.sleep(0.05)
        start = ticks
        await BackgroundTask(task_function, *args)()
        during = ticks - start
        running = False
        await ticking
        return during

    return asyncio.run(scenario())


SLEEPY_TASK = """
    import time

    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()
    RAN = []


    async def slow_report(user, seconds):
        time.sleep(seconds)
        RAN.append(user)


    @app.post("/report/{user}")
    async def report(user: str, background_tasks: BackgroundTasks):
        background_tasks.add_task(slow_report, user, 0.05)
        return {}
"""


def test_bgt003_await_asyncio_sleep_frees_the_loop(tmp_path):
    path = write_app(tmp_path, SLEEPY_TASK)
    before = load(path)
    # Half a second of time.sleep on the loop: the ticker cannot run at all.
    assert loop_ticks_while(before.slow_report, "a", 0.5) <= 1

    fixed = fix(path)
    assert "await asyncio.sleep(seconds)" in fixed
    after = load(path)
    assert loop_ticks_while(after.slow_report, "a", 0.5) >= 10
    call(after, "POST", "/report/ada")
    assert after.RAN == ["a", "ada"]


BLOCKING_HTTP_TASK = """
    import time

    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()
    RAN = []


    def _deliver(user, seconds):
        time.sleep(seconds)  # stands in for requests.post / smtplib
        RAN.append(user)


    async def notify(user, seconds=0.05):
        _deliver(user, seconds)


    @app.post("/notify/{user}")
    async def notify_route(user: str, background_tasks: BackgroundTasks):
        background_tasks.add_task(notify, user)
        return {}
"""


def test_bgt003_def_task_runs_in_the_thread_pool(tmp_path):
    path = write_app(tmp_path, BLOCKING_HTTP_TASK)
    before = load(path)
    assert loop_ticks_while(before.notify, "a", 0.5) <= 1

    result = run_cli("check", "--fix", str(path))
    assert "1 unsafe fix available" in result.stdout
    fixed = fix(path, unsafe=True)
    assert "\ndef notify(user, seconds=0.05):" in fixed
    after = load(path)
    assert loop_ticks_while(after.notify, "a", 0.5) >= 10
    call(after, "POST", "/notify/ada")
    assert after.RAN == ["a", "ada"]


HELPER_DROPS_ITS_TASKS = """
    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()
    RAN = []


    def record(event):
        RAN.append(event)


    def audit(event):
        tasks = BackgroundTasks()
        tasks.add_task(record, event)


    @app.post("/orders/{order}")
    def create_order(order: int, dry_run: bool = False):
        audit(f"order {order}")
        return {}
"""


def test_bgt001_helper_receives_the_routes_tasks_after_unsafe_fix(tmp_path):
    path = write_app(tmp_path, HELPER_DROPS_ITS_TASKS)
    before = load(path)
    call(before, "POST", "/orders/1")
    assert before.RAN == []

    assert "1 unsafe fix available" in run_cli("check", "--fix", str(path)).stdout
    fixed = fix(path, unsafe=True)
    assert "def audit(event, tasks: BackgroundTasks):" in fixed
    assert 'audit(f"order {order}", tasks=background_tasks)' in fixed
    after = load(path)
    call(after, "POST", "/orders/1")
    assert after.RAN == ["order 1"]


# --- BGT004 ---------------------------------------------------------------------

CALLED_TASK = """
    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()
    RAN = []


    def record(event, tag="-"):
        RAN.append((event, tag))


    async def record_async(event):
        RAN.append((event, "async"))


    @app.post("/sync")
    def sync_route(background_tasks: BackgroundTasks):
        background_tasks.add_task(record("sync", tag="x"))
        background_tasks.add_task(record, "later")
        return {}


    @app.post("/async")
    async def async_route(background_tasks: BackgroundTasks):
        background_tasks.add_task(record_async("coroutine"))
        return {}


    @app.post("/lambda")
    async def lambda_route(background_tasks: BackgroundTasks):
        background_tasks.add_task(lambda: record_async("lambda"))
        return {}
"""


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
def test_bgt004_called_tasks_run_after_the_response_once_passed(tmp_path):
    path = write_app(tmp_path, CALLED_TASK)
    before = load(path)
    with TestClient(before.app, raise_server_exceptions=False) as client:
        client.post("/sync")  # runs `record` inside the request, then TypeError
        client.post("/async")
    # The lambda's coroutine is dropped once its task has run, which may be
    # after the response came back: the client is closed (its tasks done)
    # inside the block, and any cycle holding the coroutine collected.
    with pytest.warns(RuntimeWarning, match="never awaited"):
        with TestClient(before.app, raise_server_exceptions=False) as client:
            client.post("/lambda")
        gc.collect()
    # The sync task ran too early; the later task and the async ones never ran.
    assert before.RAN == [("sync", "x")]

    fixed = fix(path)
    assert 'add_task(record, "sync", tag="x")' in fixed
    assert 'add_task(lambda: record_async("lambda"))' in fixed  # unsafe: left alone
    fixed = fix(path, unsafe=True)
    assert 'add_task(record_async, "lambda")' in fixed
    after = load(path)
    for url in ("/sync", "/async", "/lambda"):
        call(after, "POST", url)
    assert after.RAN == [("sync", "x"), ("later", "-"), ("coroutine", "async"), ("lambda", "async")]


# --- BGT005 ---------------------------------------------------------------------

DROPPED_BY_BACKGROUND = """
    from fastapi import BackgroundTasks, FastAPI
    from fastapi.responses import JSONResponse
    from starlette.background import BackgroundTask

    app = FastAPI()
    RAN = []


    def record(event):
        RAN.append(event)


    @app.post("/inline")
    def inline(background_tasks: BackgroundTasks):
        background_tasks.add_task(record, "receipt")
        return JSONResponse({}, background=BackgroundTask(record, "report"))


    @app.post("/local")
    def local(background_tasks: BackgroundTasks):
        background_tasks.add_task(record, "receipt")
        tasks = BackgroundTasks()
        tasks.add_task(record, "report")
        return JSONResponse({}, background=tasks)
"""


@pytest.mark.parametrize("url", ["/inline", "/local"])
def test_bgt005_injected_tasks_run_once_the_background_is_merged(tmp_path, url):
    path = write_app(tmp_path, DROPPED_BY_BACKGROUND)
    before = load(path)
    call(before, "POST", url)
    assert before.RAN == ["report"]  # the injected "receipt" task was dropped

    fixed = fix(path)
    assert "background=" not in fixed
    after = load(path)
    call(after, "POST", url)
    assert after.RAN == ["receipt", "report"]


# --- BGT006 ---------------------------------------------------------------------

OVERWRITTEN = """
    from fastapi import FastAPI, Response
    from fastapi.responses import JSONResponse
    from starlette.background import BackgroundTask

    app = FastAPI()
    RAN = []


    def record(event):
        RAN.append(event)


    @app.post("/overwrite")
    def overwrite():
        response = JSONResponse({}, background=BackgroundTask(record, "audit"))
        response.background = BackgroundTask(record, "notify")
        return response


    @app.post("/injected-response")
    def injected_response(response: Response):
        response.background = BackgroundTask(record, "notify")
        return {}
"""


@pytest.mark.parametrize(
    "url, ran_before, ran_after",
    [("/overwrite", ["notify"], ["audit", "notify"]), ("/injected-response", [], ["notify"])],
)
def test_bgt006_every_task_runs_after_fix(tmp_path, url, ran_before, ran_after):
    path = write_app(tmp_path, OVERWRITTEN)
    before = load(path)
    call(before, "POST", url)
    assert ran_before == before.RAN

    fix(path)
    after = load(path)
    call(after, "POST", url)
    assert ran_after == after.RAN


REBUILT_BY_ROUTE_CLASS = """
    import time

    from fastapi import APIRouter, BackgroundTasks, FastAPI, Request, Response
    from fastapi.responses import JSONResponse
    from fastapi.routing import APIRoute

    RAN = []


    class TimedRoute(APIRoute):
        def get_route_handler(self):
            original = super().get_route_handler()

            async def handler(request: Request) -> Response:
                started = time.time()
                response = await original(request)
                took = time.time() - started
                return JSONResponse({"took": took}, status_code=response.status_code)

            return handler


    router = APIRouter(route_class=TimedRoute)


    @router.post("/orders")
    def create(tasks: BackgroundTasks):
        tasks.add_task(RAN.append, "receipt")
        return {"ok": True}


    app = FastAPI()
    app.include_router(router)
"""


def test_bgt006_a_route_class_handler_keeps_the_routes_tasks_after_fix(tmp_path):
    """A route class whose handler builds a new response from the one the
    route returned drops the injected tasks; passing the background on runs
    them."""
    path = write_app(tmp_path, REBUILT_BY_ROUTE_CLASS)
    before = load(path)
    assert "took" in call(before, "POST", "/orders").json()
    assert before.RAN == []

    assert "background=response.background" in fix(path)
    after = load(path)
    assert "took" in call(after, "POST", "/orders").json()
    assert after.RAN == ["receipt"]


BODY_READ_BY_TASK = """
    from fastapi import BackgroundTasks, FastAPI, Request

    app = FastAPI()
    STORED = []
    FAILED = []


    async def store_payload(request: Request):
        try:
            STORED.append(await request.json())
        except Exception as error:
            FAILED.append(type(error).__name__)


    @app.post("/webhook")
    async def webhook(request: Request, tasks: BackgroundTasks):
        tasks.add_task(store_payload, request)
        return {"ok": True}
"""


def post_through_uvicorn(app, url, payload):
    """POST to `app` served by a real uvicorn server: TestClient hands the
    body to the first read even after the response, so it cannot show that
    the request is over when the task runs."""
    import socket
    import threading

    import httpx
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            threading.Event().wait(0.01)
        response = httpx.post(f"http://127.0.0.1:{port}{url}", json=payload, timeout=10)
        assert response.status_code == 200, response.text
    finally:
        server.should_exit = True  # the server finishes the tasks before it stops
        thread.join(10)
        sock.close()


def test_bgt013_task_gets_the_body_once_the_endpoint_reads_it(tmp_path):
    path = write_app(tmp_path, BODY_READ_BY_TASK)
    before = load(path)
    post_through_uvicorn(before.app, "/webhook", {"event": "paid"})
    assert (before.STORED, before.FAILED) == ([], ["ClientDisconnect"])

    fixed = fix(path, unsafe=True)
    assert "    await request.body()\n    tasks.add_task(store_payload, request)" in fixed
    after = load(path)
    post_through_uvicorn(after.app, "/webhook", {"event": "paid"})
    assert (after.STORED, after.FAILED) == ([{"event": "paid"}], [])


@pytest.mark.slow
def test_generated_apps_keep_working_and_get_their_tasks_back(tmp_path):
    """A fixed sample of bench/behaviour.py: 60 generated apps run with the
    TestClient before and after `--fix --unsafe-fixes`. A request that
    passed must still pass, a task that ran must still run, and lost tasks
    must come back (the harness exits 1 on a regression or a broken file)."""
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "bench" / "behaviour.py"
    done = subprocess.run(
        [sys.executable, str(script), "--apps", "60", "--seed", "1", "--keep", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    recovered = re.search(r"^recovered +(\d+)$", done.stdout, re.M)
    assert recovered is not None and int(recovered.group(1)) >= 15, done.stdout


# --- BGT014 ---------------------------------------------------------------------

FIRST_TASK_FAILS = """
    import logging

    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()
    logger = logging.getLogger("proof.bgt014")
    RAN = []


    def charge(order: int):
        RAN.append(("charge", order))
        raise ConnectionError("payment gateway timed out")


    def send_receipt(order: int):
        RAN.append(("receipt", order))


    @app.post("/orders/{order}")
    def create(order: int, background_tasks: BackgroundTasks):
        background_tasks.add_task(charge, order)
        background_tasks.add_task(send_receipt, order)
        return {"ok": True}
"""


def test_bgt014_a_failing_task_skips_the_next_until_it_is_guarded(tmp_path, caplog):
    """Starlette stops a request's tasks at the first exception: the receipt
    is never sent, and the client saw 200. After the unsafe fix the failure
    is logged (with the module's own logger) and the receipt goes out."""
    path = write_app(tmp_path, FIRST_TASK_FAILS)
    before = load(path)
    with TestClient(before.app, raise_server_exceptions=False) as client:
        assert client.post("/orders/7").status_code == 200
    assert before.RAN == [("charge", 7)]  # the receipt task never started

    result = run_cli("check", "--select", "BGT014", "--fix", "--unsafe-fixes", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "logger.exception(" in path.read_text(encoding="utf-8")
    after = load(path)
    # Nothing escapes the tasks now: the TestClient would raise it.
    with caplog.at_level(logging.ERROR, logger="proof.bgt014"), TestClient(after.app) as client:
        assert client.post("/orders/7").status_code == 200
    assert after.RAN == [("charge", 7), ("receipt", 7)]
    assert "Background task charge failed" in caplog.text
    assert "payment gateway timed out" in caplog.text
    again = run_cli("check", "--select", "BGT014", "--fix", "--unsafe-fixes", str(path))
    assert again.returncode == 0 and "fixed" not in again.stdout


# --- BGT015 ---------------------------------------------------------------------

ON_LAMBDA = """
    import time

    from fastapi import BackgroundTasks, FastAPI
    from mangum import Mangum

    app = FastAPI()
    RAN = []
    QUEUE = []  # stands for SQS: another worker takes the job from there


    def build_report(order: int):
        time.sleep(0.5)
        RAN.append(order)


    @app.post("/orders/{order}")
    def create(order: int, background_tasks: BackgroundTasks):
        background_tasks.add_task(build_report, order)
        return {"ok": True}


    @app.post("/queued/{order}")
    def create_queued(order: int):
        QUEUE.append(("build_report", order))
        return {"ok": True}


    handler = Mangum(app, lifespan="off")
"""


def api_gateway_event(method: str, path: str) -> dict:
    """An API Gateway (HTTP API, payload 2.0) event, as Lambda hands it over."""
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "api.example.com"},
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "proof",
            },
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "requestId": "request",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": "06/Dec/2026:00:00:00 +0000",
            "timeEpoch": 0,
        },
        "isBase64Encoded": False,
        "body": "",
    }


class _LambdaContext:
    function_name = "proof"
    aws_request_id = "request"


def test_bgt015_under_mangum_the_response_waits_for_the_tasks(tmp_path):
    """The real adapter, with a synthetic API Gateway event: the invocation
    returns only after the 0.5 s task ran, so every request pays for its
    tasks (and a task past the timeout dies with it). Queued instead, the
    response comes back at once."""
    path = write_app(tmp_path, ON_LAMBDA)
    result = run_cli("check", "--output-format", "concise", str(path))
    assert "BGT015 1 route queues background tasks under Mangum" in result.stdout
    app = load(path)
    started = time.perf_counter()
    response = app.handler(api_gateway_event("POST", "/orders/7"), _LambdaContext())
    waited = time.perf_counter() - started
    assert response["statusCode"] == 200
    assert waited >= 0.5 and app.RAN == [7]  # the task ran before the response was returned
    started = time.perf_counter()
    response = app.handler(api_gateway_event("POST", "/queued/8"), _LambdaContext())
    assert response["statusCode"] == 200
    assert time.perf_counter() - started < 0.5 and app.QUEUE == [("build_report", 8)]
