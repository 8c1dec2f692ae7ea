"""Fixes proven by behaviour: generated FastAPI apps, run before and after
`check --fix --unsafe-fixes`, with FastAPI's TestClient as the oracle.

    python bench/behaviour.py                  # 1,000 apps
    python bench/behaviour.py --apps 200 --seed 3 --keep /tmp/apps

Each app is a package of three modules (`main`, `helpers`, `state`) built from
seeded choices: how the task is queued (injected `BackgroundTasks`, a
hand-built one attached or lost, the chained `add_task`, the singular
`BackgroundTask` annotation, a response's own `background=`), where (the
route, a helper in the same module or in `helpers`, a method of a class),
what the task is (`def`, `async def` that blocks, `async def` that blocks and
is also awaited by the route), and whether the app has a custom exception
handler. Every task records its run in `state.RAN`.

All apps are written into one folder, run (one subprocess imports each and
sends its request), fixed with one command line run, and run again. Counted:
- regression: the request passed before and fails after, or a task that ran
  before no longer runs (a fix changed what working code does);
- recovered: a task lost before runs after the fix;
- still-lost: a lost task still lost (a finding without a fix is fine);
- not-compiling: a fixed module that does not compile.
Exit 1 on any regression or broken compile.
"""

from __future__ import annotations

import argparse
import json
import py_compile
import random
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections import Counter
from pathlib import Path

QUEUE = ("injected", "built-attached", "built-lost", "chained", "singular", "response-drops")
WHERE = ("route", "helper", "other-module", "method")
TASK = ("def", "async-blocking", "async-blocking-awaited")

STATE = "RAN: list = []\n"


def task_source(kind: str, name: str) -> str:
    body = f"    time.sleep(0)\n    state.RAN.append({name!r})\n"
    if kind == "def":
        return f"def {name}(value: int) -> None:\n{body}"
    return f"async def {name}(value: int) -> None:\n{body}"


def queue_lines(queue: str, tasks: str, task: str) -> tuple[list[str], str]:
    """Lines that queue `task` on `tasks` (or build their own), and the
    expression the route returns."""
    if queue == "injected":
        return [f"{tasks}.add_task({task}, 1)"], '{"ok": True}'
    if queue == "built-attached":
        return [
            "own = BackgroundTasks()",
            f"own.add_task({task}, 1)",
        ], 'JSONResponse({"ok": True}, background=own)'
    if queue == "built-lost":
        return ["own = BackgroundTasks()", f"own.add_task({task}, 1)"], '{"ok": True}'
    if queue == "chained":
        return [], f'JSONResponse({{"ok": True}}, background=BackgroundTasks().add_task({task}, 1))'
    if queue == "singular":
        return [f"{tasks}.add_task({task}, 1)"], '{"ok": True}'
    # response-drops: the injected tasks, and a response with a background of its own
    return [f"{tasks}.add_task({task}, 1)"], (
        'JSONResponse({"ok": True}, background=BackgroundTask(state.RAN.append, "own"))'
    )


def app_sources(rng: random.Random) -> tuple[dict[str, str], dict[str, str]]:
    queue, where, task = rng.choice(QUEUE), rng.choice(WHERE), rng.choice(TASK)
    handler = rng.random() < 0.3
    choice = {"queue": queue, "where": where, "task": task, "handler": str(handler)}
    annotation = "BackgroundTask" if queue == "singular" else "BackgroundTasks"
    imports = (
        "import time\n\n"
        "from fastapi import BackgroundTasks, FastAPI, Request\n"
        "from fastapi.responses import JSONResponse\n"
        "from starlette.background import BackgroundTask\n\n"
        "from . import state\n"
    )
    helpers = imports
    main = imports
    lines, returned = queue_lines(queue, "tasks", "job")
    if where == "other-module":
        helpers += "\n\n" + task_source(task, "job")
        helpers += f"\n\ndef enqueue(tasks: {annotation}):\n"
        helpers += "".join(f"    {line}\n" for line in lines)
        own_task = queue in ("built-attached", "built-lost")
        helpers += "    return own\n" if own_task else "    return None\n"
        main += "from .helpers import enqueue, job\n"
    main += "\napp = FastAPI()\n"
    if handler:
        main += (
            "\n\n@app.exception_handler(ValueError)\n"
            "async def on_value_error(request: Request, error: ValueError):\n"
            '    return JSONResponse({"error": str(error)}, status_code=400)\n'
        )
    if where != "other-module":
        main += "\n\n" + task_source(task, "job")
    awaited = "    await job(0)\n" if task == "async-blocking-awaited" else ""
    own = queue in ("built-attached", "built-lost")
    if where == "route":
        body = awaited + "".join(f"    {line}\n" for line in lines)
    elif where in ("helper", "other-module"):
        if where == "helper":
            main += f"\n\ndef enqueue(tasks: {annotation}):\n"
            main += "".join(f"    {line}\n" for line in lines)
            main += "    return own\n" if own else "    return None\n"
        call = "own = enqueue(tasks)\n" if own else "enqueue(tasks)\n"
        body = awaited + "    " + call
        if queue == "chained":
            body = awaited
    else:  # a method of a service object
        main += "\n\nclass Service:\n"
        main += f"    def enqueue(self, tasks: {annotation}):\n"
        main += "".join(f"        {line}\n" for line in lines)
        main += "        return own\n" if own else "        return None\n"
        main += "\n\nservice = Service()\n"
        call = "own = service.enqueue(tasks)\n" if own else "service.enqueue(tasks)\n"
        body = awaited + "    " + call
        if queue == "chained":
            body = awaited
    main += f'\n\n@app.post("/go")\nasync def go(tasks: {annotation}):\n'
    main += body + f"    return {returned}\n"
    return {"main.py": main, "helpers.py": helpers, "state.py": STATE, "__init__.py": ""}, choice


