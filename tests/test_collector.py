"""The cycle collector is paused for a run (run/collector.py) and left as the
caller had it."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from bgtask_lint import api
from bgtask_lint.run import files, runner, workers


@pytest.fixture
def collector_seen(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether the collector was on while each file was checked."""
    seen: list[bool] = []
    original = files.check_file

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(gc.isenabled())
        return original(*args, **kwargs)

    for module in (files, runner, workers):  # each calls it by the name it imported
        monkeypatch.setattr(module, "check_file", recording)
    return seen


SOURCE = "from fastapi import BackgroundTasks\n\ndef f():\n    BackgroundTasks()\n"


@pytest.mark.parametrize("enabled", [True, False])
def test_paused_during_a_run_of_paths_and_restored(
    tmp_path: Path, collector_seen: list[bool], enabled: bool
) -> None:
    (tmp_path / "app.py").write_text(SOURCE)
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        result = api.check_paths([tmp_path], workers=1)
        after = gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()
    assert [d.code for d in result.diagnostics] == ["BGT001"]
    assert collector_seen == [False]
    assert after is enabled


def test_paused_while_checking_stdin(tmp_path: Path, collector_seen: list[bool]) -> None:
    assert gc.isenabled()
    result = api.check_stdin(SOURCE.encode(), str(tmp_path / "app.py"))
    assert [d.code for d in result.diagnostics] == ["BGT001"]
    assert collector_seen == [False]
    assert gc.isenabled()


def test_what_the_run_made_is_not_left_for_the_first_collection_after() -> None:
    """The run's objects join the oldest generation when the collector is
    switched back on: left in the youngest, the first collections after the
    run would go over every one of them."""
    from bgtask_lint.run.collector import cycle_collector_paused

    was = gc.isenabled()
    gc.enable()
    try:
        with cycle_collector_paused():
            made = [[index] for index in range(50_000)]
        oldest = {id(item) for item in gc.get_objects(generation=2)}
    finally:
        (gc.enable if was else gc.disable)()
    assert id(made) in oldest and id(made[-1]) in oldest
