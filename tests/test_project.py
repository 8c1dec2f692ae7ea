"""Project-wide analysis: tasks followed into the modules that define them,
through re-exports, relative imports, methods, partials and call cycles; only
the files asked for are reported on."""

from __future__ import annotations

import json
from pathlib import Path

import libcst as cst
import pytest
from conftest import FIXTURES, expectations

from bgtask_lint.analysis.builder import build_model
from bgtask_lint.analysis.project import Project
from bgtask_lint.config.roots import find_project_root

SHOP = FIXTURES / "projects" / "shop"
SRCAPP = FIXTURES / "projects" / "srcapp"


def findings(cli, cwd, *paths):
    result = cli("check", "--no-cache", "--output-format", "json", *paths, cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return [
        (
            str(Path(item["filename"]).relative_to(cwd.resolve())),
            item["location"]["row"],
            item["code"],
            item["message"],
        )
        for item in json.loads(result.stdout)
    ]


def expected_in(root):
    found = set()
    for path in root.rglob("*.py"):
        for row, _, code in expectations(path.read_text(encoding="utf-8")):
            found.add((str(path.relative_to(root)), row, code))
    return found


def test_whole_project_reports_where_the_loop_blocks(cli):
    reported = findings(cli, SHOP, ".")
    assert {(f, row, code) for f, row, code, _ in reported} == expected_in(SHOP)
    messages = {f: message for f, _, code, message in reported if code == "BGT003"}
    # Three calls deep, through a helper module the routes never import.
    assert (
        "send_receipt → render_receipt → _load_template → time.sleep" in messages["shop/tasks.py"]
    )
    assert (
        "`Mailer.send` blocks the event loop: Mailer.send → Mailer._connect → smtplib.SMTP"
        in (messages["shop/services/mail.py"])
    )
    assert "ping → _a → _b → time.sleep" in messages["shop/cycle.py"]


def test_one_file_reports_its_chains_where_the_loop_blocks(cli):
    """A finding that spans modules has one place, whatever paths are named:
    the route file alone reports the chains that start in it where the loop
    blocks, in the task's module, as the whole project does."""
    reported = findings(cli, SHOP, "shop/api/routes.py")
    whole = findings(cli, SHOP, ".")
    assert reported == whole
    # The yield dependency is defined in deps.py; the project pins fastapi>=0.115.
    [bgt009] = [message for _, row, code, message in reported if code == "BGT009"]
    assert "yield dependency `get_db`" in bgt009
    assert "`fastapi>=0.115` (" in bgt009 and "pyproject.toml) allows" in bgt009


def test_the_task_module_alone_reports_what_routes_elsewhere_submit(cli):
    # As pre-commit runs it when only the task's module changed.
    reported = findings(cli, SHOP, "shop/tasks.py", "shop/cycle.py")
    assert [(f, row, code) for f, row, code, _ in reported] == [
        ("shop/cycle.py", 5, "BGT003"),
        ("shop/tasks.py", 10, "BGT003"),
    ]


def test_src_layout(cli):
    whole = findings(cli, SRCAPP, ".")
    assert {(f, row, code) for f, row, code, _ in whole} == expected_in(SRCAPP)
    [(f, row, code, message)] = findings(cli, SRCAPP, "src/srcapp/main.py")
    assert (f, row, code) == ("src/srcapp/jobs.py", 5, "BGT003")
    assert "crawl → requests.get" in message


def test_configured_src_root(cli, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.bgtask-lint]\nsrc = ["lib"]\n')
    (tmp_path / "lib" / "work").mkdir(parents=True)
    (tmp_path / "lib" / "work" / "__init__.py").write_text(
        "import time\nasync def job():\n    time.sleep(1)\n"
    )
    (tmp_path / "app.py").write_text(
        "from fastapi import BackgroundTasks\nfrom work import job\n"
        "def route(bt: BackgroundTasks):\n    bt.add_task(job)\n"
    )
    [(f, row, code, message)] = findings(cli, tmp_path, "app.py")
    assert (f, row, code) == ("lib/work/__init__.py", 3, "BGT003")
    assert "job → time.sleep" in message


def test_max_call_depth(cli, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.bgtask-lint]\nmax-call-depth = 1\n")
    (tmp_path / "app.py").write_text(
        "import time\nfrom fastapi import BackgroundTasks\n"
        "def deep():\n    time.sleep(1)\n"
        "def shallow():\n    deep()\n"
        "async def task():\n    shallow()\n"
        "def route(bt: BackgroundTasks):\n    bt.add_task(task)\n"
    )
    assert findings(cli, tmp_path, ".") == []
    (tmp_path / "pyproject.toml").write_text("[tool.bgtask-lint]\nmax-call-depth = 2\n")
    assert [code for _, _, code, _ in findings(cli, tmp_path, ".")] == ["BGT003"]


def test_max_call_depth_holds_across_modules(cli, tmp_path):
    """Awaits followed into other modules stop at `max-call-depth` as calls in
    one module do (task -> middle -> bottom: `bottom` is 2 calls deep), and
    go past the default depth (4) when it allows."""
    modules = ["jobs", *(f"step{n}" for n in range(1, 6))]
    (tmp_path / "app.py").write_text(
        "from fastapi import BackgroundTasks\nfrom jobs import task\n"
        "def route(bt: BackgroundTasks):\n    bt.add_task(task)\n"
    )
    for n, (name, below) in enumerate(zip(modules, [*modules[1:], ""])):
        function = "task" if n == 0 else f"f{n}"
        body = f"    await f{n + 1}()\n" if below else "    time.sleep(1)\n"
        head = f"from {below} import f{n + 1}\n" if below else "import time\n"
        (tmp_path / f"{name}.py").write_text(f"{head}async def {function}():\n{body}")
    for depth, reported in ((4, False), (5, True), (1, False)):
        (tmp_path / "pyproject.toml").write_text(f"[tool.bgtask-lint]\nmax-call-depth = {depth}\n")
        found = [(f, code) for f, _, code, _ in findings(cli, tmp_path, ".")]
        assert found == ([("step5.py", "BGT003")] if reported else []), depth


FACTORY = """from fastapi import BackgroundTasks


def make_tasks(user: str) -> BackgroundTasks:
    tasks = BackgroundTasks()
    tasks.add_task(print, "hello", user)
    return tasks


def attach(user: str) -> BackgroundTasks:
    return make_tasks(user)
"""
FACTORY_CALLERS = """from fastapi import FastAPI
from fastapi.responses import JSONResponse

from factory import make_tasks

app = FastAPI()


@app.post("/dropped")
def dropped(user: str):
    tasks = make_tasks(user)
    tasks.add_task(print, "bye")
    return {}


@app.post("/bare")
def bare(user: str):
    make_tasks(user)
    return {}


@app.post("/attached")
def attached(user: str):
    return JSONResponse({}, background=make_tasks(user))


@app.post("/returned")
def returned(user: str):
    tasks = make_tasks(user)
    return JSONResponse({}, background=tasks)
"""


# The factory's module makes the object under another name: it has no
# `BackgroundTasks(` to be found by.
ALIASED_FACTORY = FACTORY.replace(
    "import BackgroundTasks", "import BackgroundTasks as Tasks"
).replace("BackgroundTasks()", "Tasks()")


@pytest.mark.parametrize("factory", [FACTORY, ALIASED_FACTORY], ids=["plain", "aliased"])
def test_a_factory_of_another_module_dropped_by_its_caller(cli, tmp_path, factory):
    """A function that returns the `BackgroundTasks()` it made is judged at
    each caller, in other modules too: dropped there, it is reported there;
    attached, it is not."""
    (tmp_path / "factory.py").write_text(factory)
    (tmp_path / "routes.py").write_text(FACTORY_CALLERS)
    expected = [("routes.py", 11, "BGT001"), ("routes.py", 18, "BGT001")]
    for checked in (".", "routes.py"):
        found = findings(cli, tmp_path, checked)
        assert [(f, row, code) for f, row, code, _ in found] == expected, checked
    assert "returned by `make_tasks()`" in found[0][3]


def test_module_names_and_resolution():
    project = Project(SHOP)
    routes = SHOP / "shop" / "api" / "routes.py"
    assert project.module_name(routes) == ("shop.api.routes", False)
    assert project.module_name(SHOP / "shop" / "__init__.py") == ("shop", True)
    assert (
        project.path_for_module("shop.services.mail")
        == (SHOP / "shop" / "services" / "mail.py").resolve()
    )
    assert project.path_for_module("requests") is None  # third party: known by name only
    model = project.model_for_path(routes)
    assert model.absolute("..deps.get_db") == "shop.deps.get_db"
    assert model.absolute(".x") == "shop.api.x"
    # `from shop import send_receipt` goes through the re-export in __init__.py.
    ref = model.resolve_function(cst.parse_expression("reexported_send_receipt"))
    assert ref.info.name == "send_receipt" and ref.model.path.endswith("tasks.py")


def test_project_root_is_the_nearest_marker(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert find_project_root(tmp_path / "a" / "b") == tmp_path.resolve()


def test_package_relative_imports_from_an_init_module():
    project = Project(SHOP)
    model = build_model(cst.parse_module("from .tasks import x\n"), "init.py")
    model.module_name, model.is_package = "shop", True
    model.project = project
    assert model.absolute(".tasks.x") == "shop.tasks.x"


def test_a_sub_project_keeps_its_own_fastapi_pin_under_a_top_level_configuration(tmp_path):
    """One `[tool.bgtask-lint]` at the top of a monorepo, sub-projects with
    their own pins: BGT009 judges each file by its own project's FastAPI."""
    import shutil

    from bgtask_lint.api import check_paths

    (tmp_path / "pyproject.toml").write_text('[tool.bgtask-lint]\nselect = ["ALL"]\n')
    shutil.copytree(SHOP, tmp_path / "shop")  # pins fastapi>=0.115 in its pyproject
    result = check_paths([tmp_path / "shop" / "shop" / "api" / "routes.py"])
    [bgt009] = [d.message for d in result.diagnostics if d.code == "BGT009"]
    assert "`fastapi>=0.115` (pyproject.toml) allows those versions" in bgt009


def test_packages_below_the_project_root_resolve_as_python_finds_them(cli, tmp_path):
    # `backend/` has no __init__.py: it is where `app` is imported from.
    (tmp_path / "pyproject.toml").write_text("")
    app = tmp_path / "backend" / "app"
    app.mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "tasks.py").write_text("import time\nasync def job():\n    time.sleep(1)\n")
    (app / "routes.py").write_text(
        "from fastapi import BackgroundTasks\nfrom app.tasks import job\n"
        "def route(bt: BackgroundTasks):\n    bt.add_task(job)\n"
    )
    [(f, row, code, message)] = findings(cli, tmp_path, "backend/app/routes.py")
    assert (f, row, code) == ("backend/app/tasks.py", 3, "BGT003")
    assert "job → time.sleep" in message


def test_texts_are_kept_only_for_files_that_can_matter(tmp_path, monkeypatch):
    """A run drops the text of a file no rule can report on once it is
    screened (a tree's texts would fill memory), and reads a task's module
    again when another file submits a task defined there."""
    from bgtask_lint.config.settings import SettingsResolver
    from bgtask_lint.run import runner
    from bgtask_lint.run.result import RunResult

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'shop'\n")
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "tasks.py").write_text(
        "import time\n\n\nasync def send(to):\n    time.sleep(1)\n"
    )
    (tmp_path / "shop" / "routes.py").write_text(
        "from fastapi import BackgroundTasks, FastAPI\n\nfrom shop.tasks import send\n\n"
        "app = FastAPI()\n\n\n@app.post('/')\ndef create(tasks: BackgroundTasks):\n"
        "    tasks.add_task(send, 'a')\n"
    )
    (tmp_path / "shop" / "unrelated.py").write_text("VALUE = 1\n")
    monkeypatch.chdir(tmp_path)
    result = RunResult()
    run = runner.Run(SettingsResolver(), result, None, 1, None)
    runner.discover_into(run, [tmp_path], False, None)
    run.execute()
    texts = {Path(f.key).name: f.text for f in run.files}
    assert texts["unrelated.py"] is None and texts["__init__.py"] is None
    assert texts["routes.py"] is not None and texts["tasks.py"] is not None  # read again
    assert [(Path(d.filename).name, d.code) for d in result.diagnostics] == [("tasks.py", "BGT003")]


