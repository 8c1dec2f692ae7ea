"""`bgtask-lint server` end to end: the real server as a subprocess, driven by
pytest-lsp's client with the capabilities VS Code and Neovim announce."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from conftest import run_cli

pytest_lsp = pytest.importorskip("pytest_lsp")  # it needs Python 3.10
from lsprotocol import types  # noqa: E402
from pygls.uris import from_fs_path  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402

PUBLISH = types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "bgtask_lint", "server"])
CLIENTS = ["visual_studio_code", "neovim"]

ROUTES = """\
from fastapi import BackgroundTasks, FastAPI

from app.tasks import notify

app = FastAPI()


@app.post("/signup")
async def signup(email: str, tasks: BackgroundTasks):
    tasks.add_task(notify, email)
    return {"ok": True}
"""
TASKS = """\
async def notify(email):
    print(email)
"""
TASKS_BLOCKING = """\
import time


async def notify(email):
    time.sleep(1)
"""
UNATTACHED = """\
from fastapi import BackgroundTasks, FastAPI

app = FastAPI()


@app.post("/signup")
async def signup(email: str):
    tasks = BackgroundTasks()
    tasks.add_task(print, email)
    return {"ok": True}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.bgtask-lint]\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "routes.py").write_text(ROUTES)
    (tmp_path / "app" / "tasks.py").write_text(TASKS)
    return tmp_path


async def start(
    client: LanguageClient, project: Path, capabilities: str, **options: Any
) -> types.InitializeResult:
    registered = client.registered = []  # type: ignore[attr-defined]

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:  # as the editors answer
        registered.extend(params.registrations)

    return await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(capabilities),
            root_uri=from_fs_path(str(project)),
            workspace_folders=[
                types.WorkspaceFolder(uri=from_fs_path(str(project)) or "", name="project")
            ],
            initialization_options={"debounce": 0.05, **options},
        )
    )


@pytest_lsp.fixture(config=SERVER, params=CLIENTS)
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest, project: Path):
    await start(lsp_client, project, request.param)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=SERVER)
async def bare(lsp_client: LanguageClient):
    """A client that initializes the server itself (with its own options)."""
    yield
    if lsp_client._server is not None and lsp_client._server.returncode is None:
        await lsp_client.shutdown_session()


def uri_of(path: Path) -> str:
    return from_fs_path(str(path)) or ""


def open_document(client: LanguageClient, path: Path, text: Optional[str] = None) -> str:
    uri = uri_of(path)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text or path.read_text()
            )
        )
    )
    return uri


def change_document(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def diagnostics(
    client: LanguageClient,
    uri: str,
    until: Callable[[list[types.Diagnostic]], bool] = lambda found: True,
    timeout: float = 30,
) -> list[types.Diagnostic]:
    """The first diagnostics published for `uri` that satisfy `until`. The
    client's store is read again after each wait: two notifications handled
    in one turn of the loop resolve only the first wait."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        known = client.diagnostics.get(uri)
        if known is not None and until(list(known)):
            return list(known)
        assert loop.time() < deadline, f"no diagnostics as wanted for {uri}: {known}"
        try:
            params = await asyncio.wait_for(client.wait_for_notification(PUBLISH), 0.2)
        except asyncio.TimeoutError:
            continue
        if params.uri == uri and until(list(params.diagnostics)):
            return list(params.diagnostics)


def codes(found: list[types.Diagnostic]) -> list[str]:
    return sorted(str(d.code) for d in found)


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """`text` with LSP edits applied (UTF-16 columns; the tests' text is ASCII)."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(p: types.Position) -> int:
        return starts[min(p.line, len(lines))] + p.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


def edits_of(action: types.CodeAction, uri: str) -> list[types.TextEdit]:
    assert action.edit is not None and action.edit.changes is not None
    return list(action.edit.changes[uri])


async def actions(
    client: LanguageClient, uri: str, row: int, only: Optional[list[str]] = None
) -> list[types.CodeAction]:
    found = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(row, 0), types.Position(row, 80)),
            context=types.CodeActionContext(diagnostics=[], only=only),
        )
    )
    return [a for a in found or [] if isinstance(a, types.CodeAction)]


