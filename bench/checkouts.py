"""Speed on whole git checkouts, as users have them: bgtask-lint against
ruff on the same repositories, in the same run.

    python bench/checkouts.py                # 3 rounds, prints a Markdown table
    python bench/checkouts.py --rounds 5 --only Netflix/dispatch sympy/sympy

The corpus is every application of bench/real_apps.toml (FastAPI
applications of all sizes, FastAPI and Starlette themselves) and the large
repositories listed there with `fastapi = false`, each cloned at its pinned
commit by bench/real_apps.py into `--work`: tests, docs, scripts, vendored
code and `.gitignore` files included. Nothing of theirs is committed.

Measured, medians of `--rounds` runs in alternating order, wall time and
the peak resident set of the largest process:
- the whole corpus cold (`--no-cache` for both tools) and warm (bgtask-lint
  with its cache filled, ruff `--select ASYNC` with its own);
- a pre-commit run: 5 route and service modules of Netflix/dispatch, whose
  routes queue flows that call into other modules, cold and warm, against
  ruff on the same 5 files;
- in process, the share of a cold and a warm run spent walking the tree and
  matching ignore rules, before any file is read.

A benchmark, not a test: CI has neither the copies nor the network.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from real_apps import _checkout  # noqa: E402
from run import measure  # noqa: E402

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BIN = Path(sys.executable).parent
PRE_COMMIT_APP = "Netflix/dispatch"
PRE_COMMIT_FILES = (
    "src/dispatch/case/views.py",
    "src/dispatch/case/flows.py",
    "src/dispatch/incident/views.py",
    "src/dispatch/incident/flows.py",
    "src/dispatch/project/views.py",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", type=Path, default=HERE / "real_apps.toml")
    parser.add_argument("--work", type=Path, default=Path("/tmp/real_apps"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=(), help="owner/name of the checkouts")
    options = parser.parse_args()
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "bgtask_lint")], check=True
    )
    apps = tomllib.loads(options.list.read_text(encoding="utf-8"))["app"]
    chosen = [a for a in apps if not options.only or a["repo"] in options.only]
    checkouts: dict[str, Path] = {}
    for app in chosen:
        checkout = _checkout(app, options.work)
        if checkout is None:
            raise SystemExit(f"no copy of {app['repo']}: fetch github:{app['repo']} first")
        checkouts[app["repo"]] = checkout
    names = sorted({path.name for path in checkouts.values()})
    fastapi = sum(1 for a in chosen if a.get("fastapi", True))
    files, lines = _size(options.work, names)
    print(
        f"corpus: {len(names)} checkouts ({fastapi} FastAPI, {len(names) - fastapi} other),"
        f" {files:,} files, {lines:,} lines of Python"
    )

    bgtask = [sys.executable, "-m", "bgtask_lint", "check", "--exit-zero", "-q", *names]
    ruff = [str(BIN / "ruff"), "check", "--select", "ASYNC", "--exit-zero", "-q", *names]
    subprocess.run(bgtask, cwd=options.work, capture_output=True)  # fill the caches
    subprocess.run(ruff, cwd=options.work, capture_output=True)
    rows = measure(
        {
            "bgtask-lint cold": ([*bgtask, "--no-cache"], options.work),
            "ruff cold": ([*ruff, "--no-cache"], options.work),
            "bgtask-lint warm": (bgtask, options.work),
            "ruff cached": (ruff, options.work),
        },
        options.rounds,
    )
    if PRE_COMMIT_APP in checkouts:
        app = checkouts[PRE_COMMIT_APP]
        few = [sys.executable, "-m", "bgtask_lint", "check", "--exit-zero", "-q"]
        few += list(PRE_COMMIT_FILES)
        ruff_few = [str(BIN / "ruff"), "check", "--no-cache", "--select", "ASYNC"]
        ruff_few += ["--exit-zero", "-q", *PRE_COMMIT_FILES]
        subprocess.run(few, cwd=app, capture_output=True)
        rows.update(
            measure(
                {
                    "bgtask-lint, 5 files, cold": ([*few, "--no-cache"], app),
                    "bgtask-lint, 5 files, warm": (few, app),
                    "ruff, 5 files": (ruff_few, app),
                },
                options.rounds,
            )
        )
    print("\n| run | median | ratio | peak RSS |\n|---|---|---|---|")
    against = {
        "bgtask-lint cold": "ruff cold",
        "bgtask-lint warm": "ruff cached",
        "bgtask-lint, 5 files, cold": "ruff, 5 files",
        "bgtask-lint, 5 files, warm": "ruff, 5 files",
    }
    for name, (median, peak) in rows.items():
        base = rows.get(against.get(name, name), (median, 0))[0]
        print(f"| {name} | {median:.3f} s | {median / base:.2f}x | {peak // 1024} MB |")
    for label, cache in (("cold", False), ("warm", True)):
        walk, total = _walk_share(options.work, names, cache)
        print(
            f"walk and ignore matching, {label}: {walk:.3f} s of {total:.3f} s ({walk / total:.0%})"
        )


def _size(work: Path, names: list[str]) -> tuple[int, int]:
    """Python files a user's tree holds (git's list: what is committed) and their lines."""
    files = lines = 0
    for name in names:
        listed = subprocess.run(
            ["git", "-C", str(work / name), "ls-files", "-z", "*.py"],
            capture_output=True,
            check=True,
        ).stdout.split(b"\0")
        for relative in filter(None, listed):
            path = work / name / relative.decode()
            if path.is_file():
                files += 1
                lines += path.read_bytes().count(b"\n")
    return files, lines


def _walk_share(work: Path, names: list[str], cache: bool) -> tuple[float, float]:
    """Seconds of one in-process run spent in discovery, and of the whole run."""
    import os

    from bgtask_lint.api import check_paths
    from bgtask_lint.run import runner

    original = runner.discover_into
    spent = [0.0]

    def timed_discovery(*args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started

    runner.discover_into = timed_discovery  # type: ignore[assignment]
    here = os.getcwd()
    os.chdir(work)
    try:
        started = time.perf_counter()
        check_paths(names, cache_dir=Path(".bgtask_lint_cache") if cache else None)
        total = time.perf_counter() - started
    finally:
        os.chdir(here)
        runner.discover_into = original  # type: ignore[assignment]
    return spent[0], total


if __name__ == "__main__":
    main()