AHEAD_ROUTES = """\
from fastapi import APIRouter, BackgroundTasks, Depends

from app.deps import current_user, get_db
from app.jobs import refresh

router = APIRouter()


@router.post("/refresh")
async def start(tasks: BackgroundTasks, db=Depends(get_db)):
    tasks.add_task(refresh, db)
    return {}


@router.get("/me")
async def me(user=Depends(current_user)):
    return {"user": user}
"""

AHEAD_MODULES = {
    "deps.py": (
        "from fastapi import BackgroundTasks\nfrom sqlalchemy.orm import sessionmaker\n\n"
        "SessionLocal = sessionmaker()\n\n\n"
        "def get_db():\n    db = SessionLocal()\n    try:\n        yield db\n"
        "    finally:\n        db.close()\n\n\n"
        "def current_user(tasks: BackgroundTasks):\n    return 'user'\n\n\n"
        "def unrelated():\n    return 1\n"
    ),
    "jobs.py": "from app.util import slow\n\n\nasync def refresh(user):\n    slow(user)\n",
    "util.py": (
        "import time\n\n\ndef slow(user):\n    time.sleep(1)\n\n\ndef other():\n    return 2\n"
    ),
}


def test_resolving_ahead_parses_what_the_check_follows_first_and_changes_nothing(
    tmp_path, monkeypatch
):
    """Model.resolve_ahead (a worker's, while the others index): the route's
    dependency and what the submitted task calls are parsed then, and the
    module's findings afterwards are those of a check without it."""
    from bgtask_lint.engine.check import check_text

    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    for name, text in AHEAD_MODULES.items():
        (tmp_path / "app" / name).write_text(text)
    routes = tmp_path / "app" / "routes.py"
    routes.write_text(AHEAD_ROUTES)
    parsed: list[str] = []
    original = Project._parse

    def recording(self, text, path):  # type: ignore[no-untyped-def]
        parsed.append(Path(path).name)
        return original(self, text, path)

    monkeypatch.setattr(Project, "_parse", recording)
    findings = []
    for ahead in (False, True):
        project = Project(tmp_path)
        project.checked = {str(routes)}
        model = project.model_for_text(routes, AHEAD_ROUTES)
        assert model is not None
        if ahead:
            parsed.clear()
            model.resolve_ahead()
            assert sorted(parsed) == ["deps.py", "jobs.py", "util.py"]
        codes = frozenset({"BGT003", "BGT005", "BGT009"})
        findings.append(check_text(AHEAD_ROUTES, str(routes), codes, project=project))
    assert findings[0] == findings[1]
    assert [d.code for d in findings[0]] == ["BGT009"], findings[0]


