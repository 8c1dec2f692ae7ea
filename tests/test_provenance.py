"""Where a value comes from (analysis/provenance.py): origins followed through
aliases, calls, partials, objects and modules, and the production patterns of
BGT009 as a fixture package (tests/fixtures/projects/crm)."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import libcst as cst
import pytest
from conftest import FIXTURES, expectations

from bgtask_lint.analysis.builder import build_model
from bgtask_lint.analysis.origins import BOUND, DEPENDENCY, INJECTED, INSTANCE, STATE
from bgtask_lint.analysis.provenance import origins_of
from bgtask_lint.api import FixMode, check_paths, check_stdin

CRM = FIXTURES / "projects" / "crm"


@contextmanager
def working_in(directory):
    """Run the block with `directory` as the working directory (paths in
    findings are relative to it)."""
    cwd = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(cwd)


def crm_copy(tmp_path):
    """A copy of the crm package that a test may edit."""
    copy = tmp_path / "crm"
    shutil.copytree(CRM, copy)
    return copy


def model_of(source: str):
    return build_model(cst.parse_module(source), "example.py")


def origins_at(source: str, function: str, expression: str, max_depth: int = 4):
    """The origins of the last argument of the last call in `function`."""
    model = model_of(source)
    info = next(f for f in model.functions if f.name == function)
    call = info.calls[-1].node
    expr = call.args[-1].value
    assert model.module.code_for_node(expr) == expression
    return origins_of(model, expr, info, max_depth)


HEADER = """
import functools
import requests
from fastapi import BackgroundTasks, Depends, FastAPI, Request, UploadFile
from sqlalchemy.orm import Session, sessionmaker
app = FastAPI()
SessionLocal = sessionmaker()
def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
def get_settings():
    return {}
