"""Imports a fix leaves unused are removed, and only those."""

from __future__ import annotations

from bgtask_lint.engine.tidy import drop_imports_left_unused


def tidy(original: str, fixed: str, filename: str = "app.py") -> str:
    return drop_imports_left_unused(original, fixed, filename)


def test_an_import_only_the_fixed_code_used_goes():
    head = '"""Doc."""\n\nimport asyncio\nimport time\n\n\nasync def f():\n'
    original = head + "    time.sleep(1)\n"
    fixed = head + "    await asyncio.sleep(1)\n"
    assert tidy(original, fixed) == (
        '"""Doc."""\n\nimport asyncio\n\n\nasync def f():\n    await asyncio.sleep(1)\n'
    )


def test_one_name_of_a_from_import_goes_and_the_layout_stays():
    original = "from asyncio import create_task, gather\nx = create_task\ny = gather\n"
    fixed = "from asyncio import create_task, gather\nx = 1\ny = gather\n"
    assert tidy(original, fixed) == "from asyncio import gather\nx = 1\ny = gather\n"
    original = "from m import (\n    a,\n    b,\n)\nuse(a, b)\n"
    fixed = "from m import (\n    a,\n    b,\n)\nuse(b)\n"
    # `a` on a continuation line counts as a mention: kept (safe, if not tidy).
    assert tidy(original, fixed) == fixed


def test_what_is_still_mentioned_or_was_unused_before_stays():
    original = "import time\nimport os\nimport sys\ntime.sleep(1)\nsys.exit()\n"
    fixed = 'import time\nimport os\nimport sys\nx: "time.struct_time"\nsys.exit()\n'
    # `time` is still named (a string annotation); `os` was unused already.
    assert tidy(original, fixed) == fixed


def test_init_modules_keep_their_imports():
    original = "from .core import run\nrun()\n"
    fixed = "from .core import run\n"
    assert tidy(original, fixed, "pkg/__init__.py") == fixed
    assert tidy(original, fixed, "pkg/mod.py").strip() == ""


def test_the_opening_comment_and_a_comment_above_a_removed_import_stay():
    original = "# Copyright\nimport time\n\nimport os\n# for the clock\nimport sys\nos, sys, time\n"
    fixed = "# Copyright\nimport time\n\nimport os\n# for the clock\nimport sys\nos\n"
    assert tidy(original, fixed) == "# Copyright\nimport os\n# for the clock\nos\n"


def test_semicolons_and_aliases():
    original = "import time as t; import os\nt.sleep(1); os.getcwd()\n"
    fixed = "import time as t; import os\nos.getcwd()\n"
    assert tidy(original, fixed) == "import os\nos.getcwd()\n"


def test_an_import_in_a_function_goes_and_an_emptied_block_gets_pass():
    original = "def f():\n    import time\n\n    time.sleep(1)\n\n\ndef g():\n    import os\n"
    fixed = "def f():\n    import time\n\n    pass\n\n\ndef g():\n    import os\n"
    assert tidy(original, fixed) == "def f():\n    pass\n\n\ndef g():\n    import os\n"


def test_a_fix_that_leaves_other_mentions_of_an_import_needs_no_parse():
    from bgtask_lint.engine.tidy import may_leave_imports_unused, mention_counts

    text = "import time\n\n\nasync def f():\n    time.sleep(1)\n    time.sleep(2)\n"
    removed, written = ["time.sleep(1)"], ["await asyncio.sleep(1)"]
    imported = frozenset({"time", "asyncio"})
    mentions = mention_counts(text)
    assert mentions["time"] == 2  # the import itself is not a mention
    # One of two calls fixed: `import time` still has a use, nothing to tidy.
    assert not may_leave_imports_unused(removed, written, imported, mentions)
    # The last one: the import may now be unused.
    last = mention_counts("import time\n\n\nasync def f():\n    time.sleep(1)\n")
    assert may_leave_imports_unused(removed, written, imported, last)


def test_tidying_many_fixes_parses_the_file_a_bounded_number_of_times(monkeypatch):
    """A module with hundreds of fixable calls was parsed once per fix (20,000
    lines took 97 s); a fix that keeps other uses of its imports needs none."""
    from bgtask_lint.engine import fix, tidy
    from bgtask_lint.engine.check import check_text

    routes = "".join(
        f"async def job_{i}() -> None:\n    time.sleep(1)\n\n\n"
        f"@app.post('/t{i}')\nasync def route_{i}(tasks: BackgroundTasks):\n"
        f"    tasks.add_task(job_{i})\n\n\n"
        for i in range(60)
    )
    text = (
        "from fastapi import BackgroundTasks, FastAPI\nimport time\n\napp = FastAPI()\n\n\n"
        + routes
    )
    diagnostics = check_text(text, "app.py", frozenset({"BGT003"}))
    assert sum(d.fix is not None for d in diagnostics) >= 60
    parses = []
    real = tidy.drop_imports_left_unused

    def counted(original, fixed, filename):
        parses.append(filename)
        return real(original, fixed, filename)

    monkeypatch.setattr(fix, "drop_imports_left_unused", counted)
    fix.with_tidying(text, "app.py", diagnostics)
    assert len(parses) <= 2
