"""BGT001's advice fits where the object is made: injection in FastAPI code
(with a fix), `background=` in Starlette code, awaiting it outside requests
(neither with a fix: there is nothing to inject)."""

from __future__ import annotations

from conftest import FIXTURES

from bgtask_lint.api import check_source

FASTAPI_APP = """
from contextlib import asynccontextmanager
from fastapi import BackgroundTasks, FastAPI

def audit(event): ...

@asynccontextmanager
async def lifespan(app):
    tasks = BackgroundTasks()
    tasks.add_task(audit, "started")
    yield

app = FastAPI(lifespan=lifespan)

@app.on_event("startup")
async def warm_up():
    tasks = BackgroundTasks()
    tasks.add_task(audit, "warm")

@app.post("/")
def create():
    tasks = BackgroundTasks()
    tasks.add_task(audit, "created")
    return {}
"""


def findings(source: str, name: str = "app.py"):
    return {d.location.row: d for d in check_source(source, name) if d.code == "BGT001"}


def test_fastapi_lifecycle_code_is_told_to_await_and_routes_to_inject():
    found = findings(FASTAPI_APP)
    for row in (9, 17):  # the lifespan and the startup handler
        assert "`await tasks()` once they are added" in found[row].message
        assert "inject" not in found[row].message
        assert found[row].fix is None
    route = found[22]
    assert "inject `tasks: BackgroundTasks` into the route" in route.message
    assert route.fix is not None


def test_starlette_code_is_told_to_attach_and_gets_no_fix():
    source = (FIXTURES / "BGT001_starlette.py").read_text(encoding="utf-8")
    found = findings(source, "BGT001_starlette.py")
    assert sorted(found) == [23, 29, 34, 41]
    for row in (23, 34):
        assert "(`JSONResponse(..., background=tasks)`)" in found[row].message
    assert "pass `background=tasks`" in found[29].message
    assert "`await tasks()`" in found[41].message
    assert all(d.fix is None and "inject" not in d.message for d in found.values())