def fixed_by_cli(path: Path, text: str, *options: str) -> str:
    """What `bgtask-lint check --fix` makes of `text` as the file `path`."""
    path.write_text(text)
    run_cli("check", "--fix", *options, str(path), cwd=path.parent)
    return path.read_text()


@pytest.mark.asyncio
async def test_initialize_announces_what_the_server_does(bare: LanguageClient, project: Path):
    result = await start(bare, project, "visual_studio_code")
    capabilities = result.capabilities
    assert result.server_info is not None and result.server_info.name == "bgtask-lint"
    assert capabilities.hover_provider
    provider = capabilities.code_action_provider
    assert isinstance(provider, types.CodeActionOptions)
    assert set(provider.code_action_kinds or ()) == {"quickfix", "source.fixAll.bgtask-lint"}


@pytest.mark.asyncio
async def test_diagnostics_on_open_and_on_change(client: LanguageClient, project: Path):
    path = project / "app" / "signup.py"
    uri = open_document(client, path, UNATTACHED)  # not saved: the buffer is the file
    found = await diagnostics(client, uri, lambda d: bool(d))
    assert codes(found) == ["BGT001"]
    (d,) = found
    assert d.source == "bgtask-lint"
    assert d.severity == types.DiagnosticSeverity.Error
    assert d.code_description is not None
    assert d.code_description.href.endswith("/docs/rules/BGT001.md")
    assert d.range.start == types.Position(7, 12) and d.range.end == types.Position(7, 29)
    # A burst of keystrokes: the last version's findings win.
    for version in range(2, 6):
        change_document(client, uri, version, UNATTACHED.replace("signup", f"signup{version}"))
    fixed = UNATTACHED.replace("    tasks = BackgroundTasks()\n", "").replace(
        "(email: str)", "(email: str, tasks: BackgroundTasks)"
    )
    change_document(client, uri, 6, fixed)
    assert await diagnostics(client, uri, lambda d: not d) == []


@pytest.mark.asyncio
async def test_a_quick_fix_gives_what_fix_gives(client: LanguageClient, project: Path):
    path = project / "app" / "tasks.py"
    path.write_text(TASKS_BLOCKING)
    uri = open_document(client, path)
    assert codes(await diagnostics(client, uri, bool)) == ["BGT003"]
    (fix,) = [a for a in await actions(client, uri, 4) if "asyncio.sleep" in a.title]
    assert fix.title == "bgtask-lint (BGT003): Use `await asyncio.sleep(...)`"
    assert fix.kind == types.CodeActionKind.QuickFix and fix.is_preferred
    fixed = apply(TASKS_BLOCKING, edits_of(fix, uri))
    compile(fixed, str(path), "exec")
    assert fixed == fixed_by_cli(path, TASKS_BLOCKING)
    assert "await asyncio.sleep(1)" in fixed


@pytest.mark.asyncio
async def test_unsafe_fixes_are_labelled_and_offered_only_when_allowed(
    bare: LanguageClient, project: Path
):
    await start(bare, project, "neovim", unsafeFixes=True)
    path = project / "app" / "tasks.py"
    blocking = "import requests\n\n\nasync def notify(email):\n    requests.post(email)\n"
    uri = open_document(bare, path, blocking)
    assert codes(await diagnostics(bare, uri, bool)) == ["BGT003"]
    titles = [a.title for a in await actions(bare, uri, 4)]
    assert (
        "bgtask-lint (BGT003): Make `notify` a `def` task "
        "(it then runs in the thread pool) (unsafe)" in titles
    )
    # Fix-all applies safe fixes only: there are none.
    assert await actions(bare, uri, 4, only=["source.fixAll"]) == []


