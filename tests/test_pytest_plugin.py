"""The pytest plugin: each code makes a small app's test fail at the right
line, the same app fixed passes, and correct patterns report nothing. Run
with pytester, in process, as a user's suite would load the plugin."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

HEADER = """\
import asyncio
import logging
import time

from fastapi import BackgroundTasks, Depends, FastAPI, HTTPException, Response, WebSocket
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from starlette.background import BackgroundTask

app = FastAPI()
RAN = []


def record(x):
    RAN.append(x)


async def arecord(x):
    RAN.append(x)


"""

# code: (the app and its test with the bug, `# here` on the reported line;
#        the same fixed)
CASES = {
    "BGT001": (
        """
        @app.post("/")
        def route():
            tasks = BackgroundTasks()  # here
            tasks.add_task(record, 1)
            return {}
        """,
        """
        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(record, 1)
            return {}
        """,
    ),
    "BGT005": (
        """
        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(record, 1)  # here
            return JSONResponse({}, background=BackgroundTask(record, 2))
        """,
        """
        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(record, 1)
            tasks.add_task(record, 2)
            return JSONResponse({})
        """,
    ),
    "BGT006": (
        """
        @app.post("/")
        def route():
            response = JSONResponse({}, background=BackgroundTask(record, 1))
            response.background = BackgroundTask(record, 2)  # here
            return response
        """,
        """
        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(record, 1)
            tasks.add_task(record, 2)
            return JSONResponse({})
        """,
    ),
    "BGT006-response-parameter": (
        """
        @app.post("/")
        def route(response: Response):
            response.background = BackgroundTask(record, 1)  # here
            return {}
        """,
        """
        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(record, 1)
            return {}
        """,
    ),
    "BGT012": (
        """
        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(record, 1)  # here
            raise HTTPException(status_code=409, detail="no")
        """,
        """
        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(record, 1)
            return JSONResponse({"detail": "no"}, status_code=409)
        """,
    ),
    "BGT014": (
        """
        def charge(x):
            raise ConnectionError("payment gateway timed out")

        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(charge, 1)  # here
            tasks.add_task(record, 2)
            tasks.add_task(arecord, 3)
            return {}
        """,
        """
        def charge(x):
            try:
                raise ConnectionError("payment gateway timed out")
            except Exception:
                logging.getLogger(__name__).exception("charge failed")

        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(charge, 1)
            tasks.add_task(record, 2)
            tasks.add_task(arecord, 3)
            return {}
        """,
    ),
    "BGT008": (
        """
        def audit(tasks: BackgroundTasks):
            yield
            tasks.add_task(record, 1)  # here

        @app.post("/")
        def route(x=Depends(audit)):
            return {}
        """,
        """
        def audit(tasks: BackgroundTasks):
            tasks.add_task(record, 1)
            yield

        @app.post("/")
        def route(x=Depends(audit)):
            return {}
        """,
    ),
    "BGT007": (
        """
        @app.websocket("/ws")
        async def route(websocket: WebSocket, tasks: BackgroundTasks):
            await websocket.accept()
            tasks.add_task(record, 1)  # here
            await websocket.close()
        """,
        """
        @app.websocket("/ws")
        async def route(websocket: WebSocket, tasks: BackgroundTasks):
            await websocket.accept()
            tasks.add_task(record, 1)
            await tasks()
            await websocket.close()
        """,
    ),
    "BGT004": (
        """
        def send():
            RAN.append(1)

        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(send())  # here
            return {}
        """,
        """
        def send():
            RAN.append(1)

        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(send)
            return {}
        """,
    ),
    "BGT004-coroutine": (
        """
        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(lambda: arecord(1))  # here
            return {}
        """,
        """
        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(arecord, 1)
            return {}
        """,
    ),
    "BGT011": (
        """
        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(asyncio.create_task, arecord(1))  # here
            return {}
        """,
        """
        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(arecord, 1)
            return {}
        """,
    ),
    "BGT010": (
        """
        @app.post("/")
        def route():
            return JSONResponse({}, background=SHARED)

        SHARED = BackgroundTask(record, 1)  # here
        """,
        """
        @app.post("/")
        def route():
            return JSONResponse({}, background=BackgroundTask(record, 1))
        """,
    ),
    "BGT010-list": (
        """
        TASKS = BackgroundTasks()  # here

        @app.post("/")
        def route():
            TASKS.add_task(record, 1)
            return {}
        """,
        """
        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(record, 1)
            return {}
        """,
    ),
    "BGT010-attached-list": (
        """
        class Jobs:
            queue = BackgroundTasks()  # here

        @app.post("/")
        async def route():
            Jobs.queue.add_task(arecord, 1)
            return JSONResponse({}, background=Jobs.queue)
        """,
        """
        @app.post("/")
        async def route(tasks: BackgroundTasks):
            tasks.add_task(arecord, 1)
            return JSONResponse({}, background=tasks)
        """,
    ),
    "BGT003": (
        """
        async def slow(x):
            time.sleep(0.2)
            RAN.append(x)

        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(slow, 1)  # here
            return {}
        """,
        """
        async def slow(x):
            await asyncio.sleep(0.2)
            RAN.append(x)

        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(slow, 1)
            return {}
        """,
    ),
}

HTTP_TEST = """

