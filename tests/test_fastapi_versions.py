"""The version gates of BGT008 and BGT009, measured on real FastAPI releases.

Each version is installed with pip into a folder of its own and probed in a
fresh interpreter (bench/fastapi_versions.py): the gates in
config/versions.py must say what the releases do.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from bgtask_lint.config.versions import Pin, parse_version, tears_down_before_response

BENCH = Path(__file__).resolve().parent.parent / "bench" / "fastapi_versions.py"


def _bench():
    spec = importlib.util.spec_from_file_location("fastapi_versions", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


versions = _bench()


@pytest.mark.slow
@pytest.mark.parametrize("version", versions.VERSIONS)
def test_the_gates_say_what_each_release_does(version):
    try:
        found = versions.probe(version, versions.default_cache())
    except RuntimeError as error:
        if "cannot install" in str(error):
            pytest.skip(str(error))  # no package registry in reach
        raise
    assert found["fastapi"] == version
    release = parse_version(version)
    assert release is not None
    before = tears_down_before_response(Pin.exactly("fastapi", release, "the release"))
    # BGT008: a task added after `yield` runs only when teardown comes first.
    assert found["after-yield"] == ("yes" if before else "no")
    # BGT009: the dependency's value is still open in the task unless it does.
    assert found["open-in-task"] == ("no" if before else "yes")
    # `scope="function"` (0.121+) tears down first: the teardown's task runs.
    has_scope = release >= (0, 121)
    assert found["after-yield-function-scope"] == ("yes" if has_scope else "n/a")
