"""The pytest plugin's overhead, measured on the project's own run-time proof
tests (tests/test_runtime_proofs.py: real FastAPI apps under TestClient and
uvicorn): the plugin not loaded, loaded but inactive, and active (in warn
mode, since those tests reproduce the bugs on purpose). Medians of N runs,
same machine, same run.

    python bench/pytest_plugin.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = [
    sys.executable,
    "-m",
    "pytest",
    "-q",
    "-p",
    "no:cacheprovider",
    "-p",
    "no:xdist",
    "tests/test_runtime_proofs.py",
]
MODES = {
    "not loaded": ["-p", "no:bgtask_lint.pytest_plugin"],
    "inactive": [],
    "active": ["--bgtask-lint", "--bgtask-lint-mode", "warn"],
}


def once(extra: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run([*BASE, *extra], cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"the tests failed ({' '.join(extra)}):\n{result.stdout[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(rounds):  # interleaved, so drift hits every mode alike
        for mode, extra in MODES.items():
            times[mode].append(once(extra))
    baseline = statistics.median(times["not loaded"])
    print(f"tests/test_runtime_proofs.py, median of {rounds} runs each:")
    for mode, values in times.items():
        median = statistics.median(values)
        spread = f"{min(values):.2f}-{max(values):.2f}"
        print(
            f"  {mode:<11} {median:6.2f} s  (runs {spread} s; "
            f"{median / baseline - 1:+.1%} against not loaded)"
        )


if __name__ == "__main__":
    main()