SERVERLESS_APP = {
    "app/__init__.py": "",
    "app/routes.py": (
        "from fastapi import APIRouter, BackgroundTasks\n"
        "router = APIRouter()\n"
        "def send(x: int) -> None: ...\n"
        "@router.post('/a')\n"
        "def a(tasks: BackgroundTasks):\n"
        "    tasks.add_task(send, 1)\n"
        "    return {}\n"
        "@router.post('/b')\n"
        "def b(tasks: BackgroundTasks):\n"
        "    tasks.add_task(send, 2)\n"
        "    return {}\n"
    ),
    "app/main.py": (
        "from fastapi import FastAPI\n"
        "from app.routes import router\n"
        "app = FastAPI()\n"
        "app.include_router(router)\n"
    ),
    "handler.py": "from mangum import Mangum\nfrom app.main import app\nhandler = Mangum(app)\n",
    # Another app of the same repository, served by uvicorn: not the Lambda's.
    "worker/__init__.py": "",
    "worker/server.py": (
        "from fastapi import BackgroundTasks, FastAPI\n"
        "app = FastAPI()\n"
        "@app.post('/w')\n"
        "def w(tasks: BackgroundTasks):\n"
        "    tasks.add_task(print, 1)\n"
    ),
}


def test_serverless_entry_is_reported_whichever_file_is_checked(cli, tmp_path):
    """BGT015 is a project's question: `Mangum(app)` in handler.py, the
    routes two imports away. Checked whole, handler alone, or a route
    module alone (pre-commit), the one finding is at the Mangum call and
    counts the routes the handler's app reaches, not the other app's."""
    (tmp_path / ".git").mkdir()
    for name, text in SERVERLESS_APP.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    for paths in (["."], ["handler.py"], ["app/routes.py"]):
        reported = [f for f in findings(cli, tmp_path, *paths) if f[2] == "BGT015"]
        assert [(f, row) for f, row, _, _ in reported] == [("handler.py", 3)], paths
        assert reported[0][3].startswith("2 routes queue background tasks under Mangum")
        assert "`a` (app/routes.py:5)" in reported[0][3]
    # A module the handler does not lead to says nothing about it.
    assert findings(cli, tmp_path, "worker/server.py") == []
    assert findings(cli, tmp_path, "app/main.py") == []


