"""The project around the checked files: which module lives in which file, and
where a name imported from another module of the project is defined.

In mature code the blocking call of a background task is rarely in the task
itself: it sits two calls deep in another module. A Project lets rules follow a
name from `from shop.services import mail` to the function in
`shop/services/mail.py`, parsing each module the analysis reaches once per run,
and only those.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

from bgtask_lint.analysis.facts import AwaitedHelper, given_injected, is_task_key
from bgtask_lint.analysis.search_path import added_to_search_path
from bgtask_lint.config import listing
from bgtask_lint.text.source import DEFAULT_MAX_FILE_SIZE, DIRECTORY, MISSING, Stamp, read_source

if TYPE_CHECKING:
    from bgtask_lint.analysis.model import Model, Target
    from bgtask_lint.analysis.outline import Outline

# How many `from .x import y` re-exports are followed to find a definition.
MAX_REEXPORTS = 8
# Whether a module that is not checked may be read in part: an outline that
# keeps the definitions a question needs and what they use (outline.py). A
# cheaper read, never a different answer: tests/test_read_in_part.py and
# bench/same_findings.py --read-whole require the same findings without it.
READ_IN_PART = True


def _key(path: Union[str, Path]) -> str:
    """How the project names a file: its absolute path as a string, symlinks
    not resolved (a `stat` per component, and a Path, saved thousands of
    times a run); remembered for absolute strings, asked again and again."""
    if type(path) is str and path.startswith(os.sep):
        key = _KEYS.get(path)
        if key is None:
            key = _KEYS[path] = os.path.abspath(path)
        return key
    return os.path.abspath(path)


_KEYS: dict[str, str] = {}


def forget_keys() -> None:
    """See api.forget_what_was_read."""
    _KEYS.clear()


_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
# An answer of Project.hands_on, with the files it read.
_Answer = tuple[bool, list[str]]


# `@app.exception_handler(HTTPException)`, `app.add_exception_handler(404, h)`,
# `FastAPI(exception_handlers={StarletteHTTPException: h})`.
_HTTP_EXCEPTION_HANDLER = re.compile(
    r"exception_handler\(\s*(?:[\w.]*HTTPException\b|\d{3}\b|[\w.]*HTTP_\d{3}\w*)"
    r"|exception_handlers\s*=\s*\{[^}]*?(?:HTTPException\b|\b\d{3}\s*:|HTTP_\d{3}\w*\s*:)"
)


def handles_http_exceptions(text: Optional[str]) -> bool:
    """Whether `text` registers an exception handler that HTTPException reaches."""
    return (
        text is not None
        and "exception_handler" in text
        and bool(_HTTP_EXCEPTION_HANDLER.search(text))
    )


def _mentions(text: Optional[str], words: tuple[str, ...]) -> bool:
    return text is not None and any(word in text for word in words)


class Project:
    def __init__(
        self,
        root: Path,
        source_roots: Sequence[Path] = (),
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    ) -> None:
        self.root = Path(_key(root))
        self.max_file_size = max_file_size
        # Where top-level modules live: configured ones, `src/`, the root itself.
        roots = [Path(_key(r)) for r in source_roots]
        # The stamp of every file read, taken when it was read, and of every
        # module path found missing when it was looked for (for the cache).
        self.stamps: dict[str, Stamp] = {}
        src = self.root / "src"
        self._src = str(src)
        has_src = listing.has(self.root, "src") and os.path.isdir(src)
        if has_src:
            roots.append(src)
        self.stamps[str(src)] = DIRECTORY if has_src else MISSING
        roots.append(self.root)
        self.source_roots = list(dict.fromkeys(roots))
        # Per directory, its package root (see package_root); per file, the
        # other roots of its imports (see import_roots).
        self._import_roots: dict[str, str] = {}
        self._import_roots_of: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        # Texts that stand for files' contents (see runner.Run.overlay).
        self.overlay: dict[str, tuple[str, str]] = {}
        # Per module name, every path looked at to find it, the found one last:
        # a cached finding depends on the absence of the ones before it too.
        self._probes: dict[str, list[str]] = {}
        # Each file's model, with the text it was built from.
        self._models: dict[str, tuple[Optional[str], Optional[Model]]] = {}
        self._paths: dict[str, Optional[Path]] = {}
        self._module_names: dict[str, tuple[Optional[str], bool]] = {}
        # Files this run reports on (others are only read to resolve names).
        self.checked: set[str] = set()
        # While a file is checked: the other files its findings depend on, for
        # the result cache (see track_consulted).
        self.consulted: Optional[set[str]] = None
        # What the checked files say about the functions of other files, by
        # file: the functions they submit as background tasks (`func`,
        # `Class.method`: their own files must be checked for BGT003 even when
        # no task is submitted there), and what FastAPI-made values reach which
        # parameters (provenance facts: see facts.py).
        # Filed as file -> fact -> the files that said it.
        self._facts: dict[str, dict[str, set[str]]] = {}
        # The project's files a run does not check, when it reads them to
        # complete chains (run/context.py).
        self.context_files: list[str] = []
        self._handles_http_exceptions: Optional[bool] = None
        # The files handing the app to a serverless adapter (serverless.py).
        self.serverless_entries: Optional[list[str]] = None
        # Per file, the model whose routes have been followed into the
        # functions they call, and the facts that gave (provenance.propagate).
        self.propagated: dict[str, tuple[Model, list[tuple[str, str]]]] = {}
        # While set, a module is parsed only if its text has one of these words,
        # and whether a service handing values on passes (only_modules_mentioning).
        self._parse_filter: Optional[tuple[tuple[str, ...], bool]] = None
        self._mention: dict[tuple[str, tuple[str, ...]], bool] = {}
        # hands_on's answers, with the files each read.
        self._handing: dict[tuple[str, tuple[str, ...]], tuple[bool, list[str]]] = {}
        self._texts: dict[str, Optional[str]] = {}
        # Per module read only in part: what Python's parser found in it, and
        # the models of its outlines with the parts each kept (outline_model).
        self._outline_of: dict[str, Optional[Outline]] = {}
        self._outlines: dict[str, list[tuple[frozenset[int], Optional[Model]]]] = {}
        # _imported_from's answers, with the model each was read from.
        self._imported: dict[tuple[Optional[str], str], tuple[Model, list[str]]] = {}
        # _outline_model's answers, with the files each read.
        self._outline_answers: dict[
            tuple[str, tuple[str, ...], tuple[str, ...], Optional[tuple[tuple[str, ...], bool]]],
            tuple[Optional[Model], list[str]],
        ] = {}

    # -- modules and files -----------------------------------------------
    def import_roots(self, path: Optional[str]) -> tuple[str, ...]:
        """Where Python finds the modules file `path` imports, besides the
        source roots: the root of its package when run from there (as mypy and
        pyright crawl), the nearest directory above it without an
        `__init__.py`, when that is below the project root and not a source
        root already (`crm/crm/database.py` imports `crm.database`); and the
        project's directories the file puts on `sys.path` itself."""
        return self._roots_of(path)[0]

    def search_path_added_by(self, path: str) -> tuple[str, ...]:
        """The project's directories file `path` puts on `sys.path` itself."""
        return self._roots_of(path)[1]

    def _roots_of(self, path: Optional[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if path is None:
            return (), ()
        key = _key(path)
        if key not in self._import_roots_of:  # asked for every name a file resolves
            root = self._import_root(os.path.dirname(key))
            inside = str(self.root) + os.sep
            added = tuple(
                d for d in added_to_search_path(self._text(key), key) if d.startswith(inside)
            )
            roots = tuple(dict.fromkeys([*([root] if root else []), *added]))
            self._import_roots_of[key] = (roots, added)
        return self._import_roots_of[key]

    def _import_root(self, directory: str) -> Optional[str]:
        if not os.path.isfile(os.path.join(directory, "__init__.py")):
            return None  # a top-level module: found from the project's roots, or a script
        root = self.package_root(directory)
        if not root.startswith(str(self.root) + os.sep) or Path(root) in self.source_roots:
            return None
        return root

    def package_root(self, directory: str) -> str:
        """The nearest directory at or above `directory` without an
        `__init__.py` (the project root at the highest); cached per directory."""
        walked = []
        top = str(self.root)
        while directory not in self._import_roots:
            walked.append(directory)
            parent = os.path.dirname(directory)
            if (
                directory == top
                or parent == directory
                or not os.path.isfile(os.path.join(directory, "__init__.py"))
            ):
                self._import_roots[directory] = directory
                break
            directory = parent
        found = self._import_roots[directory]
        for seen in walked:
            self._import_roots[seen] = found
        return found

    def module_name(self, path: Path) -> tuple[Optional[str], bool]:
        """(`shop.api.routes`, is a package) for a file under a source root
        (asked for every file of a project its context walk reads: remembered)."""
        key = _key(path)
        known = self._module_names.get(key)
        if known is None:
            known = self._module_names[key] = self._module_name(Path(key))
        return known

    def _module_name(self, resolved: Path) -> tuple[Optional[str], bool]:
        for root in sorted(self.source_roots, key=lambda r: len(r.parts), reverse=True):
            try:
                relative = resolved.relative_to(root)
            except ValueError:
                continue
            parts = list(relative.with_suffix("").parts)
            is_package = parts[-1:] == ["__init__"]
            if is_package:
                parts = parts[:-1]
            if parts and all(part.isidentifier() for part in parts):
                return ".".join(parts), is_package
            return None, False
        return None, False

    def path_for_module(self, name: str, near: Optional[str] = None) -> Optional[Path]:
        """The file of module `name`, imported from file `near` (whose own
        import roots are searched after the project's source roots)."""
        extra = self.import_roots(near)
        key = "\0".join([*extra, name])
        if key not in self._paths:
            self._paths[key] = self._find_module(name, key, extra)
        if self.consulted is not None:
            self.consulted.update(self._probes[key])
            self.consulted.add(self._src)  # a new src/ shadows the root
        return self._paths[key]

    def _find_module(self, name: str, key: str, extra: tuple[str, ...]) -> Optional[Path]:
        parts = name.split(".")
        probes = self._probes[key] = []
        roots = [*self.source_roots, *map(Path, extra)]
        for root in roots:
            base = root.joinpath(*parts)
            for candidate in (
                base.with_name(base.name + ".py"),
                base / "__init__.py",
                base.with_name(base.name + ".pyi"),
                base / "__init__.pyi",
            ):
                key = _key(candidate)
                probes.append(key)
                if os.path.isfile(candidate):
                    return Path(key)
                self.stamps[key] = MISSING
        return None

    # -- models ------------------------------------------------------------
    def model_for_path(self, path: Path) -> Optional[Model]:
        """The model of a project file, parsed on first use; None when the file
        cannot be read or parsed (the file's own check reports that)."""
        key = _key(path)
        words = self._parse_filter[0] if self._parse_filter else ()
        if key not in self._models and words and not self._module_mentions(key, words):
            if self.consulted is not None:
                self.consulted.add(key)
            return None
        return self._whole_model(path)

    def _whole_model(self, path: Path) -> Optional[Model]:
        """model_for_path whatever the filter (the caller has decided)."""
        key = _key(path)
        if self.consulted is not None:
            self.consulted.add(key)
        if key not in self._models and key in self.overlay:
            overlaid = self.overlay[key][0]
            self._models[key] = (overlaid, self._parse(overlaid, key))
        if key not in self._models:
            text = self._text(key)
            self._models[key] = (text, self._parse(text, key) if text is not None else None)
        return self._models[key][1]

    def outline_model(self, path: Path, name: str) -> Optional[Model]:
        """A model fit for questions about module-level `name` of `path` (its
        value or definition, and what those use): the file's own model when it
        is parsed already, else a model of its outline (analysis/outline.py),
        which parses a fraction of a large module."""
        return self._outline_model(path, (name,))

    def _outline_model(
        self, path: Path, keep: tuple[str, ...], also: tuple[str, ...] = ()
    ) -> Optional[Model]:
        """The model of `path`'s outline keeping the definitions `keep`, and
        `also` when they are there (the whole module's model when it is parsed
        already or the outline would be all of it)."""
        key = _key(path)
        if key in self._models or key in self.overlay:
            return self.model_for_path(path)
        # A chain asks about the same name of a module again and again (a
        # route module's hundred uses of `Chats.get_chat`): answered once,
        # with the files that answer read.
        question = (key, keep, also, self._parse_filter)
        answer = self._outline_answers.get(question)
        if answer is None:
            consulted, self.consulted = self.consulted, set()
            try:
                answer = (self._answer_outline(path, keep, also), sorted(self.consulted))
            finally:
                self.consulted = consulted
            if key not in self._models:  # else the whole model answers next time
                self._outline_answers[question] = answer
        if self.consulted is not None:
            self.consulted.add(key)
            self.consulted.update(answer[1])
        return answer[0]

    def _answer_outline(
        self, path: Path, keep: tuple[str, ...], also: tuple[str, ...]
    ) -> Optional[Model]:
        key = _key(path)
        words, services = self._parse_filter or ((), True)
        if (
            words
            and not self._module_mentions(key, words)
            and not self._forwards(path, keep)
            and not (services and self.hands_on(key, keep))
        ):
            return None
        found = self.outline(path)
        if found is None:
            return self._whole_model(path)
        return self.model_keeping(path, found.leads_to(keep + also))

    def hands_on(self, key: str, names: tuple[str, ...]) -> bool:
        """Whether a top-level function or class `names` of module `key` uses
        a function or class of another project module whose code queues a
        task (has `add_task` or `BackgroundTask`), or such a module itself
        (`notifications.notify_later(...)`): a service layer with no task of
        its own hands a route's values on to the code that queues one. Only
        the code that queues counts: a helper that uses `partial` (the other
        word the filter may let through) makes a service of half a project.
        Read off the texts (imports.py), the answer remembered with the files
        it read."""
        known = self._handing.get((key, names))
        if known is None:
            read: list[str] = []
            known = (self._hands_on(key, names, read), read)
            self._handing[key, names] = known
        if self.consulted is not None:
            self.consulted.update(known[1])
        return known[0]

    def _hands_on(self, key: str, names: tuple[str, ...], read: list[str]) -> bool:
        from bgtask_lint.analysis.imports import absolute_module, definition_text, imported_bindings
        from bgtask_lint.analysis.origins import HANDS_TO_TASKS

        text = self._text(key)
        if not text:
            return False
        codes = [code for code in (definition_text(text, name) for name in names) if code]
        if not codes:
            return False
        used = set(_IDENTIFIER.findall("".join(codes)))
        module, is_package = self.module_name(Path(key))
        bindings = imported_bindings(text)
        for base, name in (b for local in sorted(used & bindings.keys()) for b in bindings[local]):
            if base is None:  # `import a.b`: the module
                candidates: list[tuple[Optional[str], Optional[str]]] = [(name, None)]
            else:  # `from a import b`: the module a.b, or b of module a
                absolute = absolute_module(base, module, is_package)
                member = f"{absolute}.{name}" if absolute else name
                candidates = [(member, None), (absolute, name)]
            for candidate, member_name in candidates:
                target = self.path_for_module(candidate, key) if candidate else None
                if target is None:
                    continue
                read.append(_key(target))
                other = self._text(_key(target)) or ""
                code = other if member_name is None else definition_text(other, member_name)
                if code and _mentions(code, HANDS_TO_TASKS):
                    return True
                break
        return False

    def _forwards(self, path: Path, names: tuple[str, ...]) -> bool:
        """Whether module `path` only passes `names` on from elsewhere (a
        package's `__init__`, see Outline.forwards): then a chain through it
        goes on where they are defined, whatever words it has. A name it
        defines (`def name(`, `class name`) is told from its text."""
        from bgtask_lint.analysis.imports import definition_text, may_forward

        text = self._text(_key(path)) or ""
        if any(definition_text(text, name) is not None for name in names):
            return False
        if not all(may_forward(text, name) for name in names):
            return False  # `Chats = ChatTable()`: no need to parse the module to tell
        found = self.outline(path)
        return found is not None and all(found.forwards(name) for name in names)

    def outline(self, path: Path) -> Optional[Outline]:
        """What Python's parser says of the top level of `path` (read once a
        run); None when it cannot read it."""
        key = _key(path)
        if self.consulted is not None:
            self.consulted.add(key)
        if key not in self._outline_of:
            from bgtask_lint.analysis.outline import Outline

            text = self._text(key)
            self._outline_of[key] = Outline.of(text) if text is not None else None
        return self._outline_of[key]

    def model_keeping(self, path: Path, kept: frozenset[int]) -> Optional[Model]:
        """The model of the outline of `path` keeping the parts `kept` (see
        outline()); the whole module's when it is parsed already, when no
        outline can be had, or when it would keep all."""
        key = _key(path)
        found = self._outline_of.get(key)
        if key in self._models or key in self.overlay or found is None or not READ_IN_PART:
            return self._whole_model(path)
        parsed = self._outlines.setdefault(key, [])
        for parts, model in parsed:
            if kept <= parts:  # an earlier outline has all this one would
                return model
        shortened = found.keeping(kept)
        if shortened == found.text:
            return self._whole_model(path)
        model = self._parse(shortened, key)
        parsed.append((kept, model))
        return model

    def is_parsed(self, path: Union[str, Path]) -> bool:
        return _key(path) in self._models

    def text_of(self, path: Union[str, Path]) -> Optional[str]:
        """The text of a project file (read once per run), None if unreadable."""
        key = _key(path)
        if self.consulted is not None:
            self.consulted.add(key)
        return self._text(key)

    def _text(self, key: str) -> Optional[str]:
        if key in self.overlay:
            return self.overlay[key][0]
        if key not in self._texts:
            text, stamp = read_source(Path(key), self.max_file_size)
            if stamp is not None:
                self.stamps[key] = stamp
            self._texts[key] = text
        return self._texts[key]

    def _module_mentions(self, key: str, words: tuple[str, ...]) -> bool:
        """Whether the text of `key` has one of `words` (asked again for each
        name the module is asked about: remembered)."""
        known = self._mention.get((key, words))
        if known is None:
            text = self._text(key)
            known = self._mention[key, words] = _mentions(text, words)
        return known

    def called_elsewhere(self, model: Model, names: frozenset[str]) -> frozenset[str]:
        """The module-level functions `names` of `model` other modules call
        (they may await them: no `def`), read off the statements calling one."""
        here, called = _key(model.path), set[str]()
        for other in sorted({*self.checked, *self.context_files} - {here}):
            text = self.text_of(other) if other.endswith((".py", ".pyi")) else None
            wanted = {n for n in names - called if text is not None and n in text}
            call = re.compile(rf"\b(?:{'|'.join(map(re.escape, sorted(wanted)))})\s*\(")
            if not wanted or not call.search(text or ""):
                continue
            outline = self.outline(Path(other))  # none: model_keeping parses all of it
            kept = outline.matching(call) if outline is not None else frozenset()
            found = self.model_keeping(Path(other), kept)
            if found is None:
                return names  # a module that cannot be parsed may call them all
            for site in found.calls:  # of a name wanted (`f(...)`, `mod.f(...)`): resolved
                callee = getattr(site.node.func, "attr", site.node.func)
                if getattr(callee, "value", None) not in wanted:
                    continue
                ref = found.resolve_function(site.node.func, site.function)
                if ref is not None and ref.info.is_module_level and _key(ref.model.path) == here:
                    called.add(ref.info.name)
            if called == names:
                break
        return names & called

    def mentioned_elsewhere(self, model: Model, name: str) -> bool:
        """Whether another module of the project may use the module-level
        `name` of `model`: its text imports the module (or from it) and names
        `name` (read off the texts, so a doubt counts as a use)."""
        here = _key(model.path)
        module = Path(here).stem if Path(here).stem != "__init__" else Path(here).parent.name
        word = re.compile(rf"\b{re.escape(name)}\b")
        importer = re.compile(rf"^[ \t]*(?:from|import)\b.*\b{re.escape(module)}\b", re.M)
        for other in sorted({*self.checked, *self.context_files} - {here}):
            if not other.endswith((".py", ".pyi")):
                continue
            text = self.text_of(other)
            if text and name in text and word.search(text) and importer.search(text):
                return True
        return False

    def handles_http_exceptions(self) -> bool:
        """Whether some module of the project registers its own handler for
        HTTPException (or for a status code, which catches it too): a
        response returned in place of the raise would bypass it. Read off
        the texts; remembered for the run."""
        if self._handles_http_exceptions is None:
            self._handles_http_exceptions = any(
                handles_http_exceptions(self.text_of(path))
                for path in sorted({*self.checked, *self.context_files})
                if path.endswith((".py", ".pyi"))
            )
        return self._handles_http_exceptions

    @contextmanager
    def only_modules_mentioning(
        self, words: tuple[str, ...], *, services: bool = True
    ) -> Iterator[None]:
        """Within this block, a module not parsed yet is parsed only when its
        text has one of `words` (else it resolves to nothing): following values
        into every module a route calls would parse half the project. With
        `services`, also a service layer that hands what it is asked about on
        to code that queues tasks (see hands_on): for following values."""
        previous, self._parse_filter = self._parse_filter, (words, services)
        try:
            yield
        finally:
            self._parse_filter = previous

    def chain_end_model(self, path: Path, text: str) -> Optional[Model]:
        """The model to check file `path` (content `text`) with when it is
        checked only for what the chains of the checked files lead to there
        (runner._chain_ends): its outline keeping the definitions the facts
        about it name (the functions they submit as tasks, and hand values
        to) and what those use, which is all such a chain reaches in it.
        The whole module's when it is parsed already, when `text` is not what
        the file holds, or when a fact is of a kind that names no function."""
        from bgtask_lint.analysis.facts import function_of

        key = _key(path)
        if not READ_IN_PART or key in self._models or key in self.overlay:
            return self.model_for_text(path, text)
        if self._text(key) != text:
            return self.model_for_text(path, text)
        names = set()
        for fact in self.facts_about(key):
            function = function_of(fact)
            if function is None:
                return self.model_for_text(path, text)
            names.add(function.partition(".")[0])  # `Mailer.send`: the class
        found = self.outline(path)
        if found is None or not names:
            return self.model_for_text(path, text)
        model = self.model_keeping(path, found.leads_to(tuple(sorted(names))))
        return model if model is not None else self.model_for_text(path, text)

    def model_for_text(self, path: Path, text: str) -> Optional[Model]:
        """The model of `path` with content `text`: the cached one when the text
        is the same (a file is parsed once per run), else a fresh one."""
        key = _key(path)
        cached = self._models.get(key)
        if cached is not None and cached[0] == text:
            return cached[1]
        self._models[key] = (text, self._parse(text, key))
        return self._models[key][1]

    def _parse(self, text: str, path: str) -> Optional[Model]:
        # Imported here: a run whose findings all come from the cache never
        # parses, and libcst alone takes a quarter of a second to import.
        import libcst as cst

        from bgtask_lint.analysis.builder import build_model, settle_wrapped_routes
        from bgtask_lint.analysis.parsing import CannotParse
        from bgtask_lint.analysis.statements import parse_source

        try:
            module, parsed, shifts = parse_source(text)
        except (cst.ParserSyntaxError, CannotParse, RecursionError):
            return None
        model = build_model(module, str(path))
        model.parsed_text, model.column_shifts = parsed, shifts
        model.project = self
        model.module_name, model.is_package = self.module_name(Path(path))
        if model.wrapped_elsewhere:
            settle_wrapped_routes(model)
        return model

    # -- the checked files and the tasks they submit ---------------------
    def is_checked(self, path: str) -> bool:
        return _key(path) in self.checked

    def index(self, model: Model, max_depth: int) -> list[tuple[str, str]]:
        """Record what `model` says about other files, `max_depth` calls deep:
        the functions it submits as tasks, and the values its routes hand to
        the functions they call (provenance.propagate). As (file, fact)."""
        from bgtask_lint.analysis.blocking import awaited_elsewhere
        from bgtask_lint.analysis.provenance import propagate
        from bgtask_lint.analysis.serverless import serverless_facts

        uses = []
        for submission in model.declared_submissions():  # the same whatever was indexed first
            if submission.callable_arg is None:
                continue
            ref = model.task_function(submission.callable_arg.value, submission.site.function)
            if ref is not None and ref.info.key is not None:
                uses.append((_key(ref.model.path), ref.info.key))
                uses.extend((_key(path), h.fact()) for path, h in awaited_elsewhere(ref, max_depth))
        uses.extend(serverless_facts(self, model))
        self.add_facts(uses, model.path)
        uses.extend(propagate(model, max_depth))
        return sorted(set(uses))

    def track_consulted(self) -> set[str]:
        """Start recording the files whose models are read; returns the set."""
        self.consulted = set()
        return self.consulted

    def all_facts(self) -> list[tuple[str, str, str]]:
        """(source, file, fact) for every fact recorded, to send between processes."""
        return [
            (source, path, fact)
            for path, facts in sorted(self._facts.items())
            for fact, sources in sorted(facts.items())
            for source in sorted(sources)
        ]

    def add_facts(self, facts: Sequence[tuple[str, str]], source: str) -> None:
        """Record (file, fact) pairs that file `source` says."""
        origin = _key(source)
        for path, fact in facts:
            self._facts.setdefault(_key(path), {}).setdefault(fact, set()).add(origin)

    def add_fact_triples(self, triples: Sequence[tuple[str, str, str]]) -> None:
        for source, path, fact in triples:
            self.add_facts([(path, fact)], source)

    def facts_about(self, path: str) -> set[str]:
        """The facts filed under file `path`."""
        return set(self._facts.get(_key(path), {}))

    def sources_of(self, path: str, fact: str) -> set[str]:
        """The files that said `fact` about file `path`."""
        return self._facts.get(_key(path), {}).get(fact, set())

    def on_chain(self, path: str, fact: str) -> set[str]:
        """The files on the chains `fact` about file `path` stands for: those
        that said it, and those it names on the way (AwaitedHelper.files)."""
        files = set(self.sources_of(path, fact))
        helper = AwaitedHelper.of(fact)
        if helper is not None:
            files.update(_key(file) for file in helper.files)
        return files

    def files_with_facts(self) -> list[str]:
        return sorted(self._facts)

    def task_keys(self, path: str) -> set[str]:
        """The functions of file `path` that checked files submit as tasks."""
        return {fact for fact in self.facts_about(path) if is_task_key(fact)}

    def runs_tasks(self, path: str) -> bool:
        """Whether code of file `path` runs as part of a task other files
        submit (a function submitted, or an async one such a task awaits), or
        queues tasks on the request's BackgroundTasks that a route hands it
        (`def queue(q): q.add_task(...)`, no annotation to say so). Its
        findings are then worked out whatever words its text has."""
        facts = self.facts_about(path)
        return any(
            is_task_key(fact) or AwaitedHelper.of(fact) is not None for fact in facts
        ) or bool(given_injected(facts, "BackgroundTasks"))

    def facts_here(self, path: str) -> list[str]:
        """What other files said about file `path`, and who, sorted (for the
        cache: findings name where their chains start)."""
        facts = self._facts.get(_key(path), {})
        return sorted(f"{fact}\t{source}" for fact, sources in facts.items() for source in sources)

    def resolve(
        self, qualname: str, depth: int = 0, near: Optional[str] = None
    ) -> Optional[Target]:
        """What an absolute dotted name (`shop.tasks.send_receipt`) imported in
        file `near` refers to in the project: a module, a function, a class or
        a method."""
        parts = qualname.split(".")
        for size in range(len(parts), 0, -1):
            path = self.path_for_module(".".join(parts[:size]), near)
            if path is None:
                continue
            rest = parts[size:]
            # A name in a module not parsed yet: its definition (and what it
            # uses) is all that is read of it; a module of hundreds of routes
            # costs one. The other names `near` imports from it come along:
            # they are likely to be asked about next (a route module's
            # dependencies), and one outline then answers them all.
            if rest:
                module = ".".join(parts[:size])
                also = tuple(n for n in self._imported_from(near, module) if n != rest[0])
                model = self._outline_model(path, (rest[0],), also)
            else:
                model = self.model_for_path(path)
            return self._resolve_in(model, rest, depth) if model else None
        return None

    def _imported_from(self, near: Optional[str], module: str) -> list[str]:
        """The names the parsed module `near` imports from `module`, sorted."""
        key = _key(near) if near else None
        parsed = self._models.get(key) if key else None
        model = parsed[1] if parsed is not None else None
        if model is None:
            return []
        known = self._imported.get((key, module))  # asked for each name it uses
        if known is not None and known[0] is model:
            return known[1]
        prefix = f"{module}."
        names = sorted(
            {
                binding.qualname[len(prefix) :].partition(".")[0]
                for binding in model.imports.bindings.values()
                if binding.qualname.startswith(prefix)
            }
        )
        self._imported[key, module] = (model, names)
        return names

    def _resolve_in(self, model: Model, rest: list[str], depth: int) -> Optional[Target]:
        from bgtask_lint.analysis.model import ClassRef, FunctionRef
        from bgtask_lint.analysis.names import LOCAL_PREFIX

        if not rest:
            return model
        head = rest[0]
        if len(rest) == 1 and head in model.module_functions:
            return FunctionRef(model, model.module_functions[head])
        if head in model.classes:
            if len(rest) == 1:
                return ClassRef(model, head)
            method = model.methods.get((head, rest[1])) if len(rest) == 2 else None
            return FunctionRef(model, method) if method else None
        binding = model.imports.bindings.get(head)
        if binding is not None and depth < MAX_REEXPORTS:
            if binding.qualname.startswith(LOCAL_PREFIX):  # `Handler = OrderHandler` there
                return model.resolve_alias(rest, depth + 1)
            target = model.absolute(binding.qualname)
            if target:
                return self.resolve(".".join([target, *rest[1:]]), depth + 1, model.path)
        # `from .base import *`: a public name the module does not bind may be
        # one of the starred module's (the last star import binds it).
        if binding is not None or depth >= MAX_REEXPORTS or head.startswith("_"):
            return None
        for module in reversed(model.imports.star_modules):
            target = model.absolute(module)
            found = (
                self.resolve(".".join([target, *rest]), depth + 1, model.path) if target else None
            )
            if found is not None:
                return found
        return None