@pytest.mark.asyncio
async def test_unsafe_fixes_are_not_offered_by_default(client: LanguageClient, project: Path):
    path = project / "app" / "tasks.py"
    blocking = "import requests\n\n\nasync def notify(email):\n    requests.post(email)\n"
    uri = open_document(client, path, blocking)
    assert codes(await diagnostics(client, uri, bool)) == ["BGT003"]
    titles = [a.title for a in await actions(client, uri, 4)]
    assert titles == ["bgtask-lint (BGT003): Disable for this line"]


@pytest.mark.asyncio
async def test_disable_for_this_line(client: LanguageClient, project: Path):
    path = project / "app" / "signup.py"
    uri = open_document(client, path, UNATTACHED)
    await diagnostics(client, uri, bool)
    (noqa,) = [a for a in await actions(client, uri, 7) if "Disable" in a.title]
    assert noqa.title == "bgtask-lint (BGT001): Disable for this line"
    silenced = apply(UNATTACHED, edits_of(noqa, uri))
    assert "    tasks = BackgroundTasks()  # noqa: BGT001\n" in silenced
    change_document(client, uri, 2, silenced)
    assert await diagnostics(client, uri, lambda d: not d) == []


@pytest.mark.asyncio
async def test_fix_all_gives_what_fix_gives(client: LanguageClient, project: Path):
    path = project / "app" / "signup.py"
    both = UNATTACHED + "\n\nasync def later():\n    import time\n\n    time.sleep(1)\n"
    uri = open_document(client, path, both)
    await diagnostics(client, uri, bool)
    (fix_all,) = await actions(client, uri, 0, only=["source.fixAll"])
    assert fix_all.kind == "source.fixAll.bgtask-lint"
    fixed = apply(both, edits_of(fix_all, uri))
    compile(fixed, str(path), "exec")
    assert fixed == fixed_by_cli(path, both)
    assert "tasks: BackgroundTasks" in fixed


@pytest.mark.asyncio
async def test_hover_shows_the_rule(client: LanguageClient, project: Path):
    path = project / "app" / "signup.py"
    text = UNATTACHED.replace("    return", "    x = 1  # noqa: BGT003, BGT001\n    return")
    uri = open_document(client, path, text)
    await diagnostics(client, uri, bool)
    row = text.splitlines().index("    x = 1  # noqa: BGT003, BGT001")
    at_code = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(row, 22))
    )
    assert at_code is not None and isinstance(at_code.contents, types.MarkupContent)
    assert at_code.contents.value.startswith("**BGT003** `blocking-call-in-async-task`")
    assert "docs/rules/BGT003.md" in at_code.contents.value
    on_finding = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(7, 15))
    )
    assert on_finding is not None and isinstance(on_finding.contents, types.MarkupContent)
    assert on_finding.contents.value.startswith("**BGT001** `unattached-background-tasks`")


@pytest.mark.asyncio
async def test_a_task_module_edited_and_saved_shows_in_the_route_module(
    bare: LanguageClient, project: Path
):
    await start(bare, project, "visual_studio_code", run="onSave")
    # The task module first: a check the route module's opening starts for
    # both could otherwise still be due when the edit below comes.
    tasks_path = project / "app" / "tasks.py"
    tasks = open_document(bare, tasks_path)
    assert await diagnostics(bare, tasks) == []
    routes = open_document(bare, project / "app" / "routes.py")
    assert await diagnostics(bare, routes) == []
    change_document(bare, tasks, 2, TASKS_BLOCKING)
    await asyncio.sleep(0.3)  # onSave: typing alone checks nothing
    assert not bare.diagnostics.get(routes)
    tasks_path.write_text(TASKS_BLOCKING)
    bare.text_document_did_save(
        types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(tasks))
    )
    found = await diagnostics(bare, routes, bool)
    assert codes(found) == ["BGT003"]
    (d,) = found
    assert d.range.start == types.Position(9, 4)  # the add_task call
    assert "app/tasks.py:5" in d.message
    assert d.related_information is not None
    there = d.related_information[0].location
    assert there.uri == tasks and there.range.start == types.Position(4, 4)
    assert codes(await diagnostics(bare, tasks, bool)) == ["BGT003"]


