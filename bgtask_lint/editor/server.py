"""`bgtask-lint server`: the language server, pygls wired to the session.

Checks run one at a time on a thread of their own (the analysis keeps
per-process caches that are not shared between threads), so the protocol's
loop stays free to take the next keystroke. A change is checked after
`debounce` seconds without another; a check whose document changed while it
ran is not published, since the newer one follows.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from bgtask_lint import __version__
from bgtask_lint.diagnostic import Diagnostic
from bgtask_lint.editor import protocol
from bgtask_lint.editor.protocol import FIX_ALL, Lines
from bgtask_lint.editor.session import (
    Checked,
    EditorOptions,
    Session,
    noqa_code_at,
    parse_options,
    rule_hover,
)
from bgtask_lint.text.source import DecodeError, UnreadableFile, decode_source, read_file

CONFIGURATION_FILES = ("pyproject.toml", "bgtask-lint.toml", ".bgtask-lint.toml")
T = TypeVar("T")


class Server(LanguageServer):
    def __init__(self) -> None:
        super().__init__("bgtask-lint", __version__)
        self.session = Session(EditorOptions())
        self.option_problems: list[str] = []
        self.was_shut_down = False
        # One thread: checks never overlap (see the module's docstring).
        self.checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bgtask-lint")
        # The last findings of each open document, with its version then.
        self.results: dict[str, tuple[Optional[int], Checked]] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}  # debounced checks, by project

    # What runs on the checker's thread.

    async def off_loop(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.checker, work, *args)

    def log(self, line: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=f"bgtask-lint: {line}"))

    def encoding(self) -> str:
        return str(self.workspace.position_encoding or types.PositionEncodingKind.Utf16)

    def document_path(self, uri: str) -> Optional[str]:
        path = to_fs_path(uri) if uri.startswith("file:") else None
        return os.path.abspath(path) if path else None

    def lines_of(self, path: str) -> Optional[Lines]:
        """A file's lines, from its open document or its file on disk."""
        text = self.session.texts.get(os.path.abspath(path))
        if text is None:
            try:
                text = decode_source(read_file(path)[0]).text
            except (UnreadableFile, DecodeError, OSError):
                return None
        return Lines(text, self.encoding())

    # Checking and publishing.

    def schedule(self, path: str, delay: float) -> None:
        """Check `path` and the open documents of its project after `delay`
        seconds, unless another change comes first."""
        from bgtask_lint.config.roots import find_project_root

        key = str(find_project_root(path, is_dir=False))
        earlier = self.pending.pop(key, None)
        if earlier is not None:
            earlier.cancel()
        self.pending[key] = asyncio.ensure_future(self._check_later(path, delay))

    def schedule_all(self) -> None:
        for path in sorted(self.session.texts):
            self.schedule(path, 0)

    async def _check_later(self, path: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        for each in await self.off_loop(self.session.same_project, path):
            await self.check_and_publish(each)

    async def check_and_publish(self, path: str) -> Optional[Checked]:
        uri = self._uri_of(path)
        if uri is None:
            return None
        version = self.workspace.get_text_document(uri).version
        try:
            checked = await self.off_loop(self.session.check, path)
        except Exception as error:  # a bug of ours: the server goes on
            self.log(
                f"{path}: internal error ({type(error).__name__}: {error}); please report this"
            )
            return None
        for line in checked.problems:
            self.log(line)
        document = self.workspace.text_documents.get(uri)
        if document is None or document.version != version or path not in self.session.texts:
            return None  # changed or closed meanwhile: the newer check publishes
        self.results[uri] = (version, checked)
        lines = Lines(checked.text, self.encoding())
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri,
                version=version,
                diagnostics=[
                    protocol.diagnostic(d, lines, self.lines_of) for d in checked.diagnostics
                ],
            )
        )
        return checked

    def _uri_of(self, path: str) -> Optional[str]:
        for uri in self.workspace.text_documents:
            if self.document_path(uri) == path:
                return uri
        return None

    async def current(self, uri: str) -> Optional[Checked]:
        """The findings of the document as it is now: the published ones,
        or a check made now when it changed since."""
        path = self.document_path(uri)
        if path is None or path not in self.session.texts:
            return None
        document = self.workspace.get_text_document(uri)
        known = self.results.get(uri)
        if known is not None and known[0] == document.version:
            return known[1]
        return await self.check_and_publish(path)