"""


def test_injected_values_by_type_and_dependency():
    source = HEADER + (
        "@app.post('/')\n"
        "def route(bt: BackgroundTasks, request: Request, f: UploadFile,\n"
        "          db=Depends(get_db), settings=Depends(get_settings)):\n"
        "    use(bt)\n    use(request)\n    use(f)\n    use(db)\n    use(settings)\n"
    )
    model = model_of(source)
    route = model.module_functions["route"]
    found = [origins_of(model, site.node.args[0].value, route) for site in route.calls]
    assert [(o.kind, o.type) for [o] in found[:3]] == [
        (INJECTED, "BackgroundTasks"),
        (INJECTED, "Request"),
        (INJECTED, "UploadFile"),
    ]
    [db], [settings] = found[3], found[4]
    assert (db.kind, db.name, db.tears_down) == (DEPENDENCY, "get_db", True)
    # What the dependency yields: a session from the session factory.
    assert [(p.kind, p.type) for p in db.parts] == [(INSTANCE, "sqlalchemy.orm.Session")]
    assert (settings.kind, settings.tears_down, settings.parts) == (DEPENDENCY, False, ())


def test_aliases_partials_objects_and_returns():
    source = HEADER + (
        "class Service:\n"
        "    def __init__(self, db):\n        self.db = db\n"
        "def build(db, **kwargs):\n    return functools.partial(work, db, **kwargs)\n"
        "@app.post('/')\n"
        "def route(db=Depends(get_db)):\n"
        "    alias = db\n"
        "    service = Service(alias)\n"
        "    task = build(service, x=1)\n"
        "    use(task)\n"
    )
    [task] = origins_at(source, "route", "task")
    assert task.kind == BOUND
    [service] = task.parts
    assert service.kind == INSTANCE and service.type.endswith(".Service")
    [db] = service.parts
    assert (db.kind, db.name) == (DEPENDENCY, "get_db")


def test_clients_from_constructors_annotations_globals_and_self():
    source = (
        "import requests\nfrom sqlalchemy.orm import Session\n"
        "CLIENT = requests.Session()\n"
        "class Worker:\n"
        "    def __init__(self):\n        self.http = requests.Session()\n"
        "    def run(self, db: Session):\n"
        "        use(self.http)\n        use(CLIENT)\n        use(db)\n"
        "        with requests.Session() as s:\n            use(s)\n"
    )
    model = model_of(source)
    run = model.methods[("Worker", "run")]
    types = [
        [o.type for o in origins_of(model, site.node.args[0].value, run)]
        for site in run.calls
        if site.node.args
    ]
    assert types == [
        ["requests.Session"],
        ["requests.Session"],
        ["sqlalchemy.orm.Session"],
        ["requests.Session"],
    ]


def test_state_values_are_told_apart_by_what_is_stored():
    source = HEADER + (
        "@app.middleware('http')\n"
        "async def mw(request: Request, call_next):\n"
        "    request.state.db = SessionLocal()\n"
        "    request.state.trace = 'abc'\n"
        "    return await call_next(request)\n"
        "@app.post('/')\n"
        "def route(request: Request):\n"
        "    use(request.state.db)\n    use(request.state.trace)\n"
    )
    model = model_of(source)
    route = model.module_functions["route"]
    db, trace = (origins_of(model, s.node.args[0].value, route) for s in route.calls)
    [[state_db], [state_trace]] = db, trace
    assert state_db.kind == state_trace.kind == STATE
    assert [p.type for p in state_db.parts] == ["sqlalchemy.orm.Session"]
    assert state_trace.parts == ()


def test_mutually_recursive_functions_end():
    source = HEADER + (
        "def ping(x, n):\n    return pong(x, n - 1) if n else x\n"
        "def pong(x, n):\n    return ping(x, n)\n"
        "@app.post('/')\n"
        "def route(db=Depends(get_db)):\n"
        "    value = ping(db, 3)\n    use(value)\n"
    )
    [origin] = origins_at(source, "route", "value")
    assert (origin.kind, origin.name) == (DEPENDENCY, "get_db")


def test_depth_limit():
    source = HEADER + (
        "def one(x):\n    return two(x)\n"
        "def two(x):\n    return three(x)\n"
        "def three(x):\n    return x\n"
        "@app.post('/')\n"
        "def route(db=Depends(get_db)):\n"
        "    value = one(db)\n    use(value)\n"
    )
    assert origins_at(source, "route", "value", max_depth=4)
    assert origins_at(source, "route", "value", max_depth=2) == ()


def test_parameters_get_what_the_routes_of_the_module_pass():
    source = HEADER + (
        "def helper(session, *rest, **options):\n"
        "    use(session)\n    use(rest)\n    use(options)\n"
        "@app.post('/')\n"
        "def route(db=Depends(get_db)):\n"
        "    helper(None, db, flag=db)\n"
    )
    model = model_of(source)
    helper = model.module_functions["helper"]
    session, rest, options = (
        origins_of(model, site.node.args[0].value, helper) for site in helper.calls
    )
    assert session == ()
    assert [o.name for o in rest] == [o.name for o in options] == ["get_db"]


# -- the production patterns, as a package --------------------------------


def crm_findings(*paths: str) -> set[tuple[str, int, str]]:
    with working_in(CRM):
        result = check_paths(list(paths), workers=1)
    return {
        (Path(d.filename).as_posix().lstrip("./"), d.location.row, d.code)
        for d in result.diagnostics
    }


def crm_expected() -> set[tuple[str, int, str]]:
    found = set()
    for path in CRM.rglob("*.py"):
        for row, _, code in expectations(path.read_text(encoding="utf-8")):
            found.add((path.relative_to(CRM).as_posix(), row, code))
    return found


def test_whole_package_reports_every_pattern():
    assert crm_findings(".") == crm_expected()


def messages(*paths: str) -> dict[tuple[str, int], str]:
    with working_in(CRM):
        result = check_paths(list(paths), workers=1)
    return {
        (Path(d.filename).as_posix().lstrip("./"), d.location.row): d.message
        for d in result.diagnostics
    }


def test_each_pattern_names_its_origin():
    found = messages(".")
    # 1. The route's session, into a handler method in another module (through
    #    run_in_threadpool, and through *args / **kwargs).
    # Two routes reach the same place: one finding that names both.
    assert (
        "yield dependency `get_db` in `bulk_create` (crm/api/orders.py), "
        "`create_order` (crm/api/orders.py))" in found[("crm/handlers/orders.py", 11)]
    )
    assert "in `resend` (crm/api/orders.py)" in found[("crm/handlers/orders.py", 15)]
    # 2. A partial a handler in another module builds and returns.
    assert "`task` (from yield dependency `get_db`)" in found[("crm/api/orders.py", 33)]
    # 3. A non-yield dependency returning what a middleware keeps on
    #    request.state, through an Annotated alias of another module.
    assert "`request.state.db`, which a middleware closes" in (found[("crm/api/contacts.py", 11)])
    assert "on every FastAPI version" in found[("crm/api/contacts.py", 11)]
    # 4. A class-based view whose session is a dependency class attribute.
    assert (
        "in `ContactController` (crm/api/controller.py)" in (found[("crm/api/controller.py", 19)])
    )


def in_crm(function, *args, **kwargs):
    with working_in(CRM):
        return function(*args, **kwargs)


def located(diagnostics) -> set[tuple[str, int, str]]:
    return {(Path(d.filename).as_posix(), d.location.row, d.code) for d in diagnostics}


CHAIN = {
    ("crm/handlers/orders.py", 11, "BGT009"),
    ("crm/handlers/orders.py", 15, "BGT009"),
}


def test_a_chain_is_reported_in_one_place_whatever_is_checked():
    # The whole package, the route file alone, the handler's module alone (as
    # pre-commit passes a changed file), and the handler's text on stdin.
    assert crm_findings(".") >= CHAIN
    route_file = in_crm(check_paths, ["crm/api/orders.py"], workers=1)
    assert located(route_file.diagnostics) == CHAIN | {("crm/api/orders.py", 33, "BGT009")}
    handler_file = in_crm(check_paths, ["crm/handlers/orders.py"], workers=1)
    assert located(handler_file.diagnostics) == CHAIN
    handler = CRM / "crm" / "handlers" / "orders.py"
    stdin = in_crm(check_stdin, handler.read_bytes(), "crm/handlers/orders.py")
    assert located(stdin.diagnostics) == CHAIN
    # The same messages in every mode.
    assert sorted(d.message for d in route_file.diagnostics if "handlers" in d.filename) == (
        sorted(d.message for d in stdin.diagnostics)
    )


def test_noqa_at_the_canonical_place_silences_every_mode(tmp_path):
    copy = crm_copy(tmp_path)
    handler = copy / "crm" / "handlers" / "orders.py"
    text = handler.read_text().replace(
        "add_task(self._notify, db_session, order_id)  # expect: BGT009",
        "add_task(self._notify, db_session, order_id)  # noqa: BGT009",
    )
    handler.write_text(text)
    with working_in(copy):
        runs = [
            check_paths(["."], workers=1),
            check_paths(["crm/api/orders.py"], workers=1),
            check_paths(["crm/handlers/orders.py"], workers=1),
            check_stdin(handler.read_bytes(), "crm/handlers/orders.py"),
        ]
    for result in runs:
        rows = {(Path(d.filename).as_posix(), d.location.row) for d in result.diagnostics}
        assert ("crm/handlers/orders.py", 11) not in rows
        assert ("crm/handlers/orders.py", 15) in rows


def test_a_file_read_for_its_chain_reports_nothing_else(tmp_path):
    """The handler module is read to report the chain from the route; its own
    unrelated findings are not reported (it was not asked about), and it is
    never fixed."""
    copy = crm_copy(tmp_path)
    handler = copy / "crm" / "handlers" / "orders.py"
    handler.write_text(
        handler.read_text() + "\n\ndef unrelated():\n    BackgroundTasks().add_task(print)\n"
    )
    before = handler.read_bytes()
    with working_in(copy):
        result = check_paths(["crm/api/orders.py"], workers=1, fix=FixMode(unsafe=True))
        whole = check_paths(["."], workers=1)
    assert handler.read_bytes() == before
    assert "BGT001" not in {d.code for d in result.diagnostics}
    assert "BGT001" in {d.code for d in whole.diagnostics}


def test_parallel_run_reports_the_same():
    # Two files that need a parse: two workers, with the chain end checked by one.
    paths = ["crm/api/orders.py", "crm/api/controller.py"]
    one = in_crm(check_paths, paths, workers=1)
    two = in_crm(check_paths, paths, workers=2)
    assert ("crm/handlers/orders.py", 11, "BGT009") in located(two.diagnostics)
    assert [(d.filename, d.location, d.message) for d in one.diagnostics] == [
        (d.filename, d.location, d.message) for d in two.diagnostics
    ]


def test_files_read_for_context_are_indexed_by_the_workers_too(tmp_path):
    # The handler alone: the routes that lead into it are indexed on the
    # workers beside it, and the findings and the cached facts are the same.
    one = in_crm(check_paths, ["crm/handlers/orders.py"], workers=1)
    two = in_crm(check_paths, ["crm/handlers/orders.py"], workers=2, cache_dir=tmp_path)
    warm = in_crm(check_paths, ["crm/handlers/orders.py"], workers=2, cache_dir=tmp_path)
    assert located(two.diagnostics) == CHAIN
    assert [(d.filename, d.location, d.message) for d in one.diagnostics] == [
        (d.filename, d.location, d.message) for d in two.diagnostics
    ]
    assert warm.diagnostics == two.diagnostics


def test_extra_blocking_calls_take_methods_of_project_types(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.bgtask-lint]\nextra-blocking-calls = ["app.clients.Legacy.fetch"]\n'
    )
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "clients.py").write_text(
        "class Legacy:\n    def fetch(self): ...\n    def close(self): ...\n"
    )
    (tmp_path / "app" / "routes.py").write_text(
        "import asyncio\n"
        "from fastapi import BackgroundTasks\n"
        "from app.clients import Legacy\n"
        "LEGACY = Legacy()\n"
        "async def task():\n"
        "    await asyncio.sleep(0)\n"
        "    LEGACY.fetch()\n"
        "    LEGACY.close()\n"
        "def route(bt: BackgroundTasks):\n    bt.add_task(task)\n"
    )
    with working_in(tmp_path):
        result = check_paths(["."], workers=1)
    [finding] = result.diagnostics
    assert (finding.code, finding.location.row) == ("BGT003", 7)
    assert "task → app.clients.Legacy.fetch" in finding.message


def test_context_facts_come_from_the_cache_until_the_file_changes(tmp_path):
    copy = crm_copy(tmp_path)
    cache = tmp_path / "cache"
    with working_in(copy):
        cold = check_paths(["crm/handlers/orders.py"], workers=1, cache_dir=cache)
        warm = check_paths(["crm/handlers/orders.py"], workers=1, cache_dir=cache)
        assert located(cold.diagnostics) == located(warm.diagnostics) == CHAIN
        # The route (read for context only) stops handing its session over.
        routes = copy / "crm" / "api" / "orders.py"
        text = routes.read_text().replace("handler.create, db_session,", "handler.create, None,")
        routes.write_text(text.replace(".create(db_session,", ".create(None,"))
        after = check_paths(["crm/handlers/orders.py"], workers=1, cache_dir=cache)
    assert located(after.diagnostics) == {("crm/handlers/orders.py", 15, "BGT009")}


def test_context_facts_are_computed_again_when_the_checked_file_they_follow_into_changes(
    tmp_path,
):
    # The route's facts say which of the handler's parameters get its session;
    # they hold only as long as the handler's signature does.
    copy = crm_copy(tmp_path)
    cache = tmp_path / "cache"
    with working_in(copy):
        cold = check_paths(["crm/handlers/orders.py"], workers=1, cache_dir=cache)
        assert located(cold.diagnostics) == CHAIN
        handler = copy / "crm" / "handlers" / "orders.py"
        handler.write_text(
            handler.read_text().replace(
                "def create(self, db_session, background_tasks: BackgroundTasks, payload: dict)",
                "def create(self, payload, background_tasks: BackgroundTasks, db_session=None)",
            )
        )
        cached = check_paths(["crm/handlers/orders.py"], workers=1, cache_dir=cache)
        fresh = check_paths(["crm/handlers/orders.py"], workers=1)
    assert located(fresh.diagnostics) == {("crm/handlers/orders.py", 15, "BGT009")}
    assert located(cached.diagnostics) == located(fresh.diagnostics)


def test_a_route_importing_the_module_in_parentheses_over_lines_is_read_for_context(tmp_path):
    copy = crm_copy(tmp_path)
    routes = copy / "crm" / "api" / "orders.py"
    text = routes.read_text().replace("OrderHandler", "orders.OrderHandler")
    text = text.replace(
        "from crm.handlers.orders import orders.OrderHandler\n",
        "from crm.handlers import (\n    exports,\n    orders,\n)\n",
    )
    routes.write_text(text)
    with working_in(copy):
        whole = check_paths(["."], workers=1)
        handler_alone = check_paths(["crm/handlers/orders.py"], workers=1)
    assert {f for f in located(whole.diagnostics) if f[0] == "crm/handlers/orders.py"} == CHAIN
    assert located(handler_alone.diagnostics) == CHAIN


def route_module(imports: str, body: str) -> str:
    """A route module of the `app` project: its imports, a session
    dependency (`get_db`) and `body`."""
    return (
        "from fastapi import APIRouter, BackgroundTasks, Depends\n"
        "from sqlalchemy.orm import sessionmaker\n\n"
        f"{imports}\n\n"
        "router = APIRouter()\n"
        "SessionLocal = sessionmaker()\n\n\n"
        "def get_db():\n"
        "    db = SessionLocal()\n"
        "    try:\n"
        "        yield db\n"
        "    finally:\n"
        "        db.close()\n\n\n"
        f"{body}"
    )


def write_app(root: Path, **modules: str) -> None:
    """The `app` project under `root`: a pyproject.toml and package `app`
    with `modules` (name -> text)."""
    (root / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("")
    for name, text in modules.items():
        (root / "app" / f"{name}.py").write_text(text)


CONTEXT_ROUTES = route_module(
    "from app import handlers",
    """\
