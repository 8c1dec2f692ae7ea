"""Time and peak memory of `check` and `--fix` on one generated, huge route module.

    python bench/huge_file.py                       # 20,000 and 90,000 lines
    python bench/huge_file.py --lines 200000 1000000

Each module holds routes and helpers; one route in 50 queues an `async def`
task that calls `time.sleep` (BGT003, with an unsafe fix). Each size is written
to a directory of its own (with an empty pyproject.toml, so that nothing else
is read) and checked in a fresh process, with `max-file-size` raised so that
only the line ceiling can refuse it. Prints, per size and command, the wall
time, the peak resident memory of the child and the first line of output.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAD = "from fastapi import FastAPI, BackgroundTasks\nimport time\napp = FastAPI()\n\n"
BLOCKING = """
async def job_{i}(x: int) -> None:
    time.sleep(1)


@app.post("/t{i}")
async def route_{i}(x: int, tasks: BackgroundTasks):
    tasks.add_task(job_{i}, x)
    return {{"ok": x}}
"""
PLAIN = """
def helper_{i}(value: int) -> int:
    total = value * {i}
    for k in range(3):
        total += k
    return total


@app.get("/r{i}")
async def read_{i}(x: int):
    return {{"value": helper_{i}(x)}}
"""


def module(lines: int) -> str:
    parts, count, i = [HEAD], HEAD.count("\n"), 0
    while count < lines:
        block = (BLOCKING if i % 50 == 0 else PLAIN).format(i=i)
        parts.append(block)
        count += block.count("\n")
        i += 1
    return "".join(parts)


def run(arguments: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, peak MB of the child, the first output line."""
    with tempfile.TemporaryFile("w+") as output:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "bgtask_lint", *arguments],
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # wait4 gives this child's own peak (RUSAGE_CHILDREN keeps the largest).
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        output.seek(0)
        lines = output.read().strip().splitlines()
    first = lines[0] if lines else f"(no output, exit {child.returncode})"
    return seconds, usage.ru_maxrss / 1024, first[:110]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[20_000, 90_000])
    options = parser.parse_args()
    raised = ["--no-cache", "--config", "max-file-size = 1000000000"]
    print(f"{'lines':>9} {'command':<22} {'seconds':>8} {'peak MB':>8}  output")
    for lines in options.lines:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            (folder / "pyproject.toml").write_text("")
            (folder / "app.py").write_text(module(lines))
            for label, extra in (
                ("check", []),
                ("fix --unsafe-fixes", ["--fix", "--unsafe-fixes"]),
            ):
                seconds, peak, first = run(["check", *raised, *extra, "app.py"], folder)
                print(f"{lines:>9,} {label:<22} {seconds:>8.1f} {peak:>8.0f}  {first}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
