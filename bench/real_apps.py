"""What bgtask-lint finds on real applications, against the audit in
bench/real_apps.toml, and what changed since an earlier commit.

    python bench/real_apps.py                 # this checkout
    python bench/real_apps.py --against HEAD~3
    python bench/real_apps.py --rounds 3      # and the time against ruff

Each application of the list is cloned from the copy `fetch` brought (or its
`source`) into `--work` at its audited commit, as a user has it: tests,
docs, scripts and `.gitignore` included. Each is checked whole, once by this
checkout and, with `--against`, once by the package of that commit (taken
with `git archive`, run with the same interpreter). For each app it prints
the findings by code, how many the audit calls right and wrong and how many
it has not seen; then the findings one commit has and the other has not.
The audit's labels are data (`[[label]]` in the list), matched by file,
row and code: a bug (`right`: a finding belongs there), a false alarm
(`wrong`), or a background-task site audited as correct (`correct`, no
code, rows `row` to `last`: any finding there is wrong). It prints the labelled bugs each app's
findings miss, and the recall and precision of the whole list. Exit status
1 when a finding labelled right is lost or a wrong one comes back.

With `--rounds N`, each checkout is also timed N times, alternating, cold
(no cache) for bgtask-lint and for `ruff check --select ASYNC` (the
nearest ruff rules) on the same files in the same run: medians per app, the
ratio, and the sums.

A benchmark, not a test: CI has neither the copies nor the network.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MIRRORS = Path("/work/.mirror")

Finding = tuple[str, int, str, str]  # file (relative), row, code, message
# The code of a label for a site audited as correct: no finding belongs on
# any of its rows.
ANY = "*"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", type=Path, default=HERE / "real_apps.toml")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "real_apps")
    parser.add_argument("--against", help="an earlier commit to compare with")
    parser.add_argument("--only", nargs="*", default=(), help="owner/name of the apps to run")
    parser.add_argument("--rounds", type=int, default=0, help="time N cold runs against ruff")
    options = parser.parse_args()
    listing = tomllib.loads(options.list.read_text(encoding="utf-8"))
    labels = {
        (label["repo"], label["path"], row, label.get("code", ANY)): label["verdict"]
        for label in listing.get("label", [])
        for row in range(label["row"], label.get("last", label["row"]) + 1)
    }
    earlier = _package_of(options.against) if options.against else None
    totals: Counter[str] = Counter()
    speed: list[tuple[float, float]] = []
    broken = 0
    print(f"{'application':42} {'files':>6} {'time':>7}  findings (right / wrong / new)")
    for app in listing["app"]:
        repo = app["repo"]
        if options.only and repo not in options.only:
            continue
        checkout = _checkout(app, options.work)
        if checkout is None:
            print(f"{repo:42} no copy: fetch github:{repo} first")
            continue
        started = time.perf_counter()
        now = _findings(checkout, str(ROOT))
        took = time.perf_counter() - started
        verdicts = Counter(_verdict(labels, repo, finding) for finding in now)
        totals.update(verdicts)
        bugs = [key for key, verdict in labels.items() if key[0] == repo and verdict == "right"]
        found = {(repo, *finding[:3]) for finding in now}
        missed = sorted(bug for bug in bugs if bug not in found)
        totals.update(bugs=len(bugs), missed=len(missed))
        codes = ", ".join(f"{c} {n}" for c, n in sorted(Counter(f[2] for f in now).items()))
        files = sum(1 for _ in checkout.rglob("*.py"))
        print(
            f"{repo:42} {files:>6} {took:>6.2f}s  {len(now)} ({codes or '-'}):"
            f" {verdicts['right']} / {verdicts['wrong']} / {verdicts['new']}"
        )
        for _, path, row, code in missed:
            print(f"  missed {path}:{row} {code}")
        if options.rounds:
            ours, ruff = _timed(checkout, options.rounds)
            speed.append((ours, ruff))
            print(f"  cold: bgtask-lint {ours:.2f}s, ruff {ruff:.2f}s, {ours / ruff:.2f}x")
        if earlier is not None:
            before = _findings(checkout, earlier)
            broken += _diff(repo, before, now, labels)
    judged = totals["right"] + totals["wrong"]
    share = f"{totals['right'] / judged:.0%} right" if judged else "none audited"
    print(
        f"audited findings: {totals['right']} right, {totals['wrong']} wrong ({share});"
        f" {totals['new']} not audited"
    )
    caught = totals["bugs"] - totals["missed"]
    recall = f"{caught / totals['bugs']:.0%}" if totals["bugs"] else "none labelled"
    print(f"labelled bugs: {caught} of {totals['bugs']} found ({recall})")
    if speed:
        ours, ruff = (sum(times) for times in zip(*speed))
        print(
            f"cold, sums of medians: bgtask-lint {ours:.2f}s, ruff {ruff:.2f}s, {ours / ruff:.2f}x"
        )
    return 1 if broken else 0


def _timed(checkout: Path, rounds: int) -> tuple[float, float]:
    """Median seconds of a cold bgtask-lint run and a ruff run of the checkout."""
    ours = [sys.executable, "-m", "bgtask_lint", "check", "--no-cache", "--exit-zero", "-q", "."]
    ruff = [str(Path(sys.executable).parent / "ruff"), "check", "--no-cache", "--select", "ASYNC"]
    ruff += ["--exit-zero", "-q", "."]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for command, kept in ((ours, times[0]), (ruff, times[1])):
            started = time.perf_counter()
            subprocess.run(command, cwd=checkout, env=environment, capture_output=True)
            kept.append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1])


def _checkout(app: dict, work: Path) -> Path | None:
    """A clone of the app at its audited commit, made once. A copy `fetch`
    brought may lack its largest files (they are listed but absent): the
    files it has are checked out, the others left out."""
    owner, name = app["repo"].split("/")
    target = work / f"{owner}+{name}"
    if (target / ".git").exists():
        return target
    source = app.get("source") or str(MIRRORS / f"{owner}+{name}" / "repo")
    if "://" not in source and not Path(source).exists():
        return None
    work.mkdir(parents=True, exist_ok=True)
    git = ["git", "-C", str(target)]
    subprocess.run(["git", "clone", "-q", "--no-checkout", source, str(target)], check=True)
    commit = app.get("commit") or "HEAD"
    listing = subprocess.run([*git, "ls-tree", "-r", "-z", commit], capture_output=True, check=True)
    entries = [e.split(b"\t", 1) for e in listing.stdout.split(b"\0") if e]
    blobs = [(head.split()[2], path) for head, path in entries if head.split()[1] == b"blob"]
    found = subprocess.run(
        [*git, "cat-file", "--batch-check"],
        input=b"".join(sha + b"\n" for sha, _ in blobs),
        capture_output=True,
        check=True,
    ).stdout.splitlines()
    present = [path for (_, path), line in zip(blobs, found) if not line.endswith(b"missing")]
    subprocess.run(
        [*git, "checkout", "-q", commit, "--pathspec-from-file=-", "--pathspec-file-nul"],
        input=b"\0".join(present),
        env={**os.environ, "GIT_LITERAL_PATHSPECS": "1"},
        check=True,
    )
    return target


def _package_of(revision: str) -> str:
    """A directory holding `bgtask_lint` as it was at `revision`."""
    where = tempfile.mkdtemp(prefix="bgtask-lint-")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "bgtask_lint"],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", where], input=archive.stdout, check=True)
    return where


def _findings(checkout: Path, package_root: str) -> list[Finding]:
    environment = {**os.environ, "PYTHONPATH": package_root, "PYTHONHASHSEED": "0"}
    result = subprocess.run(
        [sys.executable, "-m", "bgtask_lint", "check", "--no-cache", "--output-format", "json"],
        cwd=checkout,
        capture_output=True,
        text=True,
        env=environment,
    )
    if result.returncode not in (0, 1):
        print(f"  {checkout.name}: exit {result.returncode}: {result.stderr.strip()[:300]}")
        return []
    found = []
    for item in json.loads(result.stdout):
        relative = os.path.relpath(item["filename"], checkout).replace(os.sep, "/")
        found.append((relative, item["location"]["row"], item["code"], item["message"]))
    return sorted(found)


def _verdict(labels: dict, repo: str, finding: Finding) -> str:
    """The audit's word on a finding: its own label, else "wrong" on a site
    audited as correct, else "new"."""
    path, row, code, _ = finding
    exact = labels.get((repo, path, row, code))
    if exact is not None:
        return exact
    return "wrong" if labels.get((repo, path, row, ANY)) == "correct" else "new"


def _diff(repo: str, before: list[Finding], now: list[Finding], labels: dict) -> int:
    """Print what one side finds and the other does not; count the changes
    the audit calls regressions."""
    old = {f[:3]: f for f in before}
    new = {f[:3]: f for f in now}
    regressions = 0
    for key in sorted(old.keys() - new.keys()):
        verdict = _verdict(labels, repo, old[key]).replace("new", "not audited")
        regressions += verdict == "right"
        print(f"  - lost  {key[0]}:{key[1]} {key[2]} ({verdict}): {old[key][3][:120]}")
    for key in sorted(new.keys() - old.keys()):
        verdict = _verdict(labels, repo, new[key]).replace("new", "not audited")
        regressions += verdict == "wrong"
        print(f"  + found {key[0]}:{key[1]} {key[2]} ({verdict}): {new[key][3][:120]}")
    return regressions


if __name__ == "__main__":
    sys.exit(main())
