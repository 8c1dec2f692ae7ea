"""Outlines: only the definitions a question leads to are kept, rows stay."""

from __future__ import annotations

from bgtask_lint.analysis.outline import outline

MODULE = """\
import os

from .db import engine

LIMIT = compute_limit()


def compute_limit():
    return int(os.environ.get("LIMIT", "10"))


def send(to):
    return render(to)


def render(to):
    return f"hi {to}"


@router.get("/")
def unrelated_route():
    return {"a": 1}


class Mailer:
    def run(self):
        return send("x")
"""


def test_the_definitions_a_name_leads_to_are_kept():
    text = outline(MODULE, ("send",))
    assert text is not None
    assert "def send(to):" in text and "def render(to):" in text
    assert "unrelated_route" not in text and "class Mailer" not in text
    assert "def compute_limit" not in text  # a module-level statement uses it, not `send`
    # Every row stays where it was.
    assert len(text.splitlines()) == len(MODULE.splitlines())
    original = MODULE.splitlines()
    for row, line in enumerate(text.splitlines()):
        assert line in ("", original[row])


def test_a_global_leads_to_what_its_value_uses():
    text = outline(MODULE, ("LIMIT",))
    assert text is not None
    assert "def compute_limit():" in text and "def send" not in text
    text = outline(MODULE, ("Mailer",))
    assert text is not None
    assert "class Mailer:" in text and "def send(to):" in text and "def render" in text


def test_imports_stay_and_other_statements_when_they_bind_what_is_asked():
    text = outline(MODULE, ("render",))
    assert text is not None
    assert "import os" in text and "from .db import engine" in text
    assert "LIMIT = compute_limit()" not in text  # `render` does not lead to it
    text = outline(MODULE, ("LIMIT",))
    assert text is not None and "LIMIT = compute_limit()" in text


def test_rows_are_counted_as_pythons_parser_counts_them():
    """A form feed inside a string is not a row break (str.splitlines makes
    it one), and a row two statements share stays whole."""
    source = (
        'NOTE = "a\fb"\nx = 1; keep = 2\n\n\n'
        "def dropped():\n    pass\n\n\ndef kept():\n    return keep\n"
    )
    text = outline(source, ("kept",))
    assert text is not None
    assert text.splitlines()[1] == "x = 1; keep = 2"
    assert "def dropped" not in text and "def kept" in text and "NOTE" not in text
    assert len(text.split("\n")) == len(source.split("\n"))
    compile(text, "outline.py", "exec")


def test_unparsable_text_gives_none():
    assert outline("def broken(:\n", ("x",)) is None


def test_a_module_is_outlined_once_and_an_outline_answers_what_it_holds(tmp_path, monkeypatch):
    """Project._outline_model: Python's parser reads the module once; a model
    parsed for `Mailer` (which leads to `send` and `render`) answers `send`
    too; `unrelated_route` needs a model of its own."""
    from bgtask_lint.analysis import outline as outline_module
    from bgtask_lint.analysis.project import Project

    (tmp_path / "mail.py").write_text(MODULE)
    reads = []
    original = outline_module.Outline.of
    monkeypatch.setattr(
        outline_module.Outline, "of", lambda text: reads.append(1) or original(text)
    )
    project = Project(tmp_path)
    path = tmp_path / "mail.py"
    mailer = project.outline_model(path, "Mailer")
    assert mailer is not None and "Mailer" in mailer.classes
    assert project.outline_model(path, "send") is mailer
    assert project.outline_model(path, "render") is mailer
    route = project.outline_model(path, "unrelated_route")
    assert route is not None and route is not mailer
    assert "unrelated_route" in route.module_functions and "send" not in route.module_functions
    assert reads == [1]


CONTEXT_MODULE = """\
from fastapi import APIRouter

from app import handlers
from app.util import slugify

router = APIRouter()


def helper(db):
    return handlers.process(db)


def lazy(db):
    from app.handlers import process

    return process(db)


class Service:
    def run(self, db):
        return helper(db)


@router.post("/a")
def through_a_class(db):
    return Service().run(db)


@router.post("/b")
def through_a_nested_import(db):
    return lazy(db)


@router.post("/c")
def unrelated(db):
    return slugify(db)
"""


def test_the_parts_reaching_an_import_are_those_calling_into_it_in_turn():
    """Outline.reaching: from the statements holding an import of a module,
    to every statement whose calls can go through them; not `unrelated`."""
    from bgtask_lint.analysis.outline import Outline

    found = Outline.of(CONTEXT_MODULE)
    assert found is not None
    seeds = {
        index
        for index, part in enumerate(found.parts)
        if any(base in ("app", "app.handlers") for base, _ in part.imports)
    }
    text = found.keeping(found.reaching(seeds))
    kept = {line.split("(")[0] for line in text.splitlines() if line.startswith(("def", "class"))}
    assert kept == {
        "def helper",
        "def lazy",
        "class Service:",
        "def through_a_class",
        "def through_a_nested_import",
    }
    assert "router = APIRouter()" in text  # the kept routes' decorators use it
    assert len(text.splitlines()) == len(CONTEXT_MODULE.splitlines())


FORWARDING = """\
from .orders import OrderHandler, Other as Renamed
import app.services
Handler = OrderHandler
Wrapped = (
    app.services.Mailer
)
Table = ChatTable()
Double = Single = OrderHandler
Sum = OrderHandler + 1
Called = make()  # Called = OrderHandler
if TYPE_CHECKING:
    Late = OrderHandler
"""


def test_may_forward_never_says_no_where_the_outline_says_yes():
    """may_forward answers Project._forwards from the text alone when it can
    only be no: it must agree with Outline.forwards whenever that says yes."""
    from bgtask_lint.analysis.imports import may_forward
    from bgtask_lint.analysis.outline import Outline

    found = Outline.of(FORWARDING)
    assert found is not None
    names = ("OrderHandler", "Renamed", "app", "Handler", "Wrapped", "Table", "Called", "Sum")
    for name in (*names, "Double", "Late", "Missing"):
        if found.forwards(name):
            assert may_forward(FORWARDING, name), name
    assert all(found.forwards(name) for name in names[:5])
    assert not may_forward(FORWARDING, "Table")  # a call: no parse needed to tell
    assert not may_forward(FORWARDING, "Called")
    assert not may_forward(FORWARDING, "Sum")
    assert not may_forward(FORWARDING, "Missing")


def test_an_outline_answer_is_remembered_with_the_files_it_read(tmp_path):
    """Project._outline_model answers a question once, and each later ask
    still records the files the answer read (the cache depends on them):
    here the module that queues the task, which makes `mail` a service."""
    from bgtask_lint.analysis.project import Project

    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "notify.py").write_text(
        "def later(tasks, to):\n    tasks.add_task(print, to)\n"
    )
    (tmp_path / "app" / "mail.py").write_text(
        "from app import notify\n\n\ndef send(tasks, to):\n    return notify.later(tasks, to)\n"
        "\n\ndef unrelated():\n    return 1\n"
    )
    project = Project(tmp_path)
    path = tmp_path / "app" / "mail.py"
    with project.only_modules_mentioning(("add_task",)):
        first = project.track_consulted()
        send = project.outline_model(path, "send")
        again = project.track_consulted()
        assert project.outline_model(path, "send") is send
    assert send is not None and "send" in send.module_functions
    assert str(tmp_path / "app" / "notify.py") in first
    assert again == first