def helper(tasks, db):
    handlers.direct(tasks, db)


class Service:
    def run(self, tasks, db):
        handlers.through_a_class(tasks, db)


def lazy(tasks, db):
    from app.handlers import through_a_nested_import

    through_a_nested_import(tasks, db)


@router.post("/a")
def a(tasks: BackgroundTasks, db=Depends(get_db)):
    helper(tasks, db)


@router.post("/b")
def b(tasks: BackgroundTasks, db=Depends(get_db)):
    Service().run(tasks, db)


@router.post("/c")
def c(tasks: BackgroundTasks, db=Depends(get_db)):
    lazy(tasks, db)


@router.post("/d")
def unrelated(tasks: BackgroundTasks, db=Depends(get_db)):
    tasks.add_task(print, "nothing to do with the handlers")
""",
)

CONTEXT_HANDLERS = """\
from fastapi import BackgroundTasks


def work(session):
    session.commit()


def direct(tasks: BackgroundTasks, db):
    tasks.add_task(work, db)


def through_a_class(tasks: BackgroundTasks, db):
    tasks.add_task(work, db)


def through_a_nested_import(tasks: BackgroundTasks, db):
    tasks.add_task(work, db)
"""


def test_a_context_file_is_read_in_part_and_every_way_into_the_checked_file_is_kept(tmp_path):
    # Only the statements of the routes' module that can lead into the handlers
    # are parsed for context; the chains through a helper, a class and an
    # import inside a function all still end in the handler checked alone.
    write_app(tmp_path, routes=CONTEXT_ROUTES, handlers=CONTEXT_HANDLERS)
    with working_in(tmp_path):
        whole = check_paths(["."], workers=1)
        alone = check_paths(["app/handlers.py"], workers=1)
    expected = {("app/handlers.py", row, "BGT009") for row in (9, 13, 17)}
    assert {f for f in located(whole.diagnostics) if f[0] == "app/handlers.py"} == expected
    assert located(alone.diagnostics) == expected


THROUGH_A_SERVICE = """\
from app import handlers
from app.handlers import direct as send_now


