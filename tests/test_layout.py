"""Fixes write what ruff format and isort would: imports in their sorted
place, signatures and calls wrapped to the project's line length."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from bgtask_lint.api import FixMode, check_paths


def fixed(tmp_path, source: str, *, unsafe: bool = False, config: str = "") -> str:
    (tmp_path / "pyproject.toml").write_text(config)
    path = tmp_path / "app.py"
    path.write_text(textwrap.dedent(source))
    check_paths([path], fix=FixMode(unsafe=unsafe))
    return path.read_text()


def ruff_accepts(tmp_path, text: str, *args: str) -> bool:
    path = tmp_path / "check.py"
    path.write_text(text)
    command = [sys.executable, "-m", "ruff", *args, str(path)]
    return subprocess.run(command, capture_output=True, cwd=tmp_path).returncode == 0


SLEEPING_TASK = """\
    import os
    import time

    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()


    async def task():
        time.sleep(1)
        print(os.getcwd())


    @app.post("/")
    def route(background_tasks: BackgroundTasks):
        background_tasks.add_task(task)
"""


def test_a_standard_library_import_goes_into_its_section_sorted(tmp_path):
    text = fixed(tmp_path, SLEEPING_TASK)
    assert text.startswith("import asyncio\nimport os\n\nfrom fastapi import")
    assert ruff_accepts(tmp_path, text, "check", "--select", "I,F401")


def test_a_new_section_is_set_off_by_a_blank_line(tmp_path):
    source = """\
        from fastapi import BackgroundTasks, FastAPI

        app = FastAPI()


        async def task():
            import time

            time.sleep(1)


        @app.post("/")
        def route(background_tasks: BackgroundTasks):
            background_tasks.add_task(task)
    """
    text = fixed(tmp_path, source)
    assert text.startswith("import asyncio\n\nfrom fastapi import BackgroundTasks, FastAPI\n")
    assert ruff_accepts(tmp_path, text, "check", "--select", "I,F401")


@pytest.mark.parametrize(
    "imports, expected",
    [
        (
            "from fastapi import Depends, FastAPI",
            "from fastapi import BackgroundTasks, Depends, FastAPI",
        ),
        (
            "from fastapi import (\n    Depends,\n    FastAPI,\n)",
            "from fastapi import (\n    BackgroundTasks,\n    Depends,\n    FastAPI,\n)",
        ),
        (
            "from fastapi import FastAPI, status",
            "from fastapi import BackgroundTasks, FastAPI, status",
        ),
        # Not in isort's order: appended, as before.
        (
            "from fastapi import FastAPI, Depends",
            "from fastapi import FastAPI, Depends, BackgroundTasks",
        ),
    ],
)
def test_an_added_name_takes_its_sorted_place(tmp_path, imports, expected):
    source = (
        imports
        + "\nfrom starlette.background import BackgroundTask\n"
        + "\napp = FastAPI()\n\n\n@app.post('/')\ndef route(tasks: BackgroundTask):\n"
        + "    tasks.add_task(print)\n"
    )
    assert fixed(tmp_path, source).startswith(expected + "\n\napp = FastAPI()")


def test_a_third_party_module_goes_after_its_parent_package(tmp_path):
    source = """\
        from fastapi import BackgroundTasks, FastAPI, HTTPException

        app = FastAPI()


        @app.post("/")
        def route(tasks: BackgroundTasks):
            tasks.add_task(print)
            raise HTTPException(status_code=409, detail="no")
    """
    text = fixed(tmp_path, source, unsafe=True)
    # HTTPException, unused once the raise is gone, goes too.
    assert text.startswith(
        "from fastapi import BackgroundTasks, FastAPI\nfrom fastapi.responses import JSONResponse\n"
    )
    assert ruff_accepts(tmp_path, text, "check", "--select", "I,F401")


LONG_ROUTE = """\
    from fastapi import BackgroundTasks, FastAPI

    app = FastAPI()


    @app.post("/")
    def a_route_with_a_long_name(first_parameter: str, second_parameter: int):
        tasks = BackgroundTasks()
        tasks.add_task(print)
"""


def test_the_signature_wraps_at_the_default_line_length(tmp_path):
    text = fixed(tmp_path, LONG_ROUTE)
    assert "def a_route_with_a_long_name(\n    first_parameter: str," in text
    assert ruff_accepts(tmp_path, text, "format", "--check")


def test_the_signature_wraps_at_the_projects_line_length(tmp_path):
    text = fixed(tmp_path, LONG_ROUTE, config="[tool.ruff]\nline-length = 120\n")
    flat = "def a_route_with_a_long_name(first_parameter: str, second_parameter: int, tasks: Back"
    assert flat in text
    assert ruff_accepts(tmp_path, text, "format", "--check")


@pytest.mark.parametrize(
    "signature",
    [
        'def a_rather_long_route_name(first_value: int, /, second_value: str = "")',
        'def a_rather_long_route_name(*names: str, first_value: int, second_value: str = "")',
        "async def a_rather_long_route_name(first_value: int, **extra_arguments: str)",
    ],
    ids=["positional-only", "star-args", "star-kwargs"],
)
def test_awkward_signatures_wrap_and_still_compile(tmp_path, signature):
    source = (
        "from fastapi import BackgroundTasks, FastAPI\n\napp = FastAPI()\n\n\n"
        f'@app.post("/")\n{signature}:\n'
        "    tasks = BackgroundTasks()\n    tasks.add_task(print)\n"
    )
    assert ruff_accepts(tmp_path, source, "format", "--check")  # the input is formatted
    text = fixed(tmp_path, source)
    compile(text, "app.py", "exec")
    assert "tasks = BackgroundTasks()" not in text
    assert ruff_accepts(tmp_path, text, "format", "--check")
