"""The speed benchmark: bgtask-lint against ruff and fixit, on the same files,
in the same run, several rounds in alternating order.

    pip install -e '.[bench]' && python bench/corpus.py && python bench/run.py

Times, per tool: the median wall time of `--rounds` runs, the ratio to ruff,
lines per second, and the peak memory (RSS) of the largest process. Measured:
bgtask-lint cold (no cache) and warm (cache filled), ruff `--select ASYNC`
cold (`--no-cache`) and cached, and fixit with its UseAsyncSleepInAsyncDef
rule on a FastAPI-heavy subset (against bgtask-lint cold on the same subset).
Also, for the files bgtask-lint does parse, what analysing each file costs
(parse, model, rules, placing findings: the file alone) against libcst's
bare parse of it; how many files and lines a cold
run parses, and the floor that sets (their bare libcst parse, over the
cores); and a pre-commit-like run on 5 changed route files of a large
application, against ruff on the same files. The corpus copy is laid out as
repositories are: one git work tree, a root .gitignore of the usual
patterns, and each project with a .gitignore and a pyproject.toml of its
own. Writes docs/performance.md.

A benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import platform
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

from corpus import CORPUS, FIXIT_SUBSET, PROJECTS, project_dir  # noqa: E402

BIN = Path(sys.executable).parent


def timed(command: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB, largest process) of one run."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{command[0]} failed: {' '.join(command)}")
    return elapsed, usage.ru_maxrss


def count_lines(paths: list[Path]) -> tuple[int, int]:
    files = [p for path in paths for p in path.rglob("*.py")]
    return len(files), sum(p.read_bytes().count(b"\n") for p in files)


def measure(commands: dict[str, tuple[list[str], Path]], rounds: int) -> dict:
    """Median time and peak RSS per command; the order alternates by round."""
    samples: dict[str, list[tuple[float, int]]] = {name: [] for name in commands}
    names = list(commands)
    for round_number in range(rounds):
        order = names if round_number % 2 == 0 else list(reversed(names))
        for name in order:
            samples[name].append(timed(*commands[name]))
    return {
        name: (statistics.median(t for t, _ in runs), max(m for _, m in runs))
        for name, runs in samples.items()
    }


# The usual ignore patterns of a Python repository (written for this
# benchmark), at the root of the copy; each project adds its own.
ROOT_GITIGNORE = """\
__pycache__/
*.py[cod]
*.so
build/
dist/
*.egg-info/
.eggs/
.tox/
.nox/
.coverage
.coverage.*
htmlcov/
.pytest_cache/
.mypy_cache/
.ruff_cache/
.hypothesis/
.ipynb_checkpoints
*.log
.env
.venv
venv/
env/
node_modules/
docs/_build/
site/
!keep.log
"""
PROJECT_GITIGNORE = "*.tmp\n/generated/\nsecrets/\nlocal_settings.py\n"
# The files a pre-commit run is given: route modules of the largest application.
PRE_COMMIT_FILES = (
    "fastapi/open-webui-0.12.4/open_webui/routers/files.py",
    "fastapi/open-webui-0.12.4/open_webui/routers/knowledge.py",
    "fastapi/open-webui-0.12.4/open_webui/routers/chats.py",
    "fastapi/open-webui-0.12.4/open_webui/routers/tasks.py",
    "fastapi/open-webui-0.12.4/open_webui/routers/retrieval.py",
)


def as_repositories(copy: Path) -> None:
    """Lay the copy out as repositories are (see the module's docstring)."""
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", str(copy)], check=True)
    (copy / ".gitignore").write_text(ROOT_GITIGNORE)
    for group in copy.iterdir():
        for project in group.iterdir() if group.is_dir() else ():
            if project.is_dir():
                (project / ".gitignore").write_text(PROJECT_GITIGNORE)
                (project / "pyproject.toml").write_text(
                    f'[project]\nname = "{project.name}"\n\n[tool.bgtask-lint]\n'
                )


def parsed_by_a_cold_run(copy: Path) -> tuple[int, int, float]:
    """(files, lines) a cold run parses, counted in process, and the bare
    libcst parse time of those files."""
    import libcst as cst

    from bgtask_lint.analysis import project as project_module
    from bgtask_lint.api import check_paths

    seen: dict[str, str] = {}
    original = project_module.Project._parse

    def counting(self, text, path):  # type: ignore[no-untyped-def]
        seen[path] = text
        return original(self, text, path)

    project_module.Project._parse = counting  # type: ignore[method-assign]
    try:
        check_paths([copy], workers=1)
    finally:
        project_module.Project._parse = original  # type: ignore[method-assign]
    import gc

    gc.disable()  # the parse alone, as a run makes it (see run/collector.py)
    start = time.perf_counter()
    for text in seen.values():
        cst.parse_module(text)
    bare = time.perf_counter() - start
    gc.enable()
    # Lines of code parsed: an outline's blanked definitions are not counted.
    lines = sum(1 for text in seen.values() for line in text.splitlines() if line.strip())
    return len(seen), lines, bare


def pre_commit_parse(copy: Path) -> tuple[int, float, float]:
    """Of the 5 files of the pre-commit-like run, those that mention
    background tasks (the rules' text screen: they must be parsed whole):
    how many, their bare libcst parse in all and the longest one's, best of
    3 each, the cycle collector paused."""
    import gc

    import libcst as cst

    from bgtask_lint.rules import RULE_CODES, screen
    from bgtask_lint.text.source import read_source

    needs_check = screen(frozenset(RULE_CODES))
    parses = []
    gc.disable()
    try:
        for name in PRE_COMMIT_FILES:
            text, _ = read_source(copy / name)
            if text is None or not needs_check(text):
                continue
            times = []
            for _ in range(3):
                start = time.perf_counter()
                cst.parse_module(text)
                times.append(time.perf_counter() - start)
            parses.append(min(times))
    finally:
        gc.enable()
    return len(parses), sum(parses), max(parses, default=0.0)


def per_file_parse_ratio(paths: list[Path]) -> tuple[int, float, float]:
    """For files bgtask-lint parses: (count, median ratio, total ratio) of
    what the file costs, read whole (`check_source`: parse, model, every rule,
    placing the findings; the file alone, no project), to libcst's bare parse
    of it. Best of 3 each, with the cycle collector paused for both (as a run
    pauses it, see run/collector.py)."""
    import gc

    import libcst as cst

    from bgtask_lint.api import check_source
    from bgtask_lint.rules import RULE_CODES, screen
    from bgtask_lint.text.source import read_source

    needs_check = screen(frozenset(RULE_CODES))

    def best_of_3(work, *args) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(3):
            start = time.perf_counter()
            work(*args)
            times.append(time.perf_counter() - start)
        return min(times)

    ratios, total_check, total_parse = [], 0.0, 0.0
    gc.disable()
    try:
        for path in (p for root in paths for p in sorted(root.rglob("*.py"))):
            text, _ = read_source(path)
            if text is None or not needs_check(text):
                continue
            parse = best_of_3(cst.parse_module, text)
            check = best_of_3(check_source, text, str(path))
            ratios.append(check / parse)
            total_check += check
            total_parse += parse
    finally:
        gc.enable()
    return len(ratios), statistics.median(ratios), total_check / total_parse


def tool_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("bgtask-lint", "ruff", "fixit", "libcst")}


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fixit-rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "performance.md")
    args = parser.parse_args()
    # Byte-compiled first: with PYTHONDONTWRITEBYTECODE set, a module edited
    # since its .pyc was written would be compiled again by every run.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "bgtask_lint")], check=True
    )

    everything = [project_dir(*p) for p in PROJECTS]
    missing = [p for p in everything if not p.is_dir()]
    if missing:
        raise SystemExit("the corpus is missing: run python bench/corpus.py first")
    subset = [project_dir(*p) for p in PROJECTS if p[0] in FIXIT_SUBSET]
    files, lines = count_lines(everything)
    subset_files, subset_lines = count_lines(subset)

    work = Path(tempfile.mkdtemp(prefix="bgtask-bench-"))
    corpus_copy = work / "corpus"
    shutil.copytree(CORPUS, corpus_copy, ignore=shutil.ignore_patterns("_downloads"))
    as_repositories(corpus_copy)
    bgtask = [sys.executable, "-m", "bgtask_lint", "check", "--exit-zero", "-q", "."]
    ruff = [str(BIN / "ruff"), "check", "--select", "ASYNC", "--exit-zero", "-q", "."]
    # Fill the caches the warm runs use (cold runs pass --no-cache).
    subprocess.run(bgtask, cwd=corpus_copy, capture_output=True)
    subprocess.run(ruff, cwd=corpus_copy, capture_output=True)

    whole = measure(
        {
            "bgtask-lint cold": ([*bgtask, "--no-cache"], corpus_copy),
            "bgtask-lint warm": (bgtask, corpus_copy),
            "ruff cold": ([*ruff, "--no-cache"], corpus_copy),
            "ruff cached": (ruff, corpus_copy),
        },
        args.rounds,
    )
    changed = list(PRE_COMMIT_FILES)
    pre_commit = measure(
        {
            "bgtask-lint, 5 files, cold": ([*bgtask[:-1], "--no-cache", *changed], corpus_copy),
            "bgtask-lint, 5 files, warm": ([*bgtask[:-1], *changed], corpus_copy),
            "ruff, 5 files": ([*ruff[:-1], "--no-cache", *changed], corpus_copy),
            "Python start-up and `import libcst`": (
                [sys.executable, "-c", "import libcst"],
                corpus_copy,
            ),
        },
        args.rounds,
    )
    five_parse = pre_commit_parse(corpus_copy)
    parsed_files, parsed_lines, bare_parse = parsed_by_a_cold_run(corpus_copy)
    subset_dirs = [str(corpus_copy / p.relative_to(CORPUS)) for p in subset]
    fixit_rule = "fixit.rules.use_async_sleep_in_async_def"
    against_fixit = measure(
        {
            "bgtask-lint cold (subset)": (
                [
                    sys.executable,
                    "-m",
                    "bgtask_lint",
                    "check",
                    "--exit-zero",
                    "-q",
                    "--no-cache",
                    *subset_dirs,
                ],
                corpus_copy,
            ),
            "fixit (subset)": (
                [str(BIN / "fixit"), "--rules", fixit_rule, "lint", *subset_dirs],
                corpus_copy,
            ),
        },
        args.fixit_rounds,
    )
    parsed, median_ratio, total_ratio = per_file_parse_ratio(everything)
    shutil.rmtree(work, ignore_errors=True)

    report = render(
        whole,
        pre_commit,
        (parsed_files, parsed_lines, bare_parse),
        five_parse,
        against_fixit,
        files,
        lines,
        subset_files,
        subset_lines,
        parsed,
        median_ratio,
        total_ratio,
        args,
    )
    args.output.write_text(report, encoding="utf-8")
    print(report)


