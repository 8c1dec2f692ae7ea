"""What a yield dependency's teardown can close (analysis/teardown.py).

Each case is a dependency's rows."""

import libcst as cst
import pytest

from bgtask_lint.analysis.builder import build_model
from bgtask_lint.analysis.teardown import closes_on_teardown

CLOSES = {
    "finally": ("def d():", "    try:", "        yield s", "    finally:", "        s.close()"),
    "with": ("def d():", "    with make() as s:", "        yield s"),
    "async with": ("async def d():", "    async with make() as s:", "        yield s"),
    "after": ("def d():", "    yield s", "    s.close()"),
    "after the if": (
        "def d(x):",
        "    if x:",
        "        yield s",
        "    else:",
        "        yield t",
        "    s.close()",
    ),
    "after the try": (
        "def d():",
        "    try:",
        "        yield s",
        "    except E:",
        "        raise",
        "    s.commit()",
    ),
    "awaited": ("async def d():", "    yield s", "    await s.aclose()"),
    "a match arm": (
        "def d(x):",
        "    match x:",
        "        case 1:",
        "            yield s",
        "    s.close()",
    ),
    "same line": ("def d():", "    yield s; s.close()"),
    "assigned": ("def d():", "    got = yield s", "    s.close()"),
}
CLOSES_NOTHING = {
    "nothing after": ("def d():", "    yield CLIENT"),
    "only logs": ("def d():", "    yield s", "    logger.info('done')", "    print('x')"),
    "bare return": ("def d():", "    yield s", "    return"),
    "a finally that sets a flag": (
        "def d():",
        "    try:",
        "        yield state",
        "    finally:",
        "        state['done'] = f'finished {state[0]}'",
    ),
    "sets a flag": ("def d():", "    yield state", "    state['done'] = True", "    n = 1"),
    "plain data": ("def d():", "    yield {'debug': True, 'n': -1}", "    s.close()"),
    "a nested yield": (
        "def d():",
        "    def inner():",
        "        yield s",
        "    s.close()",
        "    return inner",
    ),
    "no yield": ("def d():", "    with make() as s:", "        return s"),
    "except only": (
        "def d():",
        "    try:",
        "        yield s",
        "    except E:",
        "        s.rollback()",
    ),
}


def closes(rows: tuple[str, ...]) -> bool:
    model = build_model(cst.parse_module("\n".join(rows) + "\n"), "deps.py")
    return closes_on_teardown(model.module_functions["d"])


@pytest.mark.parametrize("source", CLOSES.values(), ids=CLOSES)
def test_teardowns_that_can_close(source):
    assert closes(source)


@pytest.mark.parametrize("source", CLOSES_NOTHING.values(), ids=CLOSES_NOTHING)
def test_teardowns_that_close_nothing(source):
    assert not closes(source)
