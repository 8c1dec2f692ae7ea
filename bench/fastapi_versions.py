"""What real FastAPI versions do with background tasks around a yield
dependency: the measurements behind BGT008's and BGT009's version gates.

    python bench/fastapi_versions.py                       # the matrix
    python bench/fastapi_versions.py --versions 0.110.0 0.120.0 --json

Each FastAPI version is installed with pip into a folder of its own (once,
under --cache) and a probe app is run against it in a fresh interpreter that
sees only that folder (`python -S`, PYTHONPATH): the TestClient sends one
request per route and the probe records what ran. Measured, per version:

- `after-yield`: a task added to the injected BackgroundTasks in a yield
  dependency's teardown (after `yield`) runs (BGT008's loss when it does not);
- `after-yield-function-scope`: the same with `Depends(dep, scope="function")`
  (FastAPI 0.121 and later; "n/a" before);
- `open-in-task`: the value a yield dependency hands to a task is still open
  (not yet torn down) when the task runs (BGT009's loss when it is not).

Prints one line per version (or JSON); exit 1 when a version cannot be
installed or its probe fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

# Both edges of the range that tore down before the response (0.106 to
# 0.117), its middle, the first release with `Depends(scope=...)`, and the
# newest at the time of writing.
VERSIONS = ("0.105.0", "0.106.0", "0.115.0", "0.117.1", "0.118.0", "0.121.0", "0.165.0")
# httpx 0.28 dropped the `app=` argument old Starlette TestClients pass.
COMPANIONS = ("httpx<0.28",)

PROBE = r"""
import json
from fastapi import BackgroundTasks, Depends, FastAPI
from fastapi.testclient import TestClient

RAN = []
app = FastAPI()


def dep_adds_after_yield(tasks: BackgroundTasks):
    yield "value"
    tasks.add_task(RAN.append, "after-yield")


class Resource:
    open = True


def dep_resource():
    resource = Resource()
    try:
        yield resource
    finally:
        resource.open = False


def record_open(resource):
    RAN.append("open" if resource.open else "closed")


@app.get("/after-yield")
def after_yield(value: str = Depends(dep_adds_after_yield)):
    return {}


@app.get("/open-in-task")
def open_in_task(tasks: BackgroundTasks, resource: Resource = Depends(dep_resource)):
    tasks.add_task(record_open, resource)
    return {}


try:
    function_scope = Depends(dep_adds_after_yield, scope="function")
except TypeError:
    function_scope = None
if function_scope is not None:

    @app.get("/after-yield-function-scope")
    def after_yield_function_scope(value: str = function_scope):
        return {}


client = TestClient(app)
found = {}
for route in ("after-yield", "after-yield-function-scope", "open-in-task"):
    if route == "after-yield-function-scope" and function_scope is None:
        found[route] = "n/a"
        continue
    del RAN[:]
    response = client.get("/" + route)
    assert response.status_code == 200, response.text
    if route == "open-in-task":
        found[route] = "yes" if RAN == ["open"] else "no"
    else:
        found[route] = "yes" if RAN else "no"
import fastapi, starlette
found["fastapi"] = fastapi.__version__
found["starlette"] = starlette.__version__
print(json.dumps(found))
"""


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "bgtask-lint-bench" / "fastapi"


def install(version: str, cache: Path) -> Path:
    """The folder holding FastAPI `version` and its dependencies."""
    target = cache / version
    done = target / ".complete"
    if done.exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    command = [
        *(sys.executable, "-m", "pip", "install", "--quiet", "--no-input"),
        *("--disable-pip-version-check", "--upgrade", "--target", str(target)),
        *(f"fastapi=={version}", *COMPANIONS),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise RuntimeError(f"cannot install fastapi=={version}: {last}")
    done.write_text(version, encoding="utf-8")
    return target


def probe(version: str, cache: Path) -> dict[str, str]:
    """What `version` does, as the probe app measures it."""
    target = install(version, cache)
    environment = {**os.environ, "PYTHONPATH": str(target), "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [sys.executable, "-S", "-c", PROBE],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"fastapi {version}: the probe failed: {last}")
    found: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", nargs="+", default=list(VERSIONS))
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument("--json", action="store_true", help="one JSON object, by version")
    arguments = parser.parse_args(argv)
    table: dict[str, dict[str, str]] = {}
    failed = False
    for version in arguments.versions:
        try:
            table[version] = probe(version, arguments.cache)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            print(f"error: {error}", file=sys.stderr)
            failed = True
    if arguments.json:
        print(json.dumps(table, indent=2, sort_keys=True))
    else:
        columns = ("after-yield", "after-yield-function-scope", "open-in-task")
        print(f"{'fastapi':<10} {'starlette':<10} " + " ".join(f"{c:<27}" for c in columns))
        for version, found in table.items():
            cells = " ".join(f"{found[c]:<27}" for c in columns)
            print(f"{version:<10} {found['starlette']:<10} {cells}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
