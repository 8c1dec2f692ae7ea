"""Which calls an async function makes on the event loop that hold it: the
blocking calls reached from an `async def` task, through the sync helpers it
calls and the async helpers it awaits, across the project's modules.

Asked by BGT003 (blocking calls) and BGT011 (event-loop calls such as
`asyncio.run` inside a task) with their own notion of what matches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Callable, Optional

import libcst as cst

from bgtask_lint.analysis.facts import AwaitedHelper
from bgtask_lint.analysis.model import CallSite, FunctionInfo, FunctionRef, Model, TaskSubmission
from bgtask_lint.analysis.origins import held_types
from bgtask_lint.analysis.provenance import origins_of
from bgtask_lint.config.blocking import blocks
from bgtask_lint.config.options import DEFAULT_MAX_CALL_DEPTH

# A function run as a task: the function, the submission in this module (None
# when another file submits it), and the other files that submit it.
TaskUse = tuple[FunctionRef, Optional[TaskSubmission], frozenset[str]]
# What a call is called in a chain when it matches, or None.
Matcher = Callable[[Model, CallSite], Optional[str]]


@dataclass(frozen=True)
class BlockingPath:
    """A blocking call reached from an async task, and the call to report."""

    model: Model  # the module holding `site`
    site: CallSite  # the call inside an async function (it runs on the loop)
    chain: tuple[str, ...]  # task → helper → ... → blocking callable
    direct: bool  # the reported call is the blocking call itself
    # The blocking call at the end of the chain, and the module it is in.
    blocking: tuple[Model, cst.Call]

    @property
    def is_sleep_statement(self) -> bool:
        """`time.sleep(x)` as a statement of the async function's own body:
        `await asyncio.sleep(x)` fits (not in a nested class body)."""
        return (
            self.direct
            and self.chain[-1] == "time.sleep"
            and isinstance(self.site.parent, cst.Expr)
            and self.site.in_function_body
        )


def tasks_run_here(
    model: Model,
) -> list[tuple[FunctionRef, Optional[TaskSubmission], frozenset[str]]]:
    """The functions that run as background tasks, for this module's check: the
    tasks it submits (with the submission), and its own functions that other
    files of the project submit (with those files)."""
    uses: list[TaskUse] = []
    for submission in model.task_submissions():
        if submission.callable_arg is not None:
            ref = model.task_function(submission.callable_arg.value, submission.site.function)
            if ref is not None:
                uses.append((ref, submission, frozenset()))
    if model.project is not None:
        for key in sorted(model.project.task_keys(model.path)):
            info = model.function_by_key(key)
            if info is not None:
                sources = frozenset(model.project.sources_of(model.path, key)) - {model.path}
                uses.append((FunctionRef(model, info), None, sources))
    return uses


def awaited_here(model: Model) -> list[tuple[FunctionRef, AwaitedHelper, frozenset[str]]]:
    """This module's async functions that tasks of other modules await (see
    awaited_elsewhere), each with what the fact says and every file on its
    chains: the files that submit the task and those on the way."""
    found: list[tuple[FunctionRef, AwaitedHelper, frozenset[str]]] = []
    project = model.project
    if project is None:
        return found
    for fact in sorted(project.facts_about(model.path)):
        helper = AwaitedHelper.of(fact)
        info = model.function_by_key(helper.key) if helper is not None else None
        if helper is None or info is None or not info.is_async:
            continue
        files = project.on_chain(model.path, fact) - {model.path}
        found.append((FunctionRef(model, info), helper, frozenset(files)))
    return found


def awaited_elsewhere(
    task: FunctionRef, max_depth: int = DEFAULT_MAX_CALL_DEPTH
) -> Iterator[tuple[str, AwaitedHelper]]:
    """(file, helper) for each async function of another module than its
    caller's that async `task` awaits, directly or through async helpers,
    `max_depth` calls deep at most: its blocking calls hold the loop as the
    task's own do, and are reported in its module (blocking_paths stops at
    the module it starts in, so that module's check is told)."""
    if not task.info.is_async:
        return
    seen: set[FunctionInfo] = {task.info}

    def walk(
        ref: FunctionRef, chain: tuple[str, ...], files: tuple[str, ...], depth: int
    ) -> Iterator[tuple[str, AwaitedHelper]]:
        if depth >= max_depth:
            return
        for site in ref.info.calls:
            helper = ref.model.resolve_function(site.node.func, site.function)
            if helper is None or not helper.info.is_async or helper.info in seen:
                continue
            seen.add(helper.info)
            below = (*chain, helper.info.display_name)
            if helper.model.path != ref.model.path and helper.info.key is not None:
                fact = AwaitedHelper(helper.info.key, below, files, depth + 1)
                yield helper.model.path, fact
            yield from walk(helper, below, (*files, helper.model.path), depth + 1)

    yield from walk(task, (task.info.display_name,), (task.model.path,), 0)


