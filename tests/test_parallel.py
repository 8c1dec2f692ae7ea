"""Worker processes give exactly what one process gives, checks and fixes."""

from __future__ import annotations

import shutil
import time

import pytest
from conftest import FIXTURES

from bgtask_lint.api import FixMode, check_paths
from bgtask_lint.run import parallel


@pytest.fixture
def pools(monkeypatch):
    """Counts the worker pools started, to prove the parallel path ran."""
    started = []
    real_init = parallel.Pool.__init__

    def counting_init(self, workers, *args):
        started.append(workers)
        real_init(self, workers, *args)

    monkeypatch.setattr(parallel.Pool, "__init__", counting_init)
    return started


def copy_fixtures(target):
    target.mkdir()
    for fixture in FIXTURES.glob("BGT*.py"):
        shutil.copy(fixture, target / fixture.name)
    shutil.copytree(FIXTURES / "projects" / "shop", target / "shop")
    return target


def summary(result):
    return [(d.filename, d.location, d.code, d.message, d.fix) for d in result.diagnostics]


def test_parallel_check_matches_one_process(tmp_path, pools):
    tree = copy_fixtures(tmp_path / "tree")
    one = check_paths([tree], workers=1)
    two = check_paths([tree], workers=2)
    assert pools == [2]
    assert not two.errors
    assert summary(two) == summary(one)
    assert len(one.diagnostics) > 50


def test_cross_module_tasks_across_workers(pools):
    # routes.py submits tasks defined in modules another worker may own.
    shop = FIXTURES / "projects" / "shop"
    one = check_paths([shop], workers=1)
    assert summary(check_paths([shop], workers=2)) == summary(one)


def test_parallel_fix_matches_one_process(tmp_path, pools):
    serial_tree = copy_fixtures(tmp_path / "serial")
    parallel_tree = copy_fixtures(tmp_path / "parallel")
    serial = check_paths([serial_tree], fix=FixMode(unsafe=True), workers=1)
    two = check_paths([parallel_tree], fix=FixMode(unsafe=True), workers=2)
    # Two workers in every pass (a second pass runs because fixes there change
    # which functions are submitted as tasks, see runner.settle_fixes).
    assert pools and set(pools) == {2}
    assert not two.errors
    assert two.fixed == serial.fixed and sum(serial.fixed.values()) > 20
    for fixed in serial_tree.rglob("*.py"):
        twin = parallel_tree / fixed.relative_to(serial_tree)
        assert twin.read_text() == fixed.read_text(), fixed.name


def test_falls_back_to_one_process_when_workers_cannot_start(tmp_path, monkeypatch):
    tree = copy_fixtures(tmp_path / "tree")
    expected = summary(check_paths([tree], workers=1))

    def no_processes(self, workers, *args):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(parallel.Pool, "__init__", no_processes)
    result = check_paths([tree], workers=2)
    assert not result.errors
    assert summary(result) == expected


@pytest.mark.parametrize(
    "where",
    ["handle", "read"],  # any request (the first are reads), or only the reading
)
def test_a_failing_worker_is_reported_once_and_the_run_goes_on(tmp_path, monkeypatch, where):
    from bgtask_lint.run import workers

    tree = copy_fixtures(tmp_path / "tree")
    expected = summary(check_paths([tree], workers=1))

    def broken(self, request):
        raise ValueError("a bug in the worker")

    monkeypatch.setattr(workers.WorkerState, where, broken)
    result = check_paths([tree], workers=2)
    assert result.errors == [
        "a worker process failed (RuntimeError: ValueError: a bug in the worker); "
        "the run went on in one process (please report this)"
    ]
    assert summary(result) == expected


