"""`check --watch`: a check, then another after each change."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("watchfiles")

BUGGY = (
    "from fastapi import BackgroundTasks, FastAPI\n\napp = FastAPI()\n\n\n"
    '@app.post("/")\ndef route():\n    tasks = BackgroundTasks()\n    tasks.add_task(print)\n'
    "    return {}\n"
)


class Output:
    """The lines a process prints, read on a thread so that waiting can time out."""

    def __init__(self, stream) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        self.wait_for_count(text, 1, timeout)

    def wait_for_count(self, text: str, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while sum(text in line for line in self.seen) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{text!r} never printed; got: {''.join(self.seen)}")
            try:
                self.seen.append(self.lines.get(timeout=remaining))
            except queue.Empty:
                continue


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_watch_checks_again_after_a_change(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "app.py").write_text("x = 1\n")
    env = {**os.environ, "BGTASK_LINT_NO_CACHE": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bgtask_lint",
            "check",
            "--watch",
            "--output-format",
            "concise",
            ".",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        # As a terminal starts it: pytest may run with SIGINT ignored (a
        # background job, nohup, some CI runners), and the child inherits that.
        preexec_fn=_default_sigint,
    )
    output = Output(process.stdout)
    try:
        output.wait_for("All checks passed!")
        time.sleep(0.5)  # the watcher is set up once the first check is printed
        (tmp_path / "app.py").write_text(BUGGY)
        output.wait_for("File change detected")
        output.wait_for("app.py:8:13: BGT001")
        # An edited .gitignore counts: the run forgets what it read before.
        (tmp_path / ".gitignore").write_text("app.py\n")
        output.wait_for_count("All checks passed!", 2)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    assert process.returncode == 130  # stopped with Ctrl-C, as ruff's watch


def test_watch_refuses_standard_input(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bgtask_lint", "check", "--watch", "-"],
        cwd=tmp_path,
        input="x = 1\n",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "standard input" in result.stderr
