"""The language server's latency: from `didChange` to the diagnostics of that
version, for a route module of about 1,000 lines, with the server warm.

    pip install -e '.[lsp]' && python bench/lsp_latency.py [--rounds 30] [--project DIR]

The server runs as editors run it, a subprocess speaking LSP over stdio,
driven by pygls's client. Each round edits one line of the module (a new
finding appears or goes, so every round's diagnostics differ) and waits for
the publication of that version. Measured with `debounce` 0, so the figure is
the check and the protocol, and with the default debounce (0.3 s), which an
editor adds on top. Also the check alone, in this process (Session.check,
with the statement reuse the server turns on), to tell the protocol's
share. With `--project`, the module is written into
that project's first package (a real checkout: the check then reads the
project for the routes and tasks around it) and removed afterwards.

A benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

ROUTE = '''

@router.post("/items/{n}")
async def create_item_{n}(item_id: int, tasks: BackgroundTasks, db: Session = Depends(get_db)):
    """Create item {n} and tell its owner."""
    item = db.get(Item, item_id)
    if item is None:
        raise HTTPException(status_code=404)
    tasks.add_task(notify_owner, item_id)
    tasks.add_task(audit, "create", item_id)
    return {{"id": item_id, "n": {n}}}
'''
HEADER = '''"""Routes of the benchmark: about 1,000 lines of FastAPI endpoints."""

import time

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException
from sqlalchemy.orm import Session

router = APIRouter()


class Item:
    pass


def get_db():
    db = Session()
    try:
        yield db
    finally:
        db.close()


async def notify_owner(item_id):
    print(item_id)


def audit(action, item_id):
    print(action, item_id)
'''


def route_module(lines: int = 1000) -> str:
    text, n = HEADER, 0
    while text.count("\n") < lines:
        text += ROUTE.format(n=n)
        n += 1
    return text


def edited(text: str, round_: int) -> str:
    """The module with one line changed: on odd rounds the first task sleeps
    (a BGT003 finding), on even rounds it does not."""
    line = "    time.sleep(1)\n" if round_ % 2 else "    print(item_id)\n"
    return text.replace("    print(item_id)\n", line, 1)


async def through_the_server(path: Path, text: str, rounds: int, debounce: float) -> list[float]:
    client = LanguageClient("bench", "1")
    published: dict[int, asyncio.Event] = {}

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_publish(params: types.PublishDiagnosticsParams) -> None:
        if params.version is not None and params.version in published:
            published[params.version].set()

    await client.start_io(sys.executable, "-m", "bgtask_lint", "server")
    root = from_fs_path(str(path.parent)) or ""
    await client.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=root,
            workspace_folders=[types.WorkspaceFolder(uri=root, name="bench")],
            initialization_options={"debounce": debounce},
        )
    )
    client.initialized(types.InitializedParams())
    uri = from_fs_path(str(path)) or ""
    published[1] = asyncio.Event()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text))
    )
    await asyncio.wait_for(published[1].wait(), 120)  # warm: libcst imported, rules loaded
    times = []
    for round_ in range(1, rounds + 1):
        version = round_ + 1
        published[version] = asyncio.Event()
        start = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangeWholeDocument(text=edited(text, round_))
                ],
            )
        )
        await asyncio.wait_for(published[version].wait(), 60)
        times.append(time.perf_counter() - start)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return times


def in_process(path: Path, text: str, rounds: int) -> list[float]:
    from bgtask_lint.analysis.statements import reuse_statements
    from bgtask_lint.editor.session import EditorOptions, Session
    from bgtask_lint.run.context import remember_between_runs

    reuse_statements()  # as the server does
    remember_between_runs()
    session = Session(EditorOptions(), [str(path.parent)])
    session.texts[str(path)] = text
    session.check(str(path))  # warm
    times = []
    for round_ in range(1, rounds + 1):
        session.texts[str(path)] = edited(text, round_)
        start = time.perf_counter()
        session.check(str(path))
        times.append(time.perf_counter() - start)
    return times


def _package_in(project: Path) -> Path:
    """The first package of a checkout (a folder with __init__.py), by name."""
    for init in sorted(project.glob("*/__init__.py")) + sorted(project.glob("*/*/__init__.py")):
        return init.parent
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--project", type=Path, help="a real checkout to put the module in")
    args = parser.parse_args()
    text = route_module()
    with tempfile.TemporaryDirectory() as scratch:
        if args.project is not None:
            folder = _package_in(args.project.resolve())
        else:
            folder = Path(scratch) / "app"
            folder.mkdir()
            (Path(scratch) / "pyproject.toml").write_text("[tool.bgtask-lint]\n")
            (folder / "__init__.py").write_text("")
        path = folder / "bench_routes_1000.py"
        path.write_text(text)
        try:
            alone = in_process(path, text, args.rounds)
            fast = asyncio.run(through_the_server(path, text, args.rounds, 0.0))
            debounced = asyncio.run(through_the_server(path, text, max(args.rounds // 3, 5), 0.3))
        finally:
            os.unlink(path)
    where = f"in {args.project}" if args.project else "in a project of its own"
    print(f"route module: {text.count(chr(10))} lines, {where}; medians of {args.rounds} edits")
    for label, times in (
        ("the check alone (in process)", alone),
        ("didChange -> diagnostics, debounce 0", fast),
        ("didChange -> diagnostics, debounce 0.3 s", debounced),
    ):
        ordered = sorted(times)
        p90 = ordered[int(0.9 * (len(ordered) - 1))]
        print(
            f"  {label:<42} median {1000 * statistics.median(times):6.1f} ms"
            f"   p90 {1000 * p90:6.1f} ms"
        )


if __name__ == "__main__":
    main()
