"""Speed work must not change what is found: compare the findings of this
checkout with those of an earlier commit, byte for byte, on the benchmark
corpus laid out as bench/run.py lays it out (and on the plain corpus
directory, where every directory is a project of its own), and on the
pre-commit-like run of bench/run.py's 5 files. With `--one-by-one`, also
each file that passes the rules' text screen checked alone, as pre-commit
passes one changed file (the rest of its project is read for context).

    python bench/corpus.py && python bench/same_findings.py 8948e83
    python bench/same_findings.py --read-whole --one-by-one

With `--read-whole`, this checkout is compared with itself reading every
module whole instead of in part (an outline, analysis/outline.py): the cheap
read must give the same findings.

The earlier commit's package is taken with `git archive` into a temporary
directory and run from there (`PYTHONPATH`), with the same interpreter and
libraries. Every finding is compared in the JSON output (codes, messages,
locations, fixes); exit status 1 when they differ, with the first lines that
do. A check, not a test: it needs the corpus (see bench/corpus.py).
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from corpus import CORPUS  # noqa: E402
from run import PRE_COMMIT_FILES, as_repositories  # noqa: E402


def screened(copy: Path) -> list[str]:
    """The corpus files that pass every rule's text screen (relative to `copy`)."""
    sys.path.insert(0, str(ROOT))
    from bgtask_lint.rules import RULE_CODES, screen

    passes = screen(frozenset(RULE_CODES))
    return [
        str(path.relative_to(copy))
        for path in sorted(copy.rglob("*.py"))
        if passes(path.read_text(encoding="utf-8", errors="replace"))
    ]


# This checkout with every module read whole (analysis/project.READ_IN_PART);
# forked workers inherit the switch.
READ_WHOLE = (
    "import sys; from bgtask_lint.analysis import project; project.READ_IN_PART = False; "
    "from bgtask_lint.cli import run; sys.argv[0] = 'bgtask-lint'; run()"
)


def findings(package_parent: Path | None, cwd: Path, *targets: str, whole: bool = False) -> bytes:
    env = dict(os.environ, BGTASK_LINT_NO_CACHE="1", PYTHONHASHSEED="0")
    if package_parent is not None:
        env["PYTHONPATH"] = str(package_parent)
    else:
        env["PYTHONPATH"] = str(ROOT)
    entry = ["-c", READ_WHOLE] if whole else ["-m", "bgtask_lint"]
    command = [sys.executable, *entry, "check", "--output-format", "json"]
    result = subprocess.run(
        [*command, "--exit-zero", *targets], cwd=cwd, env=env, capture_output=True
    )
    if result.returncode != 0:
        sys.exit(f"bgtask-lint failed ({result.returncode}): {result.stderr.decode()[-2000:]}")
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "ref",
        nargs="?",
        help="the earlier commit (the one before the speed work); none with --read-whole",
    )
    parser.add_argument(
        "--read-whole",
        action="store_true",
        help="compare this checkout with itself reading every module whole (no outlines)",
    )
    parser.add_argument(
        "--one-by-one",
        action="store_true",
        help="also check each file that passes the screen alone (a run per file)",
    )
    args = parser.parse_args()
    if (args.ref is None) != args.read_whole:
        parser.error("give an earlier commit, or --read-whole")
    if not CORPUS.is_dir():
        sys.exit("no corpus: run `python bench/corpus.py` first")
    work = Path(tempfile.mkdtemp(prefix="bgtask-same-"))
    try:
        earlier = work / "earlier"
        earlier.mkdir()
        if args.ref is not None:
            archive = subprocess.run(
                ["git", "archive", args.ref, "bgtask_lint"],
                cwd=ROOT,
                capture_output=True,
                check=True,
            )
            subprocess.run(["tar", "-x", "-C", str(earlier)], input=archive.stdout, check=True)
        label = args.ref or "read whole"
        copy = work / "corpus"
        shutil.copytree(CORPUS, copy, ignore=shutil.ignore_patterns("_downloads"))
        as_repositories(copy)
        outside = work / "elsewhere"
        outside.mkdir()
        layouts = {
            "repository layout": (copy, ["."]),
            "plain corpus directory": (outside, [str(CORPUS)]),
            "pre-commit run of 5 files": (copy, list(PRE_COMMIT_FILES)),
        }
        alone = screened(copy) if args.one_by_one else []
        for path in alone:
            layouts[path] = (copy, [path])
        differ = False
        for name, (cwd, targets) in layouts.items():
            if args.read_whole:
                before = findings(None, cwd, *targets, whole=True)
            else:
                before = findings(earlier, cwd, *targets)
            after = findings(None, cwd, *targets)
            count = before.count(b'"code"')
            if before == after:
                if name not in alone:
                    print(f"{name}: identical ({count} findings, {len(after):,} bytes of JSON)")
                continue
            differ = True
            print(f"{name}: DIFFERENT")
            diff = difflib.unified_diff(
                before.decode().splitlines(), after.decode().splitlines(), label, "now"
            )
            print("\n".join(list(diff)[:60]))
        if alone:
            verdict = "some differ" if differ else "identical"
            print(f"{len(alone)} files checked one by one: {verdict}")
        sys.exit(1 if differ else 0)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