STORES = FIXTURES / "projects" / "stores"


def test_a_chain_is_reported_the_same_whichever_file_on_it_is_checked(cli):
    """A task's session comes unannotated from the route (in a module that
    holds other definitions too), and a task awaits a helper of a third
    module that blocks: each finding is the same whether the route file,
    the task's module, the helper's module, the package or the whole tree is
    checked."""
    whole = findings(cli, STORES, ".")
    assert {(f, row, code) for f, row, code, _ in whole} == expected_in(STORES)
    chains = {
        ("stores/tasks.py", "BGT003"): ["stores/routes.py", "stores/tasks.py", "stores"],
        ("stores/search.py", "BGT003"): [
            "stores/routes.py",
            "stores/jobs.py",
            "stores/search.py",
            "stores",
        ],
    }
    for (where, code), checked in chains.items():
        [finding] = [f for f in whole if (f[0], f[2]) == (where, code)]
        for path in checked:
            assert finding in findings(cli, STORES, path), path
    [awaited] = [message for f, _, _, message in whole if f == "stores/search.py"]
    assert "refresh_index → reindex_store → time.sleep" in awaited


PROJECTS = sorted(p for p in (FIXTURES / "projects").iterdir() if p.is_dir())


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_each_project_reports_what_its_comments_expect(cli, project):
    """Every test package, checked whole, reports what its `# expect:`
    comments say and nothing else; checked alone, the file a finding is in
    reports it too."""
    whole = findings(cli, project, ".")
    assert {(f, row, code) for f, row, code, _ in whole} == expected_in(project)
    for where in sorted({f for f, _, _, _ in whole}):
        alone = findings(cli, project, where)
        assert [f for f in whole if f[0] == where] == [f for f in alone if f[0] == where], where