RUNNER = textwrap.dedent(
    """
    import importlib, json, sys
    sys.path.insert(0, sys.argv[1])
    from fastapi.testclient import TestClient
    results = {}
    for name in sys.argv[2:]:
        try:
            main = importlib.import_module(name + ".main")
            state = importlib.import_module(name + ".state")
            with TestClient(main.app, raise_server_exceptions=False) as client:
                status = client.post("/go").status_code
            results[name] = {"status": status, "ran": "job" in state.RAN}
        except BaseException as error:  # an app that does not even import
            results[name] = {"status": None, "ran": False, "error": repr(error)[:200]}
    print(json.dumps(results))
    """
)


def run_apps(folder: Path, names: list[str]) -> dict[str, dict]:
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(folder), *names],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        raise SystemExit(f"the app runner failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="write the apps here and keep them")
    options = parser.parse_args()
    folder = options.keep or Path(tempfile.mkdtemp(prefix="bgtask-behaviour-"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text("")
    rng = random.Random(options.seed)
    choices = {}
    for index in range(options.apps):
        name = f"app_{index:04d}"
        sources, choices[name] = app_sources(rng)
        (folder / name).mkdir(exist_ok=True)
        for filename, text in sources.items():
            (folder / name / filename).write_text(text)
    names = sorted(choices)
    before = run_apps(folder, names)
    command = ["check", "--no-cache", "--fix", "--unsafe-fixes", "."]
    fixed = subprocess.run(
        [sys.executable, "-m", "bgtask_lint", *command],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    summary = (fixed.stdout.strip().splitlines() or [""])[-1]
    errors = [line for line in fixed.stderr.splitlines() if line.strip()]
    outcomes: Counter[str] = Counter()
    failures = []
    for name in names:
        for module in ("main.py", "helpers.py"):
            try:
                py_compile.compile(str(folder / name / module), doraise=True)
            except py_compile.PyCompileError:
                outcomes["not-compiling"] += 1
                failures.append((name, "not-compiling"))
    after = run_apps(folder, names)
    for name in names:
        was, now = before[name], after[name]
        broke = was["status"] == 200 and now["status"] != 200
        if broke or (was["ran"] and not now["ran"]):
            outcomes["regression"] += 1
            failures.append((name, f"regression {was} -> {now}"))
        elif not was["ran"] and now["ran"]:
            outcomes["recovered"] += 1
        elif not was["ran"]:
            outcomes["still-lost"] += 1
        else:
            outcomes["ran-before-and-after"] += 1
    print(f"{options.apps} apps in {folder}; fix run: {summary} ({len(errors)} error lines)")
    for line in errors[:10]:
        print("  ", line)
    for outcome, count in sorted(outcomes.items()):
        print(f"{outcome:<22} {count:>6}")
    lost = Counter(
        choices[name]["queue"] + "/" + choices[name]["where"]
        for name in names
        if not after[name]["ran"]
    )
    if lost:
        print("still lost, by queue/where:", dict(sorted(lost.items())))
    for name, what in failures[:20]:
        print(f"FAIL {name} {choices[name]}: {what}")
    if not options.keep:
        shutil.rmtree(folder)
    return 1 if outcomes["regression"] or outcomes["not-compiling"] or errors else 0


if __name__ == "__main__":
    sys.exit(main())