server = Server()


@server.feature(types.INITIALIZE)
def initialize(ls: Server, params: types.InitializeParams) -> None:
    options, ls.option_problems = parse_options(params.initialization_options)
    folders = [to_fs_path(f.uri) for f in params.workspace_folders or []]
    if not folders and params.root_uri:
        folders = [to_fs_path(params.root_uri)]
    ls.session = Session(options, [f for f in folders if f])


@server.feature(types.INITIALIZED)
async def initialized(ls: Server, params: types.InitializedParams) -> None:
    for line in ls.option_problems:
        ls.log(line)
    watching = ls.client_capabilities.workspace
    changes = watching.did_change_watched_files if watching else None
    if changes is not None and changes.dynamic_registration:
        patterns = ["**/*.py", *(f"**/{name}" for name in CONFIGURATION_FILES)]
        registration = types.Registration(
            id="bgtask-lint-watched-files",
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(
                watchers=[types.FileSystemWatcher(glob_pattern=p) for p in patterns]
            ),
        )
        try:
            await ls.client_register_capability_async(types.RegistrationParams([registration]))
        except Exception as error:  # the client refused: saves still reload
            ls.log(f"cannot watch the configuration files ({error})", types.MessageType.Info)


@server.feature(types.SHUTDOWN)
def shutdown(ls: Server, params: None) -> None:
    ls.was_shut_down = True
    for task in ls.pending.values():
        task.cancel()


def _opened(ls: Server, uri: str) -> Optional[str]:
    """The path of an open document, its text taken into the session (None,
    logged once: not a file on disk)."""
    path = ls.document_path(uri)
    document = ls.workspace.get_text_document(uri)
    if path is None:
        ls.log(f"{uri} is not a file on disk: not checked", types.MessageType.Info)
        return None
    ls.session.texts[path] = document.source
    return path


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: Server, params: types.DidOpenTextDocumentParams) -> None:
    path = _opened(ls, params.text_document.uri)
    if path is not None:
        ls.schedule(path, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: Server, params: types.DidChangeTextDocumentParams) -> None:
    path = ls.document_path(params.text_document.uri)
    if path is None:
        return
    ls.session.texts[path] = ls.workspace.get_text_document(params.text_document.uri).source
    if ls.session.options.run == "onType":
        ls.schedule(path, ls.session.options.debounce)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls: Server, params: types.DidSaveTextDocumentParams) -> None:
    path = ls.document_path(params.text_document.uri)
    if path is None:
        return
    if os.path.basename(path) in CONFIGURATION_FILES:
        await ls.off_loop(ls.session.reload)
        ls.schedule_all()
    elif path in ls.session.texts:
        ls.schedule(path, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: Server, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    path = ls.document_path(uri)
    ls.results.pop(uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
    if path is not None and ls.session.texts.pop(path, None) is not None:
        ls.schedule(path, 0)  # its project's open documents: its buffer no longer counts


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
async def did_change_watched_files(ls: Server, params: types.DidChangeWatchedFilesParams) -> None:
    paths = [to_fs_path(change.uri) or "" for change in params.changes]
    if any(os.path.basename(p) in CONFIGURATION_FILES for p in paths):
        await ls.off_loop(ls.session.reload)
        ls.log("a configuration file changed: read again", types.MessageType.Info)
    ls.schedule_all()


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=False
    ),
)
async def code_action(
    ls: Server, params: types.CodeActionParams
) -> Optional[list[types.CodeAction]]:
    uri = params.text_document.uri
    checked = await ls.current(uri)
    path = ls.document_path(uri)
    if checked is None or path is None:
        return None
    lines = Lines(checked.text, ls.encoding())
    only = params.context.only
    actions: list[types.CodeAction] = []
    if protocol.kind_wanted(types.CodeActionKind.QuickFix, only):
        unsafe = await ls.off_loop(ls.session.unsafe_fixes, path)
        for d in checked.diagnostics:
            shown = protocol.diagnostic(d, lines, ls.lines_of)
            if not protocol.overlaps(shown.range, params.range):
                continue
            if protocol.is_offered(d, unsafe):
                fixed = await ls.off_loop(ls.session.with_fix, checked.text, d)
                actions.append(
                    _quick_fix(
                        uri, d, shown, protocol.replacing(checked.text, fixed, lines.encoding)
                    )
                )
            noqa = await _noqa_action(ls, uri, path, d, shown, checked.text)
            if noqa is not None:
                actions.append(noqa)
    if protocol.kind_wanted(FIX_ALL, only):
        fix_all = await _fix_all(ls, uri, path, checked)
        if fix_all is not None:
            actions.append(fix_all)
    return actions


