"""Properties that hold for every program, checked on generated ones (bounded,
part of the normal suite; bench/fuzz.py runs the same at scale):

- checking never raises and never reports an internal error;
- a program CPython compiles is never reported as unparsable (BGT900/BGT901);
- every fixed output compiles when its input did;
- fixing a fixed output changes nothing.
"""

from __future__ import annotations

import hypothesmith
import libcst
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgtask_lint.config.settings import ALL_CODES
from bgtask_lint.engine.fix import fix_text

CODES = frozenset(ALL_CODES)
# Generated programs are full of `1()` and the like: CPython warns, we don't care.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")


def bounded(examples: int) -> settings:
    """A fixed number of examples, no deadline (parsing is slow to start), no
    example database (the suite leaves nothing behind)."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )


def compiles(source: str) -> bool:
    try:
        compile(source, "generated.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def assert_properties(source: str) -> None:
    valid = compiles(source)
    for unsafe in (False, True):
        outcome = fix_text(source, "generated.py", CODES, screen=False, unsafe=unsafe)
        assert outcome.errors == [], outcome.errors
        if valid:
            assert not [d for d in outcome.remaining if d.code.startswith("BGT9")]
            assert compiles(outcome.text), outcome.text
        again = fix_text(outcome.text, "generated.py", CODES, screen=False, unsafe=unsafe)
        assert again.text == outcome.text, "a second fix changed the fixed output"


# -- programs from Python's grammar ------------------------------------------


# Slow: these take 15 to 25 s of the quick suite, nearly all of it
# hypothesmith generating programs (checking them is under a tenth). The
# full suite runs them; the quick one runs the background-task-shaped
# programs below.
@pytest.mark.slow
@bounded(300)
@given(hypothesmith.from_grammar())
def test_programs_from_the_grammar(source):
    assert_properties("from fastapi import BackgroundTasks\n" + source)


@pytest.mark.slow
@bounded(25)
@given(hypothesmith.from_node(libcst.Module))
def test_programs_from_libcst_nodes(source):
    assert_properties("from fastapi import BackgroundTasks\n" + source)


# -- programs built from the shapes background-task code takes ---------------

IMPORTS = st.sampled_from(
    [
        "from fastapi import BackgroundTasks, FastAPI\n",
        "from fastapi import BackgroundTasks as BT, FastAPI\nBackgroundTasks = BT\n",
        "import fastapi\nfrom fastapi import FastAPI\nBackgroundTasks = fastapi.BackgroundTasks\n",
        "from fastapi import FastAPI\n",  # BackgroundTasks imported at the bottom
        "from __future__ import annotations\nfrom fastapi import BackgroundTasks, FastAPI\n",
    ]
)
HEADER = (
    "import asyncio\nimport time\nfrom typing import Annotated, Optional\n"
    "from fastapi.responses import JSONResponse\n"
    "from starlette.background import BackgroundTask\n"
    "app = FastAPI()\n\n\ndef send(x=1):\n    pass\n\n\nasync def asend(x=1):\n    pass\n\n\n"
    "async def slow():\n    time.sleep(1)\n\n\n"
    "async def slow_in_class():\n    class Retry:\n        time.sleep(1)\n\n\n"
)
PARAMETERS = st.lists(
    st.sampled_from(
        [
            "q: int = 1",
            "q",
            "/",
            "*",
            "*args",
            "**kwargs",
            "bt: BackgroundTasks",
            'bt: "BackgroundTask"',
            "bt: Optional[BackgroundTasks] = None",
            "bt: Annotated[BackgroundTasks, 1]",
            "bt=BackgroundTasks()",
        ]
    ),
    max_size=4,
)
STATEMENTS = st.sampled_from(
    [
        "tasks = BackgroundTasks()",
        "tasks.add_task(send, 1)",
        "bt.add_task(slow)",
        "tasks.add_task(slow_in_class)",
        "bt.add_task(send(1))",
        "bt.add_task(lambda: asend(1))",
        "BackgroundTasks().add_task(send)",
        "time.sleep(1)",
        "return JSONResponse({}, background=BackgroundTask(send))",
        "return JSONResponse({}, background=BackgroundTasks().add_task(send))",
        "response = JSONResponse({})",
        "response.background = BackgroundTask(send, 1)",
        "class Retry:\n        time.sleep(0.1)",
        "if q:\n        time.sleep(1)\n    else:\n        bt.add_task(send)",
        "x = 1; tasks.add_task(send)",
        "return {}",
        "pass",
    ]
)
DECORATORS = st.sampled_from(["@app.post('/')\n", "@app.get('/', status_code=200)\n", ""])


@st.composite
def route_modules(draw) -> str:
    source = draw(IMPORTS) + HEADER
    for index in range(draw(st.integers(1, 3))):
        asynchronous = draw(st.sampled_from(["async ", ""]))
        params = ", ".join(draw(PARAMETERS))
        body = draw(st.lists(STATEMENTS, min_size=1, max_size=5))
        source += draw(DECORATORS)
        source += f"{asynchronous}def route{index}({params}):\n"
        source += "".join(f"    {statement}\n" for statement in body) + "\n\n"
    if source.startswith("from fastapi import FastAPI\n"):
        source += "from fastapi import BackgroundTasks\n"
    return source


@bounded(250)
@given(route_modules())
def test_background_task_shaped_programs(source):
    assert_properties(source)