def notify(tasks, db):
    handlers.direct(tasks, db)


class Mailer:
    def run(self, tasks, db):
        handlers.through_a_class(tasks, db)


def later(tasks, db):
    from app.handlers import through_a_nested_import

    through_a_nested_import(tasks, db)


def unrelated():
    return 1
"""

ROUTES_THROUGH_A_SERVICE = route_module(
    "from app.services import Mailer, later, notify, send_now",
    """\
@router.post("/a")
def a(tasks: BackgroundTasks, db=Depends(get_db)):
    notify(tasks, db)


@router.post("/b")
def b(tasks: BackgroundTasks, db=Depends(get_db)):
    Mailer().run(tasks, db)


@router.post("/c")
def c(tasks: BackgroundTasks, db=Depends(get_db)):
    later(tasks, db)


@router.post("/d")
def d(tasks: BackgroundTasks, db=Depends(get_db)):
    send_now(tasks, db)
""",
)

ROUTES_THROUGH_NOTHING = """\
from fastapi import APIRouter, BackgroundTasks

from app.services import unrelated

router = APIRouter()


@router.post("/e")
def e(tasks: BackgroundTasks):
    tasks.add_task(unrelated)
"""


def test_a_context_file_leads_in_through_the_names_it_imports(tmp_path, monkeypatch):
    """A route module reaches the checked handlers through a service module
    (by a function, a class's method, a function's own import and a
    re-export): read for context, its chains still end in the handlers.
    Another imports only a name of the service that leads nowhere: it is
    not parsed at all."""
    from bgtask_lint.analysis.project import Project

    write_app(
        tmp_path,
        handlers=CONTEXT_HANDLERS,
        services=THROUGH_A_SERVICE,
        routes=ROUTES_THROUGH_A_SERVICE,
        other=ROUTES_THROUGH_NOTHING,
    )
    parsed: list[str] = []
    original = Project._parse

    def recording(self, text, path):  # type: ignore[no-untyped-def]
        parsed.append(os.path.basename(path))
        return original(self, text, path)

    with working_in(tmp_path):
        whole = check_paths(["."], workers=1)
        monkeypatch.setattr(Project, "_parse", recording)
        alone = check_paths(["app/handlers.py"], workers=1)
    expected = {("app/handlers.py", row, "BGT009") for row in (9, 13, 17)}
    assert {f for f in located(whole.diagnostics) if f[0] == "app/handlers.py"} == expected
    assert located(alone.diagnostics) == expected
    assert "routes.py" in parsed and "other.py" not in parsed


def test_a_context_file_that_led_nowhere_is_read_again_when_the_name_it_imports_does(tmp_path):
    """Cached: a context file whose import led nowhere has no facts, and
    that holds only while the module it imports the name from is as it was."""
    write_app(
        tmp_path,
        handlers=CONTEXT_HANDLERS
        + "\n\ndef only_from_other(tasks: BackgroundTasks, db):\n    tasks.add_task(work, db)\n",
        services=THROUGH_A_SERVICE.replace("def unrelated():", "def unrelated(tasks, db):"),
        other=route_module(
            "from app.services import unrelated",
            '@router.post("/e")\ndef e(tasks: BackgroundTasks, db=Depends(get_db)):\n'
            "    unrelated(tasks, db)\n",
        ),
    )
    services = tmp_path / "app" / "services.py"
    cache = tmp_path / "cache"
    with working_in(tmp_path):
        before = check_paths(["app/handlers.py"], workers=1, cache_dir=cache)
        assert located(before.diagnostics) == set()
        services.write_text(
            services.read_text().replace("    return 1", "    handlers.only_from_other(tasks, db)")
        )
        after = check_paths(["app/handlers.py"], workers=1, cache_dir=cache)
        fresh = check_paths(["app/handlers.py"], workers=1)
    assert (
        located(after.diagnostics)
        == located(fresh.diagnostics)
        == {("app/handlers.py", 21, "BGT009")}
    )


UNRELATED_HANDLERS = """\


