"""Where a value comes from: for an expression, the origins it can hold.

In mature applications the value a task misuses is rarely made where the task
is submitted: a route's session goes into a handler method in another module,
which queues `add_task(self.wrapper, db)`; a dependency returns what a
middleware keeps on `request.state`; a service holds the client it was built
with. `origins_of` follows an expression back through assignments and
unpacking, tuples, `with ... as`, `self` attributes, `partial`, closures,
calls (into the returned value, the call's arguments bound to the
parameters; `run_in_threadpool` too), constructors and factories of known
types, module globals and imports of the project, to a bounded depth.

Parameters are the other direction. A route's or a dependency's parameters
are what FastAPI injects; for any other function, what its callers pass.
`propagate` follows what routes and dependencies inject into the functions
they call (argument to parameter, keywords, `*args` / `**kwargs`, `partial`,
`run_in_threadpool`), across modules, and files it as facts in the project
(or the model); the check of the callee's file reads them back. A
whole-project run indexes every file first, so a handler sees every route.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.facts import HandedValue
from bgtask_lint.analysis.model import MAX_ALIASES, FunctionInfo, FunctionRef, Model
from bgtask_lint.analysis.names import (
    DEPENDS,
    LOCAL_PREFIX,
    PARTIAL,
)
from bgtask_lint.analysis.origins import (
    ANNOTATED_TYPES,
    BOUND,
    CLOSED,
    DEPENDENCY,
    FACTORIES,
    HANDS_TO_TASKS,
    INJECTED,
    INSTANCE,
    ITEM,
    LAZY,
    LOADED,
    MADE_BY_METHODS,
    MAX_ORIGINS,
    METHOD_PRODUCTS,
    OFFLOADS,
    PRODUCTS,
    STATE,
    Env,
    Origin,
    Origins,
)
from bgtask_lint.analysis.orm import holds_session, loaded_through, sessions_committing
from bgtask_lint.analysis.prescreen import (
    assigns_an_object,
    stores_on_state,
)
from bgtask_lint.analysis.resolution import (
    class_called,
    depends_of,
    element_of,
    entry_label,
    free_names,
    injected_kind,
    literal_index,
    unwrap,
)
from bgtask_lint.analysis.scopes import Binding
from bgtask_lint.analysis.syntax import call_argument
from bgtask_lint.analysis.teardown import closes_on_teardown
from bgtask_lint.config.options import DEFAULT_MAX_CALL_DEPTH


def origins_of(
    model: Model,
    expr: cst.BaseExpression,
    function: Optional[FunctionInfo],
    max_depth: int = DEFAULT_MAX_CALL_DEPTH,
) -> Origins:
    """What `expr`, evaluated in `function` (None: at module level), can hold."""
    tracer = _Tracer(max_depth)
    return tuple(tracer.expand(model, o) for o in tracer.of(model, expr, function, None, 0))


def stored_on_state(model: Model, name: str) -> Origins:
    """What the code keeps on `request.state.<name>`: from this module and,
    with a project, every checked or context file that assigns it (a
    middleware; parsed only when a route hands such a value on)."""
    found: list[Origin] = []
    tracer = _Tracer(DEFAULT_MAX_CALL_DEPTH)
    models = [model]
    project = model.project
    if project is not None:
        for path in sorted({*project.checked, *project.context_files}):
            text = project.text_of(path)
            if path != model.path and text is not None and stores_on_state(text, name):
                other = project.model_for_path(Path(path))
                if other is not None:
                    models.append(other)
    for where in models:
        for stored, value, function in where.state_assignments:
            if stored == name:
                found.extend(_stored(tracer, where, stored, value, function))
    return _unique(found)


def _stored(
    tracer: _Tracer,
    model: Model,
    name: str,
    value: cst.BaseExpression,
    function: Optional[FunctionInfo],
) -> Iterator[Origin]:
    """What `<request>.state.<name> = value` stores: the value's origins, and
    CLOSED when the same function closes it (a middleware's `finally:
    request.state.db.close()`)."""
    yield from tracer.of(model, value, function, None, 1)
    for site in function.calls if function is not None else []:
        func = site.node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("close", "aclose")
            and isinstance(func.value, cst.Attribute)
            and func.value.attr.value == name
            and isinstance(func.value.value, cst.Attribute)
            and func.value.value.attr.value == "state"
        ):
            yield Origin(CLOSED)
            return


class _Tracer:
    """One question's walk: the depth left, and the values being computed (a
    value that depends on itself, through recursive functions, stops there)."""

    def __init__(self, max_depth: int, *, cheap: bool = False, built_from: bool = False) -> None:
        self.max_depth = max_depth
        # An unresolved call of arguments worth following stands for an object
        # built from them (a dependency's `return Repository(db)`).
        self.built_from = built_from
        # While following routes into what they call (propagate), for every
        # call of every route: parse no module for a value that is not worth
        # following (see _imported and _call).
        self.cheap = cheap
        self.active: set[tuple[int, int]] = set()
        # Answers by (expression, environment), with the environments kept
        # alive so that their ids are not reused.
        self.memo: dict[tuple[int, int, int], Origins] = {}
        self.envs: list[Env] = []

    def of(
        self,
        model: Model,
        expr: cst.BaseExpression,
        function: Optional[FunctionInfo],
        env: Optional[Env],
        depth: int,
    ) -> Origins:
        key = (id(expr), id(env))
        if key in self.active or depth > self.max_depth:
            return ()
        remembered = self.memo.get((*key, depth))
        if remembered is not None:
            return remembered
        self.active.add(key)
        try:
            found = _unique(self._of(model, expr, function, env, depth))[:MAX_ORIGINS]
        finally:
            self.active.discard(key)
        if env is not None:
            self.envs.append(env)
        self.memo[(*key, depth)] = found
        return found

    def _of(
        self,
        model: Model,
        expr: cst.BaseExpression,
        function: Optional[FunctionInfo],
        env: Optional[Env],
        depth: int,
    ) -> Iterator[Origin]:
        if isinstance(expr, cst.Name):
            yield from self._name(model, expr, function, env, depth)
        elif isinstance(expr, cst.Attribute):
            yield from self._attribute(model, expr, function, env, depth)
        elif isinstance(expr, cst.Call):
            yield from self._call(model, expr, function, env, depth)
        elif isinstance(expr, cst.Await):
            yield from self.of(model, expr.expression, function, env, depth)
        elif isinstance(expr, cst.IfExp):
            yield from self.of(model, expr.body, function, env, depth)
            yield from self.of(model, expr.orelse, function, env, depth)
        elif isinstance(expr, cst.BooleanOperation):
            yield from self.of(model, expr.left, function, env, depth)
            yield from self.of(model, expr.right, function, env, depth)
        elif isinstance(expr, cst.NamedExpr):
            yield from self.of(model, expr.value, function, env, depth)
        elif isinstance(expr, (cst.Tuple, cst.List)):
            yield from self._items(model, expr, function, env, depth)
        elif isinstance(expr, cst.Subscript):
            index = literal_index(expr)
            if index is not None:
                held = self.of(model, expr.value, function, env, depth)
                yield from element_of(held, (index,))
        elif isinstance(expr, cst.Lambda) and function is not None:
            yield from self._closure(model, expr, function, env, depth)

    def _items(
        self,
        model: Model,
        expr: cst.Tuple | cst.List,
        function: Optional[FunctionInfo],
        env: Optional[Env],
        depth: int,
    ) -> Iterator[Origin]:
        """`(partial(job, db), name)`: an ITEM per element worth following."""
        fixed = True
        for index, element in enumerate(expr.elements):
            fixed = fixed and not isinstance(element, cst.StarredElement)
            held = self.of(model, element.value, function, env, depth)
            if held:
                yield Origin(ITEM, name=str(index) if fixed else "", parts=held)

    def _closure(
        self,
        model: Model,
        node: cst.FunctionDef | cst.Lambda,
        function: FunctionInfo,
        env: Optional[Env],
        depth: int,
    ) -> Iterator[Origin]:
        """A function or lambda defined in `function` reads the enclosing
        function's names when it runs, as a partial binding them would."""
        read: list[Origin] = []
        for name in free_names(model.scopes, node, function.node):
            read.extend(self.of(model, name, function, env, depth))  # `of` ends recursion
        if read:
            yield Origin(BOUND, parts=_unique(read))

    # -- names -----------------------------------------------------------
    def _name(
        self,
        model: Model,
        expr: cst.Name,
        function: Optional[FunctionInfo],
        env: Optional[Env],
        depth: int,
    ) -> Iterator[Origin]:
        for binding in model.scopes.bindings_of(expr):
            owner = model.function_of(binding.scope.node)
            if binding.kind == "parameter" and isinstance(binding.node, cst.Param):
                if owner is None:
                    continue
                if env is not None and owner is function:
                    # Followed from a known call: what it gave, never what
                    # other callers give (only the annotation says more).
                    yield from env.get(binding.name, ())
                    annotation = binding.node.annotation
                    if binding.name not in env and annotation is not None:
                        yield from self._annotation(model, annotation.annotation)
                else:
                    yield from self.parameter(model, owner, binding.node, depth)
                continue
            inner_env = env if owner is function else None
            if binding.unpacked is not None:
                value, position = binding.unpacked
                held = self.of(model, value, owner, inner_env, depth)
                yield from element_of(held, position)
            if (
                binding.kind == "function"
                and isinstance(binding.node, cst.FunctionDef)
                and owner is not None
            ):
                yield from self._closure(model, binding.node, owner, inner_env, depth)
            if binding.annotation is not None:
                yield from self._annotation(model, binding.annotation)
            if binding.kind in ("assignment", "with") and binding.value is not None:
                yield from self.of(model, binding.value, owner, inner_env, depth)
            if binding.kind == "assignment" and owner is not None:
                yield from self._committed(model, binding, owner, inner_env, depth)
            elif binding.kind == "import" and isinstance(binding.node, cst.ImportAlias):
                yield from self._imported(model, binding.name, depth)

    def _committed(
        self, model: Model, binding: Binding, function: FunctionInfo, env: Optional[Env], depth: int
    ) -> Iterator[Origin]:
        """An object the function adds to a session and commits: the commit
        expires it, and it stays bound to the session (see orm.py)."""
        for session in sessions_committing(model, binding, function):
            held = self.of(model, session, function, env, depth)
            if holds_session(held):
                yield Origin(LOADED, parts=held)
                return

    def _imported(self, model: Model, name: str, depth: int) -> Iterator[Origin]:
        """The value of a module global imported from another project module."""
        binding = model.imports.bindings.get(name)
        project = model.project
        if binding is None or project is None or depth >= self.max_depth:
            return
        absolute = model.absolute(binding.qualname)
        if absolute is None or "." not in absolute:
            return
        module_name, _, attribute = absolute.rpartition(".")
        path = project.path_for_module(module_name, model.path)
        # Parsed only when it assigns the name at module level: most imported
        # names are classes and functions, and parsing costs.
        text = project.text_of(path) if path is not None else None
        if path is None or text is None or not assigns_an_object(text, attribute):
            return
        if self.cheap and not project.is_parsed(path):
            return
        other = project.outline_model(path, attribute)
        if other is None:
            return
        for found in other.scopes.module.bindings.get(attribute, [])[-1:]:
            if found.annotation is not None:
                yield from self._annotation(other, found.annotation)
            if found.value is not None:
                yield from self.of(other, found.value, None, None, depth + 1)
            elif found.kind == "import":
                yield from self._imported(other, attribute, depth + 1)

    # -- parameters ------------------------------------------------------
    def parameter(
        self, model: Model, function: FunctionInfo, param: cst.Param, depth: int
    ) -> Origins:
        found: list[Origin] = []
        annotation = param.annotation.annotation if param.annotation is not None else None
        if function.route_kind or function.is_dependency:
            found.extend(self.injected(model, entry_label(model, function), param, depth))
        if annotation is not None and not any(o.kind == INJECTED for o in found):
            # `db: Session = Depends(get_db)`: the annotation says what the
            # dependency gives when its code does not.
            found.extend(self._annotation(model, annotation))
        for origin in _facts_for(model, function, param.name.value):
            found.append(origin if self.cheap else self.expand(model, origin))
        return _unique(found)

    def injected(self, model: Model, route: str, param: cst.Param, depth: int) -> Iterator[Origin]:
        """What FastAPI gives parameter `param` of a route or dependency (or a
        class-based view's attribute), `route` naming it for messages."""
        name = param.name.value
        annotation = param.annotation.annotation if param.annotation is not None else None
        kind = injected_kind(model, annotation) if annotation is not None else None
        if kind is not None:
            yield Origin(INJECTED, kind, name, route, source=model.path)
            return
        found = depends_of(model, param)
        if found is None:
            return
        where, call = found
        target = call_argument(call, 0, "dependency")
        function_scope = where.is_function_scoped(call)
        if target is None:  # `Depends()`: the annotation's class is the dependency
            yield Origin(DEPENDENCY, "", name, route, False, function_scope, source=model.path)
            return
        qualname = where.qualified_name(target.value) or ""
        absolute = where.absolute(qualname) if not qualname.startswith(LOCAL_PREFIX) else None
        if self.cheap and absolute:
            # Resolved when a rule reads it (see expand): following every
            # route would otherwise parse every module with a dependency.
            label = absolute.rpartition(".")[2]
            yield Origin(
                DEPENDENCY, LAZY + absolute, label, route, False, function_scope, source=model.path
            )
            return
        ref = where.resolve_function(target.value)
        if ref is None:
            cls = qualname.rpartition(".")[2]
            yield Origin(DEPENDENCY, "", cls, route, False, function_scope, source=model.path)
            return
        yield self.dependency(ref, route, function_scope, model.path, depth)

    def dependency(
        self, ref: FunctionRef, route: str, function_scope: bool, source: str, depth: int
    ) -> Origin:
        """The value of dependency `ref`: whether it yields, and what it gives
        (followed cheaply: dependencies lead to half the project's modules)."""
        values: list[Origin] = []
        inner = self if self.cheap else _Tracer(self.max_depth, cheap=True, built_from=True)
        if depth < self.max_depth:
            dependency = ref.info
            produced = [
                y.value for y in dependency.yields if isinstance(y.value, cst.BaseExpression)
            ]
            produced += [r.value for r in dependency.returns if r.value is not None]
            label = entry_label(ref.model, dependency)
            env = {
                p.name.value: _unique(inner.injected(ref.model, label, p, depth + 1))
                for p in dependency.parameters()
            }
            for value in produced:
                values.extend(inner.of(ref.model, value, dependency, env, depth + 1))
        return Origin(
            DEPENDENCY,
            "",
            ref.info.display_name,
            route,
            closes_on_teardown(ref.info),
            function_scope,
            _unique(values),
            source,
        )

    def expand(self, model: Model, origin: Origin, depth: int = 0) -> Origin:
        """`origin` with the dependencies left unresolved (LAZY) resolved,
        inside it too, `max_depth` dependencies deep."""
        if origin.kind == DEPENDENCY and origin.type.startswith(LAZY):
            qualname = origin.type[len(LAZY) :]
            project = model.project
            target = project.resolve(qualname, near=model.path) if project else None
            if not isinstance(target, FunctionRef) or depth >= self.max_depth:
                return replace(origin, type="")
            scope, source = origin.function_scope, origin.source
            origin = self.dependency(target, origin.route, scope, source, 1)
            model = target.model
        if not origin.parts:
            return origin
        parts = tuple(self.expand(model, p, depth + 1) for p in origin.parts)
        return replace(origin, parts=parts)

    # -- attributes and calls --------------------------------------------
    def _attribute(
        self,
        model: Model,
        expr: cst.Attribute,
        function: Optional[FunctionInfo],
        env: Optional[Env],
        depth: int,
    ) -> Iterator[Origin]:
        owner = expr.value
        attr = expr.attr.value
        if isinstance(owner, cst.Attribute) and owner.attr.value == "state":
            holder = self.of(model, owner.value, function, env, depth)
            if any(o.kind == INJECTED and o.type in ("Request", "WebSocket") for o in holder):
                yield Origin(STATE, "", attr, "", parts=stored_on_state(model, attr))
            return
        cls = function.enclosing_class if function is not None else None
        if isinstance(owner, cst.Name) and owner.value == "self" and cls is not None:
            yield from self._self_attribute(model, cls, attr, depth)

    def _self_attribute(
        self, model: Model, cls: str, attr: str, depth: int, view: str = "", bases: int = 0
    ) -> Iterator[Origin]:
        """`self.<attr>`: what the class body or its methods assign to it,
        else what a base class (of any project module) does; `view` names the
        class whose instance it is. A step up to a base is no call: it costs
        no depth (`bases` counts them; controllers sit four below a session)."""
        view = view or f"`{cls}` ({model.shown_path})"
        assigned_here = model.attribute_values.get((cls, attr), [])
        for assigned, method in assigned_here:
            yield from self.of(model, assigned, method, None, depth + 1)
        classdef = model.classes.get(cls)
        scope = model.scopes.scope_of(classdef) if classdef is not None else None
        bindings = scope.bindings.get(attr, []) if scope is not None else []
        if classdef is not None and not assigned_here and not bindings and bases < MAX_ALIASES:
            for base in classdef.bases:
                found = model.class_named(base.value)
                if found is not None:
                    yield from self._self_attribute(*found, attr, depth, view, bases + 1)
        getter = model.property_getter(cls, attr)
        for returned in getter.returns if getter is not None else ():
            if returned.value is not None:  # `self.repos`: what the property returns
                yield from self.of(model, returned.value, getter, None, depth + 1)
        for binding in bindings:
            value = binding.value
            if isinstance(value, cst.Call) and model.qualified_name(value.func) in DEPENDS:
                # A class-based view: FastAPI fills class attributes that are
                # dependencies, for each request.
                param = cst.Param(
                    cst.Name(attr),
                    cst.Annotation(binding.annotation) if binding.annotation else None,
                    default=value,
                )
                yield from self.injected(model, view, param, depth)
                continue
            if binding.annotation is not None:
                yield from self._annotation(model, binding.annotation)
            if value is not None:
                yield from self.of(model, value, None, None, depth + 1)

    def _call(
        self,
        model: Model,
        call: cst.Call,
        function: Optional[FunctionInfo],
        env: Optional[Env],
        depth: int,
    ) -> Iterator[Origin]:
        session = loaded_through(call)
        if session is not None:
            held = self.of(model, session, function, env, depth)
            if holds_session(held):
                yield Origin(LOADED, parts=held)
                return
        qualname = model.qualified_name(call.func)
        if qualname in PARTIAL:
            parts: list[Origin] = []
            for arg in call.args[1:]:
                parts.extend(self.of(model, arg.value, function, env, depth))
            yield Origin(BOUND, parts=_unique(parts))
            return
        if qualname in FACTORIES:
            yield Origin(INSTANCE, FACTORIES[qualname])
            return
        yield from self._product(model, call.func, function, env, depth)
        if depth >= self.max_depth:
            return
        func, args = call.func, call.args
        if qualname in OFFLOADS and args:
            # `await run_in_threadpool(make_job, db)`: what `make_job(db)` returns.
            func, args = args[0].value, args[1:]
        parts = []
        for arg in args:
            parts.extend(self.of(model, arg.value, function, env, depth))
        if self.cheap and (not parts or model.project is None):
            return  # an object or a result built from nothing worth following
        cls = class_called(model, func)
        if cls is not None:
            yield Origin(INSTANCE, cls, parts=_unique(parts))
            return
        # A function's value is followed where it can be a partial or reach a
        # task; parsing every module a value passes through costs too much.
        with _parsing(model, True):
            ref = model.resolve_function(func, function)
        if ref is None:
            if self.built_from:
                yield Origin(INSTANCE, "", parts=_unique(parts))
            return
        callee = ref.info
        bound = isinstance(func, cst.Attribute)
        given = self.arguments(model, args, function, env, depth, callee, bound)
        for returned in callee.returns:
            if returned.value is not None:
                yield from self.of(ref.model, returned.value, callee, given, depth + 1)

    def _product(
        self,
        model: Model,
        func: cst.BaseExpression,
        function: Optional[FunctionInfo],
        env: Optional[Env],
        depth: int,
    ) -> Iterator[Origin]:
        """What calling an object of a known type makes: `SessionLocal()`,
        `engine.connect()`."""
        if isinstance(func, cst.Attribute) and func.attr.value in MADE_BY_METHODS:
            for origin in self.of(model, func.value, function, env, depth):
                product = METHOD_PRODUCTS.get((origin.type, func.attr.value))
                if origin.kind == INSTANCE and product:
                    yield Origin(INSTANCE, product)
        elif isinstance(func, cst.Name):
            for origin in self.of(model, func, function, env, depth):
                if origin.kind == INSTANCE and origin.type in PRODUCTS:
                    yield Origin(INSTANCE, PRODUCTS[origin.type])

    def arguments(
        self,
        model: Model,
        args: Iterable[cst.Arg],
        function: Optional[FunctionInfo],
        env: Optional[Env],
        depth: int,
        callee: FunctionInfo,
        bound: bool,
    ) -> Env:
        """What a call gives each parameter of `callee` (`bound`: called as a
        method of an object, so the first parameter is the object)."""
        params = callee.node.params
        positional = [*params.posonly_params, *params.params]
        if bound and callee.class_name and positional:
            positional = positional[1:]
        by_name = {p.name.value: p for p in [*positional, *params.kwonly_params]}
        star = params.star_arg.name.value if isinstance(params.star_arg, cst.Param) else None
        star_kw = params.star_kwarg.name.value if params.star_kwarg is not None else None
        given: dict[str, list[Origin]] = {}
        index = 0
        for arg in args:
            origins = self.of(model, arg.value, function, env, depth)
            if not origins:
                if arg.keyword is None and not arg.star:
                    index += 1
                continue
            if arg.star:  # `*args` / `**kwargs`: any parameter not given yet
                names = (
                    [p.name.value for p in positional[index:]] if arg.star == "*" else list(by_name)
                )
                names += [n for n in (star if arg.star == "*" else star_kw,) if n]
                for name in names:
                    given.setdefault(name, []).extend(origins)
            elif arg.keyword is not None:
                name = arg.keyword.value
                target = name if name in by_name else star_kw
                if target:
                    given.setdefault(target, []).extend(origins)
            else:
                if index < len(positional):
                    given.setdefault(positional[index].name.value, []).extend(origins)
                elif star:
                    given.setdefault(star, []).extend(origins)
                index += 1
        return {name: _unique(found) for name, found in given.items()}

    def _annotation(self, model: Model, annotation: cst.BaseExpression) -> Iterator[Origin]:
        for inner in unwrap(model, annotation):
            qualname = model.qualified_name(inner)
            if qualname in ANNOTATED_TYPES:
                yield Origin(INSTANCE, ANNOTATED_TYPES[qualname])


def _unique(origins: Iterable[Origin]) -> Origins:
    return tuple(dict.fromkeys(origins))


# -- following routes into the functions they call ------------------------


def propagate(model: Model, max_depth: int = DEFAULT_MAX_CALL_DEPTH) -> list[tuple[str, str]]:
    """Follow what this module's routes and dependencies are injected into the
    functions they call, `max_depth` calls deep. Files the facts (in the
    project, else in the model) and returns them as (file, fact)."""
    project = model.project
    facts: list[tuple[str, str]] = []
    if project is not None:
        done = project.propagated.get(model.path)
        if done is not None and done[0] is model:
            return done[1]
        # Filed before following: parameters met on the way read no facts yet.
        project.propagated[model.path] = (model, facts)
    elif model.provenance_facts is not None:
        return []
    local: dict[str, set[str]] = {}
    if project is None:
        model.provenance_facts = local
    tracer = _Tracer(max_depth, cheap=True)
    seen: set[tuple[int, tuple[tuple[str, Origins], ...]]] = set()

    def follow(
        where: Model, function: FunctionInfo, env: Optional[Env], depth: int, in_task: bool
    ) -> None:
        for site in function.calls:
            call = site.node
            func: cst.BaseExpression = call.func
            args: list[cst.Arg] = list(call.args)
            qualname = where.qualified_name(func)
            submits = isinstance(func, cst.Attribute) and func.attr.value == "add_task"
            runs = (submits or qualname in OFFLOADS or qualname in PARTIAL) and bool(args)
            if runs:
                # The callable runs with the other arguments: a call of it.
                func, args = args[0].value, args[1:]
            if not isinstance(func, (cst.Name, cst.Attribute)):
                continue
            if not any(tracer.of(where, a.value, function, env, depth) for a in args):
                continue  # nothing worth following: do not look for the callee
            # What a task (or a function it calls) is handed matters wherever
            # it is defined; a plain call matters only on the way to a task.
            ref = _callee(where, func, function, anywhere=runs or in_task)
            if ref is None or ref.info.key is None:
                continue
            bound = isinstance(func, cst.Attribute)
            given = tracer.arguments(where, args, function, env, depth, ref.info, bound)
            given = {name: found for name, found in given.items() if found}
            if not given:
                continue
            path, key = ref.model.path, ref.info.key
            for name, found in sorted(given.items()):
                facts.extend((path, HandedValue(key, name, origin).fact()) for origin in found)
            mark = (id(ref.info), tuple(sorted(given.items())))
            if depth + 1 < max_depth and mark not in seen:
                seen.add(mark)
                follow(ref.model, ref.info, given, depth + 1, runs or in_task)

    for entry in model.functions:
        if entry.route_kind or entry.is_dependency:
            follow(model, entry, None, 0, False)
    if project is not None:
        project.add_facts(facts, model.path)
    else:
        for path, fact in facts:
            local.setdefault(path, set()).add(fact)
    return facts


def _parsing(model: Model, cheap: bool) -> AbstractContextManager[None]:
    """While following routes, modules are parsed only where a value can reach
    a task or be wrapped (`partial`)."""
    if cheap and model.project is not None:
        return model.project.only_modules_mentioning((*HANDS_TO_TASKS, "partial"))
    return nullcontext()


def _callee(
    model: Model, func: cst.BaseExpression, function: FunctionInfo, anywhere: bool
) -> Optional[FunctionRef]:
    """The project function a route's call reaches: `anywhere` for a task and
    what it calls, else only in a module that can hand a value to a task
    (following every call of a route would parse half the project)."""
    if model.project is None or anywhere:
        return model.resolve_function(func, function)
    with model.project.only_modules_mentioning(HANDS_TO_TASKS):
        return model.resolve_function(func, function)


def _facts_for(model: Model, function: FunctionInfo, param: str) -> Iterator[Origin]:
    """What the indexed routes hand to parameter `param` of `function`."""
    if function.key is None:
        return
    if model.project is not None:
        propagate(model)
        facts = model.project.facts_about(model.path)
    else:
        if model.provenance_facts is None:
            propagate(model)
        facts = (model.provenance_facts or {}).get(model.path, set())
    for fact in sorted(facts):
        handed = HandedValue.of(fact)
        if handed is not None and (handed.key, handed.param) == (function.key, param):
            yield handed.origin


__all__ = [
    "origins_of",
    "propagate",
    "stored_on_state",
]