def test_route():
    client = TestClient(app)
    client.post("/")
    client.post("/")
"""
WEBSOCKET_TEST = """

def test_route():
    with TestClient(app).websocket_connect("/ws"):
        pass
"""


def module(body: str, code: str) -> str:
    test = WEBSOCKET_TEST if code == "BGT007" else HTTP_TEST
    return HEADER + textwrap.dedent(body) + test


# The inner runs load no plugin they do not need (hypothesis's summary alone
# costs a second a run; pytest-asyncio and pytest-lsp, there for the language
# server's tests, warn in a project without their settings).
QUIET = (
    *("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:xdist"),
    *("-p", "no:pytest-lsp", "-p", "no:asyncio"),
)


def run(pytester, source: str, *args: str):
    pytester.makepyfile(test_case=source)
    return pytester.runpytest("--bgtask-lint", *QUIET, *args)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_bug_fails_its_test_at_its_line(pytester, case):
    code = case.split("-")[0]
    source = module(CASES[case][0], code)
    line = next(n for n, text in enumerate(source.splitlines(), 1) if "# here" in text)
    result = run(pytester, source)
    result.assert_outcomes(failed=1)
    assert f"{code} test_case.py:{line}: " in result.stdout.str()


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_fixed_app_passes(pytester, case):
    code = case.split("-")[0]
    result = run(pytester, module(CASES[case][1], code))
    result.assert_outcomes(passed=1)
    assert "went wrong" not in result.stdout.str()


CORRECT = """
import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.routing import Route


def slow_sync(x):
    time.sleep(0.2)
    RAN.append(x)


def make_tasks():
    tasks = BackgroundTasks()
    tasks.add_task(record, "helper")
    return tasks


