"""Both cores: the files that need a parse are shared among worker processes.

Reading thousands of files comes first: the workers read, decode and screen
them in chunks, and return the texts of those that can matter. Parsing with
libcst is nearly all of the rest of a run's time. Each worker starts with a
share of those files (a package's modules together, the largest packages
first): first each worker parses its files and reports the background tasks
they submit; the main process merges those into the project-wide index; then
each worker checks (and fixes) the files it parsed, whose models it keeps,
with that index. A worker that runs out of files in either phase takes the
last ones of another (one file can cost a second of following values into
other modules: it cannot be known before), parsing them itself. A worker
that needs another module to follow a task parses it itself.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

Item = TypeVar("Item")

# Workers are forked where the system can: a forked worker starts in a few
# milliseconds with everything imported, and two files on two cores are
# done sooner than one after the other however small (measured: 2 files of
# 5 lines, 0.34 → 0.31 s; a pre-commit run of 5 route files, 1.43 → 1.12 s;
# each worker imports libcst while the main process gets the rest ready).
FORKS = hasattr(os, "fork")
# A spawned worker imports everything again: below this much source to
# parse, starting it costs more than it saves. So for a forked one from a
# process with other threads (an application calling the API): forking it
# is only safe enough when it pays.
MIN_SPAWNED_BYTES = 256 * 1024


def forks_cheaply() -> bool:
    """Whether workers start at little cost and risk: forked, from a process
    with no other thread (a thread holding a lock at the fork would leave it
    held in the child for good; Python 3.12 warns of it)."""
    return FORKS and threading.active_count() == 1 and may_start_workers()


def may_start_workers() -> bool:
    """Whether this process may start processes: not one of a
    multiprocessing pool's (flake8's -j workers are), which may have none.
    Such a process has imported multiprocessing; a run that starts no
    worker does not import it (a tenth of a warm pre-commit run)."""
    imported = sys.modules.get("multiprocessing")
    return imported is None or not imported.current_process().daemon


def worker_count(files: Sequence[Any], requested: Optional[int]) -> int:
    """How many workers to use for `files` (those that need a parse)."""
    if not may_start_workers():
        return 1
    if requested is not None:
        return max(1, min(requested, len(files)))
    if len(files) < 2:
        return 1
    if not forks_cheaply() and sum(len(f.text or "") for f in files) < MIN_SPAWNED_BYTES:
        return 1
    return max(1, min(os.cpu_count() or 1, len(files)))


# Below this many files to read, reading them in one process costs less than
# starting the workers (a file is read, decoded and screened in about 35 µs).
MIN_PARALLEL_READS = 2000


def reader_count(files: int, requested: Optional[int]) -> int:
    """How many workers to read `files` files with (1: read them here)."""
    if not may_start_workers():
        return 1
    if requested is not None:
        return max(1, min(requested, files))
    if files < MIN_PARALLEL_READS:
        return 1
    return max(1, os.cpu_count() or 1)


def share(
    files: Sequence[Any],
    workers: int,
    group: Callable[[Any], str] = lambda f: f.key,
    cost: Callable[[Any], int] = lambda f: len(f.text),
) -> list[list[int]]:
    """Indexes of `files` per worker: the files of one `group` together (a
    package's modules import each other, and each worker parses what its files
    import), the costliest groups first to the least loaded worker; each share
    costliest file first (a worker that runs out takes the last, cheapest).
    A file's `cost` is its size by default."""
    groups: dict[str, list[int]] = {}
    for index in range(len(files)):
        groups.setdefault(group(files[index]), []).append(index)
    loads = [0] * workers
    shares: list[list[int]] = [[] for _ in range(workers)]
    costs = [cost(file) for file in files]
    sizes = {key: sum(costs[i] for i in members) for key, members in groups.items()}
    for key in sorted(groups, key=lambda k: (-sizes[k], k)):
        target = loads.index(min(loads))
        shares[target].extend(groups[key])
        loads[target] += sizes[key]
    return [sorted(share, key=lambda i: (-costs[i], i)) for share in shares]