def test_messages_do_not_depend_on_the_hash_seed(tmp_path):
    import os
    import subprocess
    import sys

    shop = FIXTURES / "projects" / "shop"
    outputs = set()
    for seed in ("0", "1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "BGTASK_LINT_NO_CACHE": "1"}
        run = subprocess.run(
            [sys.executable, "-m", "bgtask_lint", "check", "--output-format", "json", str(shop)],
            capture_output=True,
            env=env,
        )
        outputs.add(run.stdout)
    assert len(outputs) == 1


class _Sleeper:
    """A worker state whose answer to an item is the worker's own pid, after
    sleeping the item's number of seconds."""

    def __init__(self, parent: int) -> None:
        pass

    def handle(self, item: float) -> int:
        import os
        import time

        time.sleep(item)
        return os.getpid()


@pytest.mark.parametrize(
    ("owned", "first", "second"),
    [
        # Worker 0 is held up by its first item; worker 1 has one of its own,
        # then takes the largest left from the front of worker 0's queue.
        (False, [0.6], [0.04, 0.03, 0.02, 0.01]),
        # Items whose worker holds their model (moving one costs a parse):
        # taken from the end, and the last one is left to its worker.
        (True, [0.6, 0.03], [0.04, 0.01, 0.02]),
    ],
    ids=["any item", "owned items"],
)
def test_a_worker_that_runs_out_takes_from_the_other(owned, first, second):
    pool = parallel.Pool(2, _Sleeper)
    answered: dict[int, list[float]] = {0: [], 1: []}
    queues = [[0.6, 0.03, 0.02, 0.01], [0.04]]
    try:
        pool.work_through(
            queues,
            lambda worker, item: item,
            lambda worker, item, pid: answered[worker].append(item),
            owned=lambda item: owned,
        )
    finally:
        pool.close()
    assert answered == {0: first, 1: second}
    assert queues == [[], []]


def test_a_worker_with_nothing_left_to_take_is_sent_the_idle_request_once():
    """work_through's `idle`: the worker that runs out while the other is
    busy gets it once, the last to finish does not; the phase does not wait
    for it, and the worker's next answer is its next item's, not the idle
    request's."""
    pool = parallel.Pool(2, _Sleeper)
    answered: dict[int, list[float]] = {0: [], 1: []}
    idled: list[int] = []

    def idle(worker: int) -> float:
        idled.append(worker)
        return 0.4  # outlasts the other's item

    try:
        start = time.perf_counter()
        pool.work_through(
            [[0.1], [0.01]],
            lambda worker, item: item,
            lambda worker, item, pid: answered[worker].append(item),
            idle=idle,
        )
        phase = time.perf_counter() - start
        pool.work_through(
            [[0.01], [0.02]],
            lambda worker, item: item,
            lambda worker, item, pid: answered[worker].append(item),
        )
        both = time.perf_counter() - start
    finally:
        pool.close()
    assert answered == {0: [0.1, 0.01], 1: [0.01, 0.02]}
    assert idled == [1]  # once, when it had nothing left and worker 0 was busy
    assert phase < 0.3 <= both  # worker 1 took its next item after the idle work


class _SlowFirst(_Sleeper):
    """A sleeper of which the first worker to start takes a while to start
    (and writes its pid to `marker`)."""

    marker = ""

    def __init__(self, parent: int) -> None:
        import os

        try:
            descriptor = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(descriptor, str(os.getpid()).encode())
        os.close(descriptor)
        time.sleep(0.3)


def test_the_largest_item_goes_to_the_first_worker_ready(tmp_path):
    """A worker is sent its first item once it says it is ready (a worker
    imports libcst first): the one ready first takes the largest, even from
    the other's queue."""
    _SlowFirst.marker = str(tmp_path / "started")
    pool = parallel.Pool(2, _SlowFirst)
    by_pid: dict[int, list[float]] = {}
    try:
        pool.work_through(
            [[0.2, 0.01, 0.02], []],  # one package: every file in one queue
            lambda worker, item: item,
            lambda worker, item, pid: by_pid.setdefault(pid, []).append(item),
        )
    finally:
        pool.close()
    slow = int((tmp_path / "started").read_text())
    (fast,) = set(by_pid) - {slow}
    assert by_pid[fast][0] == 0.2


def test_files_read_on_workers_give_what_reading_here_gives(tmp_path, pools, monkeypatch):
    """Reading, decoding and screening on workers (a chunk of files each):
    the same files kept, the same errors in the same order."""
    tree = copy_fixtures(tmp_path / "tree")
    (tree / "latin.py").write_bytes(b"x = '\xe9'\n")  # not UTF-8, no cookie
    (tree / "big.py").write_text("from fastapi import BackgroundTasks\n" + "x = 1\n" * 3000)
    (tree / "pyproject.toml").write_text('[tool.bgtask-lint]\nmax-file-size = "16KiB"\n')
    for index in range(parallel.MIN_PARALLEL_READS // 10):
        (tree / f"plain_{index}.py").write_text(f"VALUE = {index}\n")
    one = check_paths([tree], workers=1)
    pools.clear()
    from bgtask_lint.run import runner

    read_here = []
    real_read = runner.Run._read

    def recording(self, file, *, keep=False):
        if not keep:  # keep: a task's module read again, always here
            read_here.append(file.key)
        return real_read(self, file, keep=keep)

    monkeypatch.setattr(runner.Run, "_read", recording)
    two = check_paths([tree], workers=2)
    assert pools == [2]  # one pool, read with and kept for the parse
    assert read_here == []
    assert summary(two) == summary(one)
    errors = [d.filename.rsplit("/", 1)[-1] for d in one.diagnostics if d.code.startswith("BGT9")]
    assert sorted(errors) == ["big.py", "latin.py"]


def test_shares_keep_a_package_together_and_go_largest_first():
    from types import SimpleNamespace

    files = [
        SimpleNamespace(key=key, text="x" * size)
        for key, size in [("a/1", 10), ("a/2", 30), ("b/1", 25), ("c/1", 5), ("a/3", 20)]
    ]
    shares = parallel.share(files, 2, lambda f: f.key.split("/")[0])
    # Package a (60) to one worker, b and c (30) to the other; each in size order.
    assert shares == [[1, 4, 0], [2, 3]]


@pytest.mark.skipif(not parallel.FORKS, reason="workers are spawned here")
def test_small_runs_fork_workers_only_from_a_process_without_other_threads(monkeypatch):
    import threading
    from types import SimpleNamespace

    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    files = [SimpleNamespace(text="x = 1\n"), SimpleNamespace(text="y = 2\n")]
    assert parallel.worker_count(files, None) == 2
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert parallel.worker_count(files, None) == 1
    finally:
        stop.set()
        other.join()


def test_a_ctrl_c_while_workers_start_is_raised_once_they_have_started():
    """It used to be ignored while they started, and the run went on."""
    import os
    import signal

    # Python's own handler, even when pytest was started with SIGINT ignored.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), parallel._ctrl_c_held_back():
            os.kill(os.getpid(), signal.SIGINT)  # handled before the next line
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)