def _quick_fix(
    uri: str, d: Diagnostic, shown: types.Diagnostic, edits: list[types.TextEdit]
) -> types.CodeAction:
    """The fix of `d`, as one edit of the lines it changes (its edits may
    touch, an added import beside a removed one, which clients apply
    differently)."""
    assert d.fix is not None
    unsafe = "" if d.fix.applicability == "safe" else " (unsafe)"
    return types.CodeAction(
        title=f"bgtask-lint ({d.code}): {d.fix.message}{unsafe}",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[shown],
        is_preferred=not unsafe,
        edit=types.WorkspaceEdit(changes={uri: edits}),
    )


async def _noqa_action(
    ls: Server, uri: str, path: str, d: Diagnostic, shown: types.Diagnostic, text: str
) -> Optional[types.CodeAction]:
    if d.noqa_row is None or d.code.startswith("BGT9"):
        return None  # the input's own problems, and findings shown here from elsewhere
    updated = await ls.off_loop(ls.session.with_noqa, path, d.noqa_row, d.code)
    if updated is None:
        return None
    return types.CodeAction(
        title=f"bgtask-lint ({d.code}): Disable for this line",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[shown],
        edit=types.WorkspaceEdit(changes={uri: protocol.replacing(text, updated, ls.encoding())}),
    )


async def _fix_all(ls: Server, uri: str, path: str, checked: Checked) -> Optional[types.CodeAction]:
    if not any(protocol.is_offered(d, unsafe=False) for d in checked.diagnostics):
        return None  # no safe fix: nothing to run `--fix` for
    fixed, problems = await ls.off_loop(ls.session.fixed_text, path)
    for line in problems:
        ls.log(line)
    if fixed is None:
        return None
    return types.CodeAction(
        title="bgtask-lint: Fix all auto-fixable problems",
        kind=FIX_ALL,
        edit=types.WorkspaceEdit(
            changes={uri: protocol.replacing(checked.text, fixed, ls.encoding())}
        ),
    )


@server.feature(types.TEXT_DOCUMENT_HOVER)
async def hover(ls: Server, params: types.HoverParams) -> Optional[types.Hover]:
    uri = params.text_document.uri
    document = ls.workspace.get_text_document(uri)
    lines = Lines(document.source, ls.encoding())
    row = params.position.line
    if row < len(document.lines):
        code = noqa_code_at(document.lines[row].rstrip("\r\n"), lines.character(params.position))
        if code is not None:
            text = await ls.off_loop(rule_hover, code)
            return types.Hover(_markdown([text])) if text else None
    checked = await ls.current(uri)
    if checked is None:
        return None
    here = types.Range(params.position, params.position)
    found_in = Lines(checked.text, ls.encoding())
    under = {
        d.code
        for d in checked.diagnostics
        if protocol.overlaps(found_in.range(d.location, d.end_location), here)
    }
    texts = [await ls.off_loop(rule_hover, code) for code in sorted(under)]
    return types.Hover(_markdown(texts)) if any(texts) else None


def _markdown(texts: Sequence[Optional[str]]) -> types.MarkupContent:
    return types.MarkupContent(
        kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(t for t in texts if t)
    )


def serve() -> int:
    """Speak LSP over stdin and stdout until `exit`; the exit code is 0 after
    a `shutdown`, 1 without one (as the protocol asks)."""
    from bgtask_lint.analysis.statements import reuse_statements
    from bgtask_lint.run.context import remember_between_runs

    reuse_statements()  # every pause in typing re-parses only the statements it changed
    remember_between_runs()  # and reads no other file it did not change
    server.start_io()
    server.checker.shutdown(wait=False, cancel_futures=True)
    return 0 if server.was_shut_down else 1
