"""This checkout against earlier commits, cold and warm, in the same run:
what a change cost or saved, the way the issues' budgets are measured.

    python bench/corpus.py && python bench/against.py f9cc55a 5920d9c --rounds 5

Each earlier commit's package is taken with `git archive` and run from a
temporary directory (`PYTHONPATH`), with the same interpreter and libraries.
Every tree is run on the same corpus in alternating order: cold
(`--no-cache`), and warm (a cache filled first, in a directory of its own).
Two layouts: the plain corpus directory (no project markers: every directory
is a project of its own), and a copy laid out as repositories (as
bench/run.py lays it out); and in that copy, bench/run.py's pre-commit-like
run of 5 files. Every tree is byte-compiled first. Prints medians of wall time and the ratio of
this checkout to each earlier commit. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from corpus import CORPUS  # noqa: E402
from run import PRE_COMMIT_FILES, as_repositories  # noqa: E402

NOW = "this checkout"


def extract(ref: str, into: Path) -> Path:
    """The package of commit `ref`, unpacked below `into`."""
    into.mkdir()
    archive = subprocess.run(
        ["git", "archive", ref, "bgtask_lint"], cwd=ROOT, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    compile_package(into)
    return into


def compile_package(where: Path) -> None:
    """Byte-compile the package below `where` first: a run would otherwise
    compile a tree that has no .pyc files every time (with
    PYTHONDONTWRITEBYTECODE set), a cost this checkout does not pay."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(where)], check=True)


def timed(package: Path | None, targets: list[str], cwd: Path, *, cold: bool) -> float:
    env = dict(os.environ)
    env.pop("BGTASK_LINT_NO_CACHE", None)
    if package is not None:
        env["PYTHONPATH"] = str(package)
    command = [sys.executable, "-m", "bgtask_lint", "check", "-q", "--exit-zero", *targets]
    if cold:
        command.append("--no-cache")
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("refs", nargs="+", help="earlier commits")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--only", choices=("plain", "repository", "pre-commit"), help="time one layout"
    )
    args = parser.parse_args()
    if not CORPUS.is_dir():
        sys.exit("no corpus: run `python bench/corpus.py` first")
    work = Path(tempfile.mkdtemp(prefix="bgtask-against-"))
    try:
        trees: dict[str, Path | None] = {
            ref: extract(ref, work / f"tree-{ref}") for ref in args.refs
        }
        trees[NOW] = None
        compile_package(ROOT / "bgtask_lint")
        copy = work / "corpus"
        shutil.copytree(CORPUS, copy, ignore=shutil.ignore_patterns("_downloads"))
        as_repositories(copy)
        layouts = {
            "plain corpus directory": (CORPUS, [str(CORPUS)]),
            "repository layout": (copy, [str(copy)]),
            "pre-commit run of 5 files": (copy, [str(copy / name) for name in PRE_COMMIT_FILES]),
        }
        for layout, (where, target) in layouts.items():
            if args.only and not layout.startswith(args.only):
                continue
            caches = {name: work / f"cache-{layout[:5]}-{n}" for n, name in enumerate(trees)}
            times: dict[tuple[str, str], list[float]] = {}
            for name, package in trees.items():
                caches[name].mkdir()
                timed(package, target, caches[name], cold=False)  # fill its cache
            names = list(trees)
            for round_ in range(args.rounds):
                for name in names if round_ % 2 == 0 else names[::-1]:
                    for kind in ("cold", "warm"):
                        cwd = caches[name]  # cold runs pass --no-cache
                        seconds = timed(trees[name], target, cwd, cold=kind == "cold")
                        times.setdefault((name, kind), []).append(seconds)
            print(f"{layout} ({where}), medians of {args.rounds}:")
            for kind in ("cold", "warm"):
                now = statistics.median(times[(NOW, kind)])
                for name in names:
                    median = statistics.median(times[(name, kind)])
                    change = "" if name == NOW else f"  (this checkout: {now / median - 1:+.0%})"
                    print(f"  {kind} {name:>14}: {median:.3f} s{change}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