class Chain(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        response = await call_next(request)
        previous = [response.background] if response.background is not None else []
        response.background = BackgroundTasks([*previous, BackgroundTask(record, "mw")])
        return response


app.add_middleware(Chain)


@app.post("/attached")
def attached():
    tasks = BackgroundTasks()
    tasks.add_task(record, 1)
    return JSONResponse({}, background=tasks)


@app.post("/helper")
def helper():
    return JSONResponse({}, background=make_tasks())


@app.post("/by-hand")
async def by_hand():
    tasks = BackgroundTasks()
    tasks.add_task(record, 2)
    await tasks()
    return {}


@app.post("/sync-sleep")
def sync_sleep(tasks: BackgroundTasks):
    tasks.add_task(slow_sync, 3)
    return {}


async def star(request):
    return JSONResponse({}, background=BackgroundTask(record, 4))


star_app = Starlette(routes=[Route("/", star, methods=["POST"])])


def test_correct_patterns():
    client = TestClient(app)
    for url in ("/attached", "/helper", "/by-hand", "/sync-sleep"):
        assert client.post(url).status_code == 200
    TestClient(star_app).post("/")
    assert {1, "helper", 2, 3, 4, "mw"} <= set(RAN)


def test_the_test_builds_its_own_tasks():
    tasks = BackgroundTasks()
    tasks.add_task(record, "test")
    assert len(tasks.tasks) == 1


def keywords(task=None, tasks=None):
    RAN.append(("keywords", task, tasks))


def test_keywords_named_like_the_wrapped_parameters_pass_through():
    import asyncio

    group = BackgroundTasks(tasks=[BackgroundTask(keywords, task=1)])
    group.add_task(keywords, tasks=2)
    asyncio.run(group())
    assert ("keywords", 1, None) in RAN and ("keywords", None, 2) in RAN


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_through_httpx_async_client():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        await client.post("/sync-sleep")
"""


def test_correct_patterns_report_nothing(pytester):
    result = run(pytester, HEADER + CORRECT)
    result.assert_outcomes(passed=4)
    assert "went wrong" not in result.stdout.str()


STARLETTE_ONLY = """\
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

RAN = []


def record(x):
    RAN.append(x)


async def endpoint(request):
    response = JSONResponse({}, background=BackgroundTask(record, 1))
    response.background = BackgroundTask(record, 2)  # here
    return response


app = Starlette(routes=[Route("/", endpoint)])


def test_route():
    TestClient(app).get("/")
"""


def test_a_starlette_app_without_fastapi(pytester):
    line = next(n for n, t in enumerate(STARLETTE_ONLY.splitlines(), 1) if "# here" in t)
    result = run(pytester, STARLETTE_ONLY)
    result.assert_outcomes(failed=1)
    assert f"BGT006 test_case.py:{line}: " in result.stdout.str()


def test_noqa_on_the_reported_line_silences_it(pytester):
    source = module(CASES["BGT001"][0], "BGT001").replace("# here", "# noqa: BGT001")
    run(pytester, source).assert_outcomes(passed=1)
    source = module(CASES["BGT001"][0], "BGT001").replace("# here", "# noqa: BGT005")
    run(pytester, source).assert_outcomes(failed=1)


def test_warn_mode_warns_instead(pytester):
    result = run(pytester, module(CASES["BGT001"][0], "BGT001"), "--bgtask-lint-mode", "warn")
    result.assert_outcomes(passed=1)
    assert "BackgroundTaskWarning: BGT001 test_case.py:" in result.stdout.str()


@pytest.mark.parametrize("how", ["ini", "-p"])
def test_other_ways_to_enable_it(pytester, how):
    source = module(CASES["BGT001"][0], "BGT001")
    pytester.makepyfile(test_case=source)
    if how == "ini":
        pytester.makeini("[pytest]\nbgtask_lint = true\n")
        result = pytester.runpytest(*QUIET)
    else:
        result = pytester.runpytest("-p", "bgtask_lint.pytest_plugin", *QUIET)
    result.assert_outcomes(failed=1)
    assert "BGT001 test_case.py:" in result.stdout.str()


def test_inactive_unless_enabled(pytester):
    pytester.makepyfile(test_case=module(CASES["BGT001"][0], "BGT001"))
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=1)


def test_the_threshold_is_configurable(pytester):
    source = module(CASES["BGT003"][0], "BGT003")
    run(pytester, source, "--bgtask-lint-block-ms", "1000").assert_outcomes(passed=1)


SIGNATURES = """
import inspect

import pytest
from fastapi.exceptions import FastAPIError
from starlette.background import BackgroundTasks as StarletteTasks


def test_what_fastapi_reads_is_unchanged():
    # FastAPI reads `BackgroundTasks.__init__`'s signature for `Depends()`:
    # with the plugin it must see (and do) exactly what it does without.
    assert list(inspect.signature(StarletteTasks).parameters) == ["tasks"]
    try:

        @app.post("/")
        def route(x: int, tasks: StarletteTasks = Depends()):
            tasks.add_task(record, x)
            return {}

    except FastAPIError:
        pytest.skip("this FastAPI rejects the route at import (BGT002)")
    assert TestClient(app).post("/?x=1").status_code in (200, 422)
"""


def test_the_plugin_changes_nothing_the_app_does(pytester):
    pytester.makepyfile(test_case=HEADER + SIGNATURES)
    plain = pytester.runpytest(*QUIET).parseoutcomes()
    watched = pytester.runpytest("--bgtask-lint", "--bgtask-lint-mode", "warn", *QUIET)
    outcomes = watched.parseoutcomes()
    for counts in (plain, outcomes):
        counts.pop("warnings", None)
        counts.pop("warning", None)
    assert outcomes == plain
    assert "failed" not in outcomes