AWAITS_THE_TASK = "from app.tasks import job\nclass Runner:\n    async def go(self):\n"
AWAITS_ITS_OWN = "async def job():\n    pass\nclass Runner:\n    async def go(self):\n"


@pytest.mark.parametrize(
    ("caller", "fix"),
    [
        # A method of a class in another module awaits the task: making it
        # a `def` would break that `await`, so no fix is offered.
        (AWAITS_THE_TASK + "        await job()\n", None),
        # ... or through its module.
        ("from app import tasks\n" + AWAITS_ITS_OWN + "        await tasks.job()\n", None),
        # That module awaits a `job` of its own: the fix is offered (unsafe,
        # as code outside the project may call the task).
        (AWAITS_ITS_OWN + "        await job()\n", "unsafe"),
    ],
)
def test_a_task_awaited_in_another_module_gets_no_fix(cli, tmp_path, caller, fix):
    """The fix makes the task a `def`, which breaks any `await` of it.
    Whether another module calls it is read off that module's statements
    that call something of the name, and what they use, among unrelated
    code."""
    unrelated = "".join(f"def helper_{n}(x):\n    return x + {n}\n" for n in range(200))
    runner = unrelated + caller + unrelated.replace("helper", "more")
    result = check_task_project(cli, tmp_path, ("job",), runner)
    (finding,) = json.loads(result.stdout)
    applicability = finding["fix"]["applicability"] if finding["fix"] else None
    assert (finding["code"], applicability) == ("BGT003", fix)


def test_of_two_tasks_only_the_one_awaited_elsewhere_loses_its_fix(cli, tmp_path):
    """The modules of a project are read once for all the tasks of a module."""
    result = check_task_project(
        cli, tmp_path, ("job", "report"), AWAITS_THE_TASK + "        await job()\n"
    )
    fixes = {
        item["message"].split("`")[1]: item["fix"] and item["fix"]["applicability"]
        for item in json.loads(result.stdout)
    }
    assert fixes == {"job": None, "report": "unsafe"}


def check_task_project(cli, tmp_path, tasks, runner):
    """Check a package `app` whose route queues the blocking async `tasks`
    of app/tasks.py, beside app/runner.py holding `runner`."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    blocking = "".join(f"async def {name}():\n    requests.get('/')\n" for name in tasks)
    (package / "tasks.py").write_text("import requests\n" + blocking)
    (package / "routes.py").write_text(
        f"from fastapi import BackgroundTasks\nfrom app.tasks import {', '.join(tasks)}\n"
        "def route(bt: BackgroundTasks):\n"
        + "".join(f"    bt.add_task({name})\n" for name in tasks)
    )
    (package / "runner.py").write_text(runner)
    return cli("check", "--no-cache", "--output-format", "json", ".", cwd=tmp_path)