@pytest.mark.asyncio
async def test_unsaved_task_module_counts_on_type(client: LanguageClient, project: Path):
    routes = open_document(client, project / "app" / "routes.py")
    assert await diagnostics(client, routes) == []
    tasks = open_document(client, project / "app" / "tasks.py")
    change_document(client, tasks, 2, TASKS_BLOCKING)
    assert codes(await diagnostics(client, routes, bool)) == ["BGT003"]


@pytest.mark.asyncio
async def test_the_configuration_is_read_again_when_it_changes(
    client: LanguageClient, project: Path
):
    config = project / "pyproject.toml"
    config.write_text('[tool.bgtask-lint]\nignore = ["BGT001"]\n')
    uri = open_document(client, project / "app" / "signup.py", UNATTACHED)
    assert await diagnostics(client, uri) == []
    config.write_text("[tool.bgtask-lint]\n")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            [types.FileEvent(uri=uri_of(config), type=types.FileChangeType.Changed)]
        )
    )
    assert codes(await diagnostics(client, uri, bool)) == ["BGT001"]


@pytest.mark.asyncio
async def test_a_syntax_error_mid_typing(client: LanguageClient, project: Path):
    uri = open_document(client, project / "app" / "signup.py", UNATTACHED)
    await diagnostics(client, uri, bool)
    change_document(client, uri, 2, UNATTACHED.replace("return {", "return {("))
    found = await diagnostics(client, uri, lambda d: codes(d) == ["BGT900"])
    assert len(found) == 1
    change_document(client, uri, 3, UNATTACHED)
    assert codes(await diagnostics(client, uri, lambda d: codes(d) == ["BGT001"])) == ["BGT001"]


@pytest.mark.asyncio
async def test_documents_it_cannot_check_are_logged(client: LanguageClient, project: Path):
    (project / "pyproject.toml").write_text("[tool.bgtask-lint]\nmax-file-size = 100\n")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            [types.FileEvent(uri_of(project / "pyproject.toml"), types.FileChangeType.Changed)]
        )
    )
    open_document(client, project / "app" / "signup.py", UNATTACHED)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem("untitled:Untitled-1", "python", 1, UNATTACHED)
        )
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    wanted = ("larger than `max-file-size`", "untitled:Untitled-1 is not a file on disk")
    # Polled: the client may store a message after the wait for it has returned.
    while not all(any(w in m.message for m in client.log_messages) for w in wanted):
        assert loop.time() < deadline, [m.message for m in client.log_messages]
        await asyncio.sleep(0.05)
    # The server goes on.
    uri = open_document(client, project / "app" / "small.py", "import os\n")
    assert await diagnostics(client, uri) == []


@pytest.mark.asyncio
async def test_shutdown_and_exit_end_the_process_with_0(bare: LanguageClient, project: Path):
    await start(bare, project, "neovim")
    await bare.shutdown_session()
    assert bare._server is not None and bare._server.returncode == 0


@pytest.mark.asyncio
async def test_closing_an_unsaved_task_module_drops_its_text(client: LanguageClient, project: Path):
    routes = open_document(client, project / "app" / "routes.py")
    tasks = open_document(client, project / "app" / "tasks.py", TASKS_BLOCKING)
    assert codes(await diagnostics(client, routes, bool)) == ["BGT003"]
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(tasks))
    )
    assert await diagnostics(client, routes, lambda d: not d) == []  # the file on disk is fine
    assert await diagnostics(client, tasks, lambda d: not d) == []  # cleared too
