"""The directories a module puts on sys.path itself (analysis/search_path.py)."""

from __future__ import annotations

import os

import pytest

from bgtask_lint.analysis.search_path import added_to_search_path

FILE = os.path.join(os.sep, "repo", "backend", "server", "app.py")
SERVER = os.path.join(os.sep, "repo", "backend", "server")
BACKEND = os.path.join(os.sep, "repo", "backend")
REPO = os.path.join(os.sep, "repo")


@pytest.mark.parametrize(
    ("statement", "added"),
    [
        ("sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))", SERVER),
        (
            "sys.path.insert(0, os.path.abspath(os.path.dirname(os.path.dirname(__file__))))",
            BACKEND,
        ),
        ("sys.path.append(os.path.join(os.path.dirname(__file__), '..', '..'))", REPO),
        (
            "sys.path.append(os.path.realpath(os.path.join(os.path.dirname(__file__), '..')))",
            BACKEND,
        ),
        ("sys.path.insert(0, str(Path(__file__).parent))", SERVER),
        ("sys.path.insert(0, str(Path(__file__).resolve().parents[1]))", BACKEND),
        ("sys.path.append(str(pathlib.Path(__file__).parent.parent / 'server'))", SERVER),
        ("sys.path.append(os.fspath(Path(__file__).absolute().parents[2]))", REPO),
    ],
)
def test_a_directory_computed_from_the_file_is_added(statement, added):
    assert added_to_search_path(f"import os, sys\n{statement}\n", FILE) == (added,)


def test_names_blocks_and_order_are_followed():
    text = (
        "import sys\nfrom pathlib import Path\n"
        "HERE = Path(__file__).parent\nROOT = HERE.parent\n"
        "if str(ROOT) not in sys.path:\n    sys.path.insert(0, str(ROOT))\n"
        "try:\n    sys.path.append(str(HERE))\nexcept Exception:\n    pass\n"
        "sys.path.append(str(ROOT))\n"
    )
    assert added_to_search_path(text, FILE) == (BACKEND, SERVER)


@pytest.mark.parametrize(
    "text",
    [
        "import sys\nsys.path.append('lib')\n",  # relative to the working directory
        "import sys, os\nsys.path.append(os.getcwd())\n",
        "import sys, os\ndef setup():\n    sys.path.append(os.path.dirname(__file__))\n",
        "import sys, os\nsys.path.insert(os.path.dirname(__file__))\n",  # no index
        "import sys, os\nsys.path.append(os.path.dirname(__file__, 1))\n",
        "import sys, os\nsys.path.append(Path(__file__).parents[-1])\n",
        "import sys, os\nsys.path.append(os.path.dirname(__file__)  # unclosed\n",
        "import os\nPATH = os.path.dirname(__file__)\n",  # no sys.path at all
        "",
    ],
)
def test_nothing_else_is_taken_for_a_directory(text):
    assert added_to_search_path(text, FILE) == ()
