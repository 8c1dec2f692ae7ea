"""The semantic model: name resolution through imports, routes, dependencies."""

from __future__ import annotations

import libcst as cst

from bgtask_lint.analysis.builder import build_model
from bgtask_lint.analysis.model import HTTP, STARLETTE, WEBSOCKET
from bgtask_lint.analysis.names import dotted_name


def model_of(source: str):
    return build_model(cst.parse_module(source), "m.py")


def expr(source: str) -> cst.BaseExpression:
    return cst.parse_expression(source)


def test_import_aliases_resolve_to_qualified_names():
    model = model_of(
        "import fastapi as f\n"
        "import starlette.background\n"
        "from fastapi import BackgroundTasks as BT\n"
        "from fastapi.background import BackgroundTasks as FBT\n"
        "from . import tasks\n"
        "from ..services import mail\n"
    )
    assert model.qualified_name(expr("BT")) == "fastapi.BackgroundTasks"
    assert model.qualified_name(expr("f.BackgroundTasks")) == "fastapi.BackgroundTasks"
    assert model.qualified_name(expr("FBT")) == "fastapi.background.BackgroundTasks"
    assert (
        model.qualified_name(expr("starlette.background.BackgroundTask"))
        == "starlette.background.BackgroundTask"
    )
    assert model.qualified_name(expr("tasks.send")) == ".tasks.send"
    assert model.qualified_name(expr("mail.send")) == "..services.mail.send"
    assert model.qualified_name(expr("open")) == "builtins.open"
    assert model.qualified_name(expr("unknown_name")) is None
    for name in ("BT", "f.BackgroundTasks", "FBT", "starlette.background.BackgroundTasks"):
        assert model.is_background_tasks_class(expr(name)), name


def test_local_definition_shadows_import():
    model = model_of(
        "from starlette.background import BackgroundTask\nclass BackgroundTask:\n    pass\n"
    )
    assert model.qualified_name(expr("BackgroundTask")) == "<module>.BackgroundTask"
    assert not model.is_background_task_class(expr("BackgroundTask"))


def test_function_level_import_does_not_hide_module_binding():
    model = model_of(
        "from fastapi import BackgroundTasks\ndef f():\n    from celery import BackgroundTasks\n"
    )
    assert model.is_background_tasks_class(expr("BackgroundTasks"))


def test_routes_registered_every_way():
    model = model_of(
        "from fastapi import APIRouter, Depends, FastAPI\n"
        "from .main import app as imported_app\n"
        "app = FastAPI()\n"
        "router = APIRouter()\n"
        "@app.get('/')\ndef a(): ...\n"
        "@router.api_route('/', methods=['GET'])\nasync def b(): ...\n"
        "@imported_app.post('/')\ndef c(): ...\n"
        "@app.websocket('/ws')\nasync def d(ws): ...\n"
        "def e(): ...\n"
        "app.add_api_route('/e', e)\n"
        "def dep(): ...\n"
        "@router.get('/f')\ndef f(x=Depends(dep)): ...\n"
        "def plain(): ...\n"
    )
    kinds = {f.name: f.route_kind for f in model.functions}
    assert kinds == {
        "a": HTTP,
        "b": HTTP,
        "c": HTTP,
        "d": WEBSOCKET,
        "e": HTTP,
        "dep": None,
        "f": HTTP,
        "plain": None,
    }
    assert [f.name for f in model.functions if f.is_dependency] == ["dep"]


def test_starlette_endpoints_and_lifecycle_handlers():
    model = model_of(
        "from contextlib import asynccontextmanager\n"
        "from fastapi import FastAPI\n"
        "from fastapi.routing import APIRoute\n"
        "from starlette.applications import Starlette\n"
        "from starlette.endpoints import HTTPEndpoint\n"
        "from starlette.routing import Mount, Route\n"
        "async def home(request): ...\n"
        "async def api(item_id: int): ...\n"
        "async def added(request): ...\n"
        "class Items(HTTPEndpoint):\n    async def get(self, request): ...\n"
        "    def helper(self): ...\n"
        "@asynccontextmanager\nasync def lifespan(app): yield\n"
        "def startup(): ...\n"
        "def shutdown(): ...\n"
        "def plain(): ...\n"
        "old = Starlette(on_startup=[startup])\n"
        "@old.route('/old')\nasync def legacy(request): ...\n"
        "@old.on_event('shutdown')\nasync def closing(): ...\n"
        "app = FastAPI(lifespan=lifespan, routes=[APIRoute('/api', api)])\n"
        "app.add_route('/added', added)\n"
        "app.add_event_handler('shutdown', shutdown)\n"
        "star = Starlette(routes=[Route('/', home), Mount('/items', routes=[Route('/', Items)])])\n"
    )
    kinds = {f.display_name: f.route_kind for f in model.functions}
    assert kinds == {
        "home": STARLETTE,
        "api": HTTP,
        "added": STARLETTE,
        "Items.get": STARLETTE,
        "Items.helper": None,
        "lifespan": None,
        "startup": None,
        "shutdown": None,
        "plain": None,
        "legacy": STARLETTE,
        "closing": None,
    }
    lifecycle = [f.name for f in model.functions if f.is_lifecycle]
    assert lifecycle == ["lifespan", "startup", "shutdown", "closing"]


def test_flask_app_is_not_a_fastapi_route():
    model = model_of(
        "from flask import Flask\napp = Flask(__name__)\n@app.get('/')\ndef index(): ...\n"
    )
    assert model.functions[0].route_kind is None


def test_annotation_classification():
    model = model_of(
        "from typing import Annotated, Optional, Union\n"
        "from fastapi import BackgroundTasks\n"
        "from starlette.background import BackgroundTask\n"
        "class Mine(BackgroundTasks): ...\n"
    )

    def info(text):
        return model._classify_type(expr(text), optional=False, annotated=False)

    assert info("BackgroundTasks").kind == "tasks"
    assert info("BackgroundTask").kind == "task"
    assert info("Mine").kind == "tasks-subclass"
    assert info("Optional[BackgroundTasks]").optional
    assert info("Union[None, BackgroundTasks]").optional
    assert info("BackgroundTasks | None").optional
    assert info("'BackgroundTasks | None'").optional
    assert info("Annotated[BackgroundTasks, 1]").annotated
    assert info("Union[BackgroundTasks, int]").kind is None
    assert info("'not valid python ('").kind is None


def test_type_checking_imports_are_marked():
    model = model_of(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from fastapi import BackgroundTasks\n"
    )
    assert model.imports.bindings["BackgroundTasks"].type_checking_only


def test_decorators_and_defaults_run_in_the_enclosing_scope():
    model = model_of(
        "from fastapi import Depends, FastAPI\n"
        "app = FastAPI()\n"
        "def outer():\n"
        "    @app.get('/', dependencies=[Depends(dep)])\n"
        "    def inner(x=Depends(other)):\n"
        "        work()\n"
    )
    outer, inner = model.functions
    assert [dotted_name(site.node.func) for site in inner.calls] == ["work"]
    assert sorted(dotted_name(site.node.func) for site in outer.calls) == [
        "Depends",
        "Depends",
        "app.get",
    ]