def blocking_paths(
    task: FunctionRef,
    blocking: frozenset[str],
    max_depth: int = DEFAULT_MAX_CALL_DEPTH,
    matcher: Optional[Matcher] = None,
) -> Iterator[BlockingPath]:
    """Every blocking call reachable from async `task` on the event loop, across
    the modules of the project: through sync helpers called directly and async
    helpers awaited, `max_depth` calls deep at most; cycles end a branch."""
    seen_async: set[FunctionInfo] = set()
    matches: Matcher = matcher or (lambda model, site: blocking_name(model, site, blocking))

    def walk(ref: FunctionRef, chain: tuple[str, ...], depth: int) -> Iterator[BlockingPath]:
        seen_async.add(ref.info)
        model = ref.model
        for site in ref.info.calls:
            callee_name = matches(model, site)
            if callee_name:
                yield BlockingPath(model, site, (*chain, callee_name), True, (model, site.node))
                continue
            if depth >= max_depth:
                continue
            helper = model.resolve_function(site.node.func, site.function)
            if helper is None:
                continue
            if helper.info.is_async:
                # An async helper runs on the loop too: report inside it.
                if helper.info not in seen_async:
                    yield from walk(helper, (*chain, helper.info.display_name), depth + 1)
                continue
            below = _sync_chain(helper, matches, depth + 1, max_depth, set())
            if below:
                names, final = below
                yield BlockingPath(model, site, (*chain, *names), False, final)

    yield from walk(task, (task.info.display_name,), 0)


def _sync_chain(
    ref: FunctionRef,
    matches: Matcher,
    depth: int,
    max_depth: int,
    seen: set[FunctionInfo],
) -> Optional[tuple[tuple[str, ...], tuple[Model, cst.Call]]]:
    """The first blocking chain below a sync helper, if any; cycles end it."""
    seen.add(ref.info)
    model = ref.model
    for site in ref.info.calls:
        callee_name = matches(model, site)
        if callee_name:
            return (ref.info.display_name, callee_name), (model, site.node)
        if depth >= max_depth:
            continue
        helper = model.resolve_function(site.node.func, site.function)
        if helper is None or helper.info.is_async or helper.info in seen:
            continue
        below = _sync_chain(helper, matches, depth + 1, max_depth, seen)
        if below:
            names, final = below
            return (ref.info.display_name, *names), final
    return None


def blocking_name(
    model: Model,
    site: CallSite,
    blocking: frozenset[str],
    method_matches: Callable[[str, str, frozenset[str]], bool] = blocks,
) -> Optional[str]:
    """How the chain names the call when it blocks: its qualified name, or the
    type and method (`sqlalchemy.orm.Session.execute`) of an object of a
    known type, wherever the object came from. `blocking` and
    `method_matches` say what matches (BGT014 asks what can fail)."""
    func = site.node.func
    qualname = model.qualified_name(func)
    if qualname in blocking:
        return qualname.removeprefix("builtins.") if qualname else None
    if not isinstance(func, cst.Attribute):
        return None
    # `session.execute(...)`, and `client.chat.completions.create(...)` for
    # clients whose every attribute is remote.
    path, owner, direct = func.attr.value, func.value, True
    while True:
        for type_name in held_types(origins_of(model, owner, site.function)):
            if method_matches(type_name, path if direct else "*", blocking):
                return f"{type_name.removeprefix('builtins.')}.{path}"
        if not isinstance(owner, cst.Attribute) or _is_self(owner.value):
            return None
        path, owner, direct = f"{owner.attr.value}.{path}", owner.value, False


def _is_self(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "self"


def used_only_as_tasks(model: Model, uses: list[TaskUse]) -> set[FunctionInfo]:
    """Tasks of this module that are used only as tasks: every mention of one
    in this module is the callable a submission here hands over, and no other
    module of the project calls it. A fix may then change how the function
    behaves when called (BGT003 makes it a `def`: no `await` of it breaks;
    BGT014 makes it swallow its errors: no caller relies on them). Still
    unsafe: code outside the project may call it."""
    # Each task of this module, with the callables of its submissions here
    # (none for a task only other modules submit).
    handed_over: dict[FunctionInfo, set[int]] = {}
    for ref, submission, _ in uses:
        if ref.model is not model:
            continue
        nodes = handed_over.setdefault(ref.info, set())
        if submission is not None and submission.callable_arg is not None:
            handed = submission.callable_arg.value
            # The callable itself, or what a `partial(...)` wraps.
            names = [arg.value for arg in handed.args] if isinstance(handed, cst.Call) else [handed]
            nodes.update(id(name) for name in names if isinstance(name, cst.Name))
    only_here = {
        info
        for info, nodes in handed_over.items()
        if info.is_module_level
        and all(id(use.node) in nodes for use in model.local_uses(model.module, info.name))
    }
    project = model.project
    if project is None or not only_here:
        return only_here
    elsewhere = project.called_elsewhere(model, frozenset(info.name for info in only_here))
    return {info for info in only_here if info.name not in elsewhere}