def render(
    whole,
    pre_commit,
    parsed_cold,
    five_parse,
    against_fixit,
    files,
    lines,
    subset_files,
    subset_lines,
    parsed,
    median_ratio,
    total_ratio,
    args,
) -> str:
    ruff_cold = whole["ruff cold"][0]
    ruff_cached = whole["ruff cached"][0]
    rows = []
    for name, (seconds, rss) in whole.items():
        reference = ruff_cached if "warm" in name or "cached" in name else ruff_cold
        rows.append(
            f"| {name} | {seconds:.3f} s | {seconds / reference:.2f}× | "
            f"{lines / seconds:,.0f} | {rss / 1024:.0f} MB |"
        )
    bg_subset = against_fixit["bgtask-lint cold (subset)"][0]
    fixit_subset = against_fixit["fixit (subset)"][0]
    for name, (seconds, rss) in against_fixit.items():
        rows.append(
            f"| {name} | {seconds:.3f} s | {seconds / bg_subset:.1f}× bgtask-lint | "
            f"{subset_lines / seconds:,.0f} | {rss / 1024:.0f} MB |"
        )
    ruff_five = pre_commit["ruff, 5 files"][0]
    for name, (seconds, rss) in pre_commit.items():
        rows.append(
            f"| {name} | {seconds:.3f} s | {seconds / ruff_five:.0f}× | | {rss / 1024:.0f} MB |"
        )
    parsed_files, parsed_lines, bare_parse = parsed_cold
    cores = os.cpu_count() or 1
    floor = bare_parse / cores
    five_cold = pre_commit["bgtask-lint, 5 files, cold"][0]
    # The 5-file run's floor with libcst: start-up and importing it, then
    # parsing the files that must be parsed whole, over the cores (no file
    # is split: the longest parse is the least).
    import_libcst = pre_commit["Python start-up and `import libcst`"][0]
    five_parsed, five_total, five_longest = five_parse
    five_floor = import_libcst + max(five_longest, five_total / cores)
    versions = ", ".join(f"{k} {v}" for k, v in tool_versions().items())
    bg_cold, bg_warm = whole["bgtask-lint cold"][0], whole["bgtask-lint warm"][0]
    groups = ", ".join(f"{n} {v}" for n, v, _ in PROJECTS)
    return f"""# Performance

Measured by `python bench/run.py` (after `python bench/corpus.py`), which
writes this page. One run, every tool on the same files, {args.rounds} rounds
({args.fixit_rounds} for fixit) in alternating order; medians of wall time;
peak memory is the largest process's resident set.

Machine: {machine()}.
Tools: {versions}.

Corpus: {files} files, {lines:,} lines of real code nobody here wrote —
{groups}. The FastAPI subset for fixit: {", ".join(FIXIT_SUBSET)}
({subset_files} files, {subset_lines:,} lines).

| run | median | ratio | lines/s | peak RSS |
|-----|--------|-------|---------|----------|
{chr(10).join(rows)}

Ratios: cold runs against ruff cold, warm runs against ruff cached, the
5-file runs against ruff on the same files; the fixit rows against
bgtask-lint on the same subset. The copy is one git work tree with a
.gitignore at its root and a .gitignore and pyproject.toml in each project.

A cold run parses {parsed_files} of the {files} files ({parsed_lines:,} lines of
code): the ones that mention background tasks, and the modules their values
and tasks lead into (of a module read only to follow a value into it, its
outline: the definitions the question leads to). libcst's bare parse of those files takes {bare_parse:.2f} s,
{floor:.2f} s over {cores} cores: the floor of a cold run that must parse them
({bg_cold / floor:.1f}× that floor; ruff's whole cold run is {ruff_cold:.2f} s).

## Against the targets

| target | measured | |
|--------|----------|---|
| cold ≤ 3× ruff cold | {bg_cold / ruff_cold:.2f}× | {"met" if bg_cold <= 3 * ruff_cold else "not met"} |
| cold as close to the parse floor as it allows | {bg_cold / floor:.1f}× the floor ({floor:.2f} s) | |
| pre-commit run on 5 files ≤ 0.5 s | {five_cold:.2f} s cold, {pre_commit["bgtask-lint, 5 files, warm"][0]:.2f} s warm; the floor with libcst {five_floor:.2f} s | {"met" if five_cold <= 0.5 else "not met"} |
| warm ≤ 3× ruff cached | {bg_warm / ruff_cached:.2f}× | {"met" if bg_warm <= 3 * ruff_cached else "not met"} |
| ≥ 100× faster than fixit | {fixit_subset / bg_subset:.0f}× | {"met" if fixit_subset >= 100 * bg_subset else "not met"} |
| peak memory < 300 MB | {whole["bgtask-lint cold"][1] / 1024:.0f} MB | {"met" if whole["bgtask-lint cold"][1] < 300 * 1024 else "not met"} |
| per parsed file ≤ 1.3× bare parse | {total_ratio:.2f}× in total, {median_ratio:.2f}× median over {parsed} files | {"met" if total_ratio <= 1.3 else "not met"} |

## Where the time goes

A cold run is mostly libcst parsing the files that can matter: those that
mention `BackgroundTask` or assign a `.background` other than their own,
and the modules values and tasks are followed into. Of a module read only to
follow a value into it, Python's own parser (ten times faster) first finds
the definitions the question leads to, and libcst parses only those (an
outline; rows stay put): a 22,000-line module a route's helper lives in
costs its helper. While libcst parses, the nodes it builds are not validated
(a tree fresh from its parser is valid by construction): an eighth of the
parse. Python's cycle collector is paused for the run: its full passes over
libcst's long-lived node objects were a third of a cold run. The two workers
take files one at a time, largest first, and one that runs out takes the
largest left of the other's (but a file whose model the other holds only
when it has others still to do): one route module can cost a second of
following a dependency through thousands of lines elsewhere. What remains is the files that must be parsed
whole, where libcst's time is its native parser and building its Python node
objects, and ruff parses in Rust; and walking the tree, in one process
before the workers start (they then read, decode and screen the files, in
chunks). Only the texts of files that can matter are kept.

A warm run parses nothing: it walks the tree (each directory listed once,
each `.gitignore` matched as one set of names and one expression), `stat`s
the files and loads one cache file, decoding only the entries it asks for.

The pre-commit-like run on 5 files reads the rest of its project to
complete the chains that lead into them: the route modules that import
them (found by their import lines, matched only where the word `import`
is) are parsed in part, only the statements using a name that leads into a
checked module (its definition, followed from module to module, uses one);
a route module none of whose imports leads there is not parsed at all.
A file checked only for where those chains end is read in part too (the
definitions they name). Its workers are forked before that walk, so that
they import libcst meanwhile; the first one ready takes the largest file,
and one that runs out while the other still indexes reads ahead what its
own files' checks will follow into. Its floor with libcst is {five_floor:.2f} s: Python's start-up and
`import libcst` take {import_libcst:.2f} s, and {five_parsed} of the five
files mention background tasks and must be parsed whole ({five_total:.2f} s of bare
parse, the longest {five_longest:.2f} s; {max(five_longest, five_total / cores):.2f} s over
{cores} cores). The run takes {five_cold:.2f} s ({five_cold / five_floor:.1f}× that floor).

That a speed change changed no finding is checked by
`python bench/same_findings.py <commit>`: the JSON findings of this checkout
and of an earlier commit, byte for byte, on this corpus.
"""


if __name__ == "__main__":
    main()