class Pool:
    """Long-lived workers, each answering requests on its own pipe.

    A worker ends when the main process goes: its pipe then reads as closed
    (each worker closes the main process's ends it inherited, or it would hold
    its own pipe open), and between two files it checks that its parent is
    still there. Ctrl-C is for the main process alone: it terminates the
    workers, each of which stops at a safe point (a file being written is
    finished first, see fixer.write_atomically)."""

    def __init__(self, workers: int, state: Callable[[int], Any]) -> None:
        """`state(parent_pid)` makes a worker's state, whose `handle(request)`
        answers each request."""
        import multiprocessing

        context = multiprocessing.get_context("fork" if FORKS else "spawn")
        self.connections: list[Connection] = []
        self.processes: list[Any] = []  # multiprocessing's Process of the context
        # The workers whose answer to an `idle` request is still to come, and
        # those that have not said they are ready yet (see work_through).
        self._idle_answers: set[int] = set()
        self._starting: set[int] = set()
        try:
            self._start(context, workers, state)
        except BaseException:  # Ctrl-C while they started: none is left behind
            self.close(abort=True)
            raise

    def _start(self, context: Any, workers: int, state: Callable[[int], Any]) -> None:
        with _ctrl_c_held_back():
            for _ in range(workers):
                ours, theirs = context.Pipe()
                inherited = [*self.connections, ours]
                process = context.Process(
                    target=_serve, args=(theirs, inherited, os.getpid(), state), daemon=True
                )
                process.start()
                theirs.close()
                self.connections.append(ours)
                self.processes.append(process)
                self._starting.add(len(self.connections) - 1)

    def work_through(
        self,
        queues: list[list[Item]],
        request: Callable[[int, Item], Any],
        answered: Callable[[int, Item, Any], None],
        owned: Callable[[Item], bool] = lambda item: False,
        idle: Optional[Callable[[int], Any]] = None,
    ) -> None:
        """Each worker is sent the items of its own queue, one request each,
        in order (largest first, see share); a worker whose queue is empty
        takes from the longest other queue (what a file costs is only known
        once it is done: one route module can lead into thousands of lines
        elsewhere) its first item, the largest left. Except an item `owned`
        by its queue's worker (which holds the file's model: moving it costs a
        parse): those are taken only when no other is left, the last one, and
        only when the queue holds another (waiting for the one file left
        mostly costs less than parsing it again). `request(worker, item)`
        makes the request, `answered(worker, item, answer)` takes each
        answer; returns when every item is answered. A worker left with
        nothing to take while another still works is sent `idle(worker)`
        once, if given: work it would do next anyway. Its answer is dropped,
        and not waited for: the phase ends with the last item, and that
        worker takes its next request once it is done."""
        busy: dict[int, Item] = {}
        idled: set[int] = set()

        def send_next(worker: int) -> None:
            if queues[worker]:
                item = queues[worker].pop(0)
            else:
                longest = max(range(len(queues)), key=lambda i: len(queues[i]))
                queue = queues[longest]
                movable = next((i for i, item in enumerate(queue) if not owned(item)), None)
                if movable is not None:
                    item = queue.pop(movable)
                elif len(queue) >= 2:
                    item = queue.pop()
                else:
                    # Only while another still works: else the phase is over.
                    if idle is not None and worker not in idled and busy:
                        idled.add(worker)
                        self.connections[worker].send(idle(worker))
                        self._idle_answers.add(worker)
                    return
            self.connections[worker].send(request(worker, item))
            busy[worker] = item

        for worker in range(len(self.connections)):
            if worker not in self._starting:
                send_next(worker)
        # A worker still starting (importing libcst) is sent its first item
        # when it says it is ready: the largest left, to the first one ready.
        while busy or (self._starting and any(queues)):
            listening = sorted(set(busy) | self._starting)
            ready = {id(c) for c in _wait([self.connections[w] for w in listening])}
            for worker in [w for w in listening if id(self.connections[w]) in ready]:
                kind, value = self.connections[worker].recv()
                if kind == "error":
                    raise RuntimeError(value)
                if worker in self._starting:
                    self._starting.discard(worker)
                    send_next(worker)
                    continue
                if worker in self._idle_answers:  # it came first: the item's is next
                    self._idle_answers.discard(worker)
                    continue
                answered(worker, busy.pop(worker), value)
                send_next(worker)

    def close(self, *, abort: bool = False) -> None:
        """Stop the workers; with `abort` (an interrupted run) at once, without
        waiting for the files they still have to check."""
        for connection in self.connections:
            try:
                if not abort:
                    connection.send(None)  # stop
                connection.close()
            except OSError:
                pass
        for process in self.processes:
            if abort:
                process.terminate()
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()


@contextmanager
def _ctrl_c_held_back() -> Iterator[None]:
    """While workers start, Ctrl-C is held back, so that a forked worker is
    born not raising it: one interrupted before it could say so itself (in
    multiprocessing's start-up) would print a traceback. A Ctrl-C that came
    meanwhile is raised once they have started (it was lost before)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        # None: a handler not set from Python (then the default is what was there).
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
    if held:
        raise KeyboardInterrupt


def _serve(
    connection: Connection, inherited: list[Connection], parent: int, state: Callable[[int], Any]
) -> None:
    """A worker's loop: answer requests until told to stop."""
    for end in inherited:  # the main process's ends of the pipes, fork's copies
        if end is not connection:
            end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's
    # SIGTERM ends a worker at once, even in the middle of a parse: a Python
    # handler would wait for libcst's native parser to return (52 s for a
    # 200k-line file). Writes block it (engine/fix.py's _signals_held), so a
    # file is still whole or untouched.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with(parent)
    gc.disable()  # as in the main process's run (see run/collector.py); spawn starts it on
    worker = state(parent)
    try:
        connection.send(("ready", None))  # the largest file goes to the first one ready
    except OSError:
        return  # the main process is gone
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return  # the main process is gone
        if request is None:
            return
        try:
            connection.send(("ok", worker.handle(request)))
        except Exception as error:  # reported by the main process, exit code 2
            try:
                connection.send(("error", f"{type(error).__name__}: {error}"))
            except OSError:
                # The main process closed the pipe: it was stopped (Ctrl-C),
                # and the stop may have broken what was running (SIGTERM in
                # the middle of an import turns into a RuntimeError there).
                return


def _die_with(parent: int) -> None:
    """On Linux, have the kernel send this worker SIGTERM when the main
    process dies (killed, say): one busy parsing a huge file would otherwise
    outlive it until its next file."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before the request took hold
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _wait(connections: list[Connection]) -> list[Any]:
    from multiprocessing.connection import wait

    return wait(connections)