def unrelated_export(rows):
    return [row for row in rows if row]


class Report:
    def render(self, rows):
        return unrelated_export(rows)
"""

BLOCKING_TASK = """\


async def ping():
    time.sleep(1)
"""


@pytest.mark.parametrize("with_a_fix", [False, True], ids=["no fix", "a fix"])
def test_the_end_of_a_chain_is_checked_on_what_the_chains_name(tmp_path, monkeypatch, with_a_fix):
    """A file not asked about, checked for what the checked routes' chains
    lead to there, is read in part: the definitions the facts name. Its
    findings are those of the whole module; one with a fix (which may add
    an import) is worked out on the whole module."""
    from bgtask_lint.analysis.project import Project

    routes = route_module(
        "from app.handlers import direct, ping",
        '@router.post("/a")\ndef a(tasks: BackgroundTasks, db=Depends(get_db)):\n'
        "    direct(tasks, db)\n",
    )
    handlers = CONTEXT_HANDLERS + UNRELATED_HANDLERS
    if with_a_fix:
        routes += (
            '\n\n@router.post("/p")\ndef p(tasks: BackgroundTasks):\n    tasks.add_task(ping)\n'
        )
        handlers = "import time\n" + handlers + BLOCKING_TASK
    write_app(tmp_path, routes=routes, handlers=handlers)
    parsed: list[str] = []
    original = Project._parse

    def recording(self, text, path):  # type: ignore[no-untyped-def]
        if path.endswith("handlers.py"):
            parsed.append(text)
        return original(self, text, path)

    monkeypatch.setattr(Project, "_parse", recording)
    with working_in(tmp_path):
        in_part = check_paths(["app/routes.py"], workers=1)
        read_in_part = list(parsed)
        monkeypatch.setattr(Project, "chain_end_model", Project.model_for_text)
        whole = check_paths(["app/routes.py"], workers=1)
    assert in_part.diagnostics == whole.diagnostics
    codes = sorted(d.code for d in in_part.diagnostics if d.filename.endswith("handlers.py"))
    assert codes == (["BGT003", "BGT009"] if with_a_fix else ["BGT009"])
    assert any(d.fix is not None for d in in_part.diagnostics) is with_a_fix
    assert read_in_part[0] != handlers and "unrelated_export" not in read_in_part[0]
    assert (handlers in read_in_part) is with_a_fix


@pytest.mark.parametrize(
    "alias",
    [
        "from crm.handlers import orders\n\nOrderHandler = orders.OrderHandler\n",
        "from crm.handlers.orders import OrderHandler as _Handler\n\nOrderHandler = _Handler\n",
        "import crm.handlers.orders\n\nOrderHandler = crm.handlers.orders.OrderHandler\n",
        # Through modules that only pass it on (they mention no task: they
        # are read for the name all the same).
        "from crm.aliases import OrderHandler\n",
        "from crm.reexports import OrderHandler\n",
        "from crm.handlers import OrderHandler\n",
    ],
    ids=[
        "module attribute",
        "imported name",
        "dotted module",
        "another module's alias",
        "a re-export",
        "a package's re-export",
    ],
)
def test_a_class_under_another_name_is_followed(tmp_path, alias):
    copy = crm_copy(tmp_path)
    (copy / "crm" / "aliases.py").write_text(
        "from crm.handlers.orders import OrderHandler as Handler\n\nOrderHandler = Handler\n"
    )
    (copy / "crm" / "reexports.py").write_text("from crm.handlers.orders import OrderHandler\n")
    package = copy / "crm" / "handlers" / "__init__.py"
    package.write_text(package.read_text() + "from crm.handlers.orders import OrderHandler\n")
    routes = copy / "crm" / "api" / "orders.py"
    routes.write_text(
        routes.read_text().replace("from crm.handlers.orders import OrderHandler\n", alias)
    )
    with working_in(copy):
        whole = check_paths(["."], workers=1)
    assert {f for f in located(whole.diagnostics) if f[0] == "crm/handlers/orders.py"} == CHAIN


def test_a_name_bound_twice_or_in_a_circle_is_not_followed(tmp_path):
    copy = crm_copy(tmp_path)
    routes = copy / "crm" / "api" / "orders.py"
    text = routes.read_text()
    for alias, chain in [
        # Which of the two it is depends on the run: neither is followed.
        (
            "try:\n    from crm.handlers.orders import OrderHandler\n"
            "except ImportError:\n    OrderHandler = None\n",
            set(),
        ),
        ("OrderHandler = Other\nOther = OrderHandler\n", set()),
    ]:
        routes.write_text(text.replace("from crm.handlers.orders import OrderHandler\n", alias))
        with working_in(copy):
            whole = check_paths(["crm/api"], workers=1)
        found = {f for f in located(whole.diagnostics) if f[0] == "crm/handlers/orders.py"}
        assert found & {("crm/handlers/orders.py", 11, "BGT009")} == chain


SERVICE_LAYER = {
    "app/__init__.py": "",
    "app/db.py": (
        "from sqlalchemy.orm import sessionmaker\n\nSessionLocal = sessionmaker()\n\n\n"
        "def get_db():\n    db = SessionLocal()\n    try:\n        yield db\n"
        "    finally:\n        db.close()\n"
    ),
    "app/routes.py": (
        "from fastapi import APIRouter, BackgroundTasks, Depends\n\n"
        "from app import services\nfrom app.db import get_db\n\nrouter = APIRouter()\n\n\n"
        "@router.post('/orders')\n"
        "def create(background_tasks: BackgroundTasks, db=Depends(get_db)):\n"
        "    services.create_order(background_tasks, db)\n"
    ),
    # No task word here: only what it calls queues the task.
    "app/services.py": (
        "{import}\n\n\ndef create_order(tasks, db):\n    db.add(object())\n    {call}(tasks, db)\n"
    ),
    "app/notifications.py": (
        "from fastapi import BackgroundTasks\n\nRETRIES = 3\n\n\ndef send(session):\n"
        "    session.query()\n\n\ndef notify_later(tasks: BackgroundTasks, db):\n"
        "    tasks.add_task(send, db)\n"
    ),
}


def write_service_layer(root, imported, call):
    (root / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    (root / "app").mkdir()
    for name, text in SERVICE_LAYER.items():
        (root / name).write_text(text.replace("{import}", imported).replace("{call}", call))


@pytest.mark.parametrize(
    ("imported", "call"),
    [
        ("from app import notifications", "notifications.notify_later"),
        ("from app.notifications import notify_later", "notify_later"),
        ("import app.notifications", "app.notifications.notify_later"),
    ],
    ids=["its module", "the function", "the dotted module"],
)
def test_a_service_layer_that_mentions_no_task_is_followed(tmp_path, imported, call):
    # The route's session goes through a service module with no task word
    # (the filter that keeps a run from parsing every module a route calls
    # let it through: it calls code of a module that queues one).
    write_service_layer(tmp_path, imported, call)
    with working_in(tmp_path):
        whole = check_paths(["."], workers=1)
        route_alone = check_paths(["app/routes.py"], workers=1)
    expected = {("app/notifications.py", 11, "BGT009")}
    assert located(whole.diagnostics) == located(route_alone.diagnostics) == expected


def test_a_module_that_mentions_no_task_and_uses_only_values_of_one_is_not_parsed(tmp_path):
    from bgtask_lint.analysis.origins import HANDS_TO_TASKS
    from bgtask_lint.analysis.project import Project

    write_service_layer(tmp_path, "from app.notifications import RETRIES", "print")
    project = Project(tmp_path)
    services = tmp_path / "app" / "services.py"
    with project.only_modules_mentioning(HANDS_TO_TASKS):
        assert project.outline_model(services, "create_order") is None
    assert not project.is_parsed(services)


def test_sarif_lists_the_chain_as_related_locations(tmp_path):
    import json

    from bgtask_lint.output.reports import format_sarif

    result = in_crm(check_paths, ["."], workers=1, cache_dir=tmp_path)
    warm = in_crm(check_paths, ["."], workers=1, cache_dir=tmp_path)
    assert warm.diagnostics == result.diagnostics  # the chain survives the cache
    document = json.loads(in_crm(format_sarif, result.diagnostics))
    related = {
        (r["locations"][0]["physicalLocation"]["region"]["startLine"], loc["message"]["text"])
        for r in document["runs"][0]["results"]
        if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "crm/handlers/orders.py"
        for loc in r.get("relatedLocations", [])
        if loc["physicalLocation"]["artifactLocation"]["uri"] == "crm/api/orders.py"
    }
    assert related == {
        (11, "`bulk_create` gets it from FastAPI"),
        (11, "`create_order` gets it from FastAPI"),
        (15, "`resend` gets it from FastAPI"),
    }


def test_a_chain_end_is_cached_and_checked_again_when_it_changes(tmp_path):
    copy = crm_copy(tmp_path)
    cache = tmp_path / "cache"
    with working_in(copy):
        cold = check_paths(["crm/api/orders.py"], workers=1, cache_dir=cache)
        warm = check_paths(["crm/api/orders.py"], workers=1, cache_dir=cache)
        assert located(cold.diagnostics) == located(warm.diagnostics)
        assert located(warm.diagnostics) >= CHAIN
        # The handler (read only as the chain's end) moves its add_task down a line.
        handler = copy / "crm" / "handlers" / "orders.py"
        handler.write_text(
            handler.read_text().replace(
                "        order_id = save_order(db_session, payload)\n",
                "        order_id = save_order(db_session, payload)\n        pass\n",
            )
        )
        after = check_paths(["crm/api/orders.py"], workers=1, cache_dir=cache)
        # And a run that checks the handler too reports it as its own, not from
        # the chain end's entry.
        both = check_paths(
            ["crm/api/orders.py", "crm/handlers/orders.py"], workers=1, cache_dir=cache
        )
    rows = {row for f, row, _ in located(after.diagnostics) if f == "crm/handlers/orders.py"}
    assert rows == {12, 16}
    assert {row for f, row, _ in located(both.diagnostics) if f == "crm/handlers/orders.py"} == {
        12,
        16,
    }
