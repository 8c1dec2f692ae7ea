"""The semantic model of one module, built in a single libcst pass and shared by
every rule: imports, functions, routes, dependencies, and every call with the
syntactic context it sits in.

Rules ask the model questions ("is this a route?", "is this expression a
BackgroundTasks?") instead of walking the tree again, so the tree is visited
once per file whatever the number of rules. It is longer than the other
modules on purpose: every fact a rule may ask about lives here, in one place,
rather than half-learnt again in each rule. The walk that builds it is in
model_builder.py, cross-module resolution in project.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Protocol, Union

import libcst as cst

from bgtask_lint.analysis.facts import given_injected
from bgtask_lint.analysis.names import (
    ANNOTATED,
    BACKGROUND_TASK,
    BACKGROUND_TASKS,
    DEPENDS,
    LOCAL_PREFIX,
    MISSPELLED_FASTAPI_TASK,
    OPTIONAL,
    PARTIAL,
    PROPERTIES,
    RESPONSE_CLASSES,
    UNION,
    ImportTable,
)
from bgtask_lint.analysis.scopes import MODULE, Binding, Reference, Scope, Scopes
from bgtask_lint.analysis.syntax import (
    assigned_name,
    call_argument,
    is_none,
    parse_string_annotation,
    union_members,
)
from bgtask_lint.text.source import shown_path

# How many names for another name are followed (`A = B`, `B = mod.C`...),
# across modules too: enough for real code, and an end to `A = B; B = A`.
MAX_ALIASES = 8
HTTP = "http"  # a FastAPI route: FastAPI injects its parameters
WEBSOCKET = "websocket"
# A Starlette endpoint (`Route("/", endpoint)`, `@app.route` on a Starlette
# app, an `HTTPEndpoint` method): it gets the request, nothing is injected.
STARLETTE = "starlette"


@dataclass(eq=False)
class CallSite:
    """A call and the nodes right above it (the model keeps no full parent map)."""

    node: cst.Call
    parent: cst.CSTNode
    grandparent: Optional[cst.CSTNode]
    # The innermost function the call runs in; None at module or class level.
    function: Optional[FunctionInfo]
    # The call sits inside a lambda (so it runs only when the lambda does).
    in_lambda: bool
    # The statement holding the call, for fixes that insert code before it.
    statement: Optional[cst.BaseStatement]
    # The call runs in its function's own body, where `await` may be written:
    # not in a lambda, nor in a class body nested in the function.
    in_function_body: bool = True


@dataclass(eq=False)
class FunctionInfo:
    node: cst.FunctionDef
    parent: Optional[FunctionInfo]
    class_name: Optional[str]
    route_kind: Optional[str] = None  # HTTP, WEBSOCKET, STARLETTE or None
    is_dependency: bool = False
    # A lifespan, startup or shutdown handler: code that runs outside any request.
    is_lifecycle: bool = False
    calls: list[CallSite] = field(default_factory=list)
    returns: list[cst.Return] = field(default_factory=list)
    yields: list[cst.Yield] = field(default_factory=list)
    # The statement holding each yield (for the branch queries).
    yield_statements: list[cst.BaseStatement] = field(default_factory=list)
    # `await`, `async for` or `async with` directly in the body.
    awaits: bool = False
    # The index in the module's body of the top-level statement holding the
    # definition: names a fix puts in the signature must be bound before it.
    position: int = 0

    @property
    def name(self) -> str:
        return self.node.name.value

    @property
    def is_async(self) -> bool:
        return self.node.asynchronous is not None

    @property
    def is_module_level(self) -> bool:
        return self.parent is None and self.class_name is None

    @property
    def key(self) -> Optional[str]:
        """`func` or `Class.method`: how other modules name it (None for
        nested functions, which cannot be named from outside)."""
        if self.parent is not None:
            return None
        return f"{self.class_name}.{self.name}" if self.class_name else self.name

    @property
    def display_name(self) -> str:
        """`Mailer.send` for a method, `send_receipt` for a function."""
        return self.key or self.name

    @property
    def enclosing_class(self) -> Optional[str]:
        """The class whose method this is, also for a function nested in a method."""
        scope: Optional[FunctionInfo] = self
        while scope is not None:
            if scope.class_name:
                return scope.class_name
            scope = scope.parent
        return None

    def parameters(self) -> list[cst.Param]:
        p = self.node.params
        return [*p.posonly_params, *p.params, *p.kwonly_params]


@dataclass(frozen=True)
class FunctionRef:
    """A function and the model of the module that defines it."""

    model: Model
    info: FunctionInfo


@dataclass(frozen=True)
class ClassRef:
    model: Model
    name: str


@dataclass(frozen=True)
class TaskSubmission:
    """A callable handed over to run as a background task:
    `<BackgroundTasks>.add_task(f, ...)` or `BackgroundTask(f, ...)`."""

    site: CallSite
    # The argument holding the callable (None when the call has no arguments).
    callable_arg: Optional[cst.Arg]
    # The BackgroundTasks receiving it, for `add_task`; None for BackgroundTask().
    receiver: Optional[cst.BaseExpression]


@dataclass(frozen=True)
class BackgroundAssignment:
    """`<target>.background = <value>`."""

    node: cst.Assign
    target: cst.Attribute
    function: Optional[FunctionInfo]
    statement: Optional[cst.BaseStatement]


@dataclass(frozen=True)
class ImportStatement:
    """An `import` / `from ... import` anywhere in the module, with the line
    holding it (for fixes that edit it)."""

    node: Union[cst.Import, cst.ImportFrom]
    line: Optional[cst.BaseStatement]


@dataclass(frozen=True)
class AnnotationInfo:
    """What a parameter annotation says about background tasks."""

    kind: Optional[str]  # "tasks", "task", "tasks-subclass" or None
    optional: bool = False  # Optional[...], Union[..., None] or `X | None`
    annotated: bool = False  # wrapped in Annotated[...]


Target = Union[FunctionRef, ClassRef, "Model"]


class ProjectView(Protocol):
    """What a model, and what reads it, may ask of the project it belongs to
    (project.Project). A Protocol, so that nothing here imports the Project:
    project.py builds models, and naming it back would close an import
    circle."""

    root: Path
    checked: set[str]
    context_files: list[str]
    propagated: dict[str, tuple[Model, list[tuple[str, str]]]]
    serverless_entries: Optional[list[str]]

    def text_of(self, path: Union[str, Path]) -> Optional[str]: ...
    def is_parsed(self, path: Union[str, Path]) -> bool: ...
    def model_for_path(self, path: Path) -> Optional[Model]: ...
    def outline_model(self, path: Path, name: str) -> Optional[Model]: ...
    def module_name(self, path: Path) -> tuple[Optional[str], bool]: ...
    def path_for_module(self, name: str, near: Optional[str] = None) -> Optional[Path]: ...
    def resolve(
        self, qualname: str, depth: int = 0, near: Optional[str] = None
    ) -> Optional[Target]: ...
    def only_modules_mentioning(
        self, words: tuple[str, ...], *, services: bool = True
    ) -> ContextManager[None]: ...
    def called_elsewhere(self, model: Model, names: frozenset[str]) -> frozenset[str]: ...
    def mentioned_elsewhere(self, model: Model, name: str) -> bool: ...
    def handles_http_exceptions(self) -> bool: ...
    def add_facts(self, facts: Sequence[tuple[str, str]], source: str) -> None: ...
    def facts_about(self, path: str) -> set[str]: ...
    def sources_of(self, path: str, fact: str) -> set[str]: ...
    def task_keys(self, path: str) -> set[str]: ...
    def runs_tasks(self, path: str) -> bool: ...
    def on_chain(self, path: str, fact: str) -> set[str]: ...


class Model:
    def __init__(self, module: cst.Module, path: str) -> None:
        self.module = module
        self.path = path
        # The text `module` was parsed from when it is not the file's own (form
        # feeds taken out of indentation: see parsing.parse_source), and how
        # many columns each such row lost.
        self.parsed_text: Optional[str] = None
        # Python's layer: scopes, bindings, references, branches (scopes.py).
        self.scopes: Scopes = Scopes(Scope(MODULE, module, None))
        self.column_shifts: dict[int, int] = {}
        # Set when the model belongs to a Project (see project.py): then names
        # imported from other modules of the project resolve to their code.
        self.project: Optional[ProjectView] = None
        self.module_name: Optional[str] = None
        self.is_package = False
        # Methods of module-level classes, by (class, method name).
        self.methods: dict[tuple[str, str], FunctionInfo] = {}
        # `self.<attr> = SomeClass(...)` in a method: the class, by (class, attr).
        self.self_attributes: dict[tuple[str, str], cst.BaseExpression] = {}
        # Every value assigned to `self.<attr>` in a method, with the method.
        self.attribute_values: dict[
            tuple[str, str], list[tuple[cst.BaseExpression, FunctionInfo]]
        ] = {}
        # `<x>.state.<name> = value` (a middleware storing on request.state):
        # (name, value, the function it is in).
        self.state_assignments: list[tuple[str, cst.BaseExpression, Optional[FunctionInfo]]] = []
        self.imports = ImportTable()
        self.functions: list[FunctionInfo] = []
        self.calls: list[CallSite] = []
        self.classes: dict[str, cst.ClassDef] = {}
        self.module_functions: dict[str, FunctionInfo] = {}
        # Names bound at module level to `FastAPI()` / `APIRouter()`.
        self.app_names: set[str] = set()
        # Starlette() / Router() objects: their routes are STARLETTE endpoints.
        self.starlette_app_names: set[str] = set()
        # `add_api_route("/", logged(endpoint))` with `logged` from another
        # module: (endpoint, route kind, `logged`), settled by the project.
        self.wrapped_elsewhere: list[tuple[FunctionInfo, str, cst.BaseExpression]] = []
        # The formatter's line length, which fixes wrap what they write to (set
        # by the engine from the configuration).
        self.line_length = 88
        self.imports_fastapi = False
        # `DB = Annotated[Session, Depends(get_db)]`: module-level type aliases.
        self.type_aliases: dict[str, cst.Subscript] = {}
        # `<x>.background = ...` anywhere, in source order.
        self.background_assignments: list[BackgroundAssignment] = []
        # Top-level import lines that run at import time (not under
        # TYPE_CHECKING), with their Import / ImportFrom and their index in the
        # module's body: where fixes add imports.
        self.runtime_imports: list[tuple[cst.SimpleStatementLine, cst.CSTNode, int]] = []
        # Every import statement, in source order.
        self.import_statements: list[ImportStatement] = []
        self._submissions: Optional[list[TaskSubmission]] = None
        self._background_tasks_names: dict[FunctionInfo, set[str]] = {}
        self._site_by_call: dict[cst.Call, CallSite] = {}
        self._info_by_def: Optional[dict[int, FunctionInfo]] = None
        # Provenance facts of a model checked without a project, by file (see
        # provenance.propagate); None until followed.
        self.provenance_facts: Optional[dict[str, set[str]]] = None

    @property
    def shown_path(self) -> str:
        """How messages name this module's file (text.source.shown_path)."""
        return shown_path(self.path, self.project.root if self.project else None)

    # -- Python's layer, asked about this module's functions ---------------
    def local_bindings(self, scope_node: cst.CSTNode, name: str) -> list[Binding]:
        """The bindings of `name` in the scope a function (or the module) opens."""
        scope = self.scopes.scope_of(scope_node)
        return list(scope.bindings.get(name, [])) if scope is not None else []

    def local_uses(self, scope_node: cst.CSTNode, name: str) -> list[Reference]:
        """Every load of the `name` bound in the scope `scope_node` opens (a
        function, or the module): from that scope and from the closures nested
        in it, not a nested function's own `name`."""
        scope = self.scopes.scope_of(scope_node)
        return self.scopes.references_to(scope, name) if scope is not None else []

    def function_of(self, node: cst.CSTNode) -> Optional[FunctionInfo]:
        """The FunctionInfo of a FunctionDef of this module."""
        if self._info_by_def is None:
            self._info_by_def = {id(info.node): info for info in self.functions}
        return self._info_by_def.get(id(node))

    # -- resolution ------------------------------------------------------
    def qualified_name(self, expr: Optional[cst.BaseExpression]) -> Optional[str]:
        return self.imports.qualified_name(expr)

    def is_background_tasks_class(self, expr: Optional[cst.BaseExpression]) -> bool:
        return self.qualified_name(expr) in BACKGROUND_TASKS

    def is_background_task_class(self, expr: Optional[cst.BaseExpression]) -> bool:
        return self.qualified_name(expr) in BACKGROUND_TASK

    def is_background_tasks_call(self, node: cst.CSTNode) -> bool:
        return isinstance(node, cst.Call) and self.is_background_tasks_class(node.func)

    def site_of(self, node: Optional[cst.CSTNode]) -> Optional[CallSite]:
        """The CallSite of a Call node, e.g. to look above a call's parent."""
        return self._site_by_call.get(node) if isinstance(node, cst.Call) else None

    def absolute(self, qualname: str) -> Optional[str]:
        """`shop.api.tasks.send` for `.tasks.send` imported in `shop.api.routes`."""
        if not qualname.startswith("."):
            return qualname
        if self.module_name is None:
            return None
        dots = len(qualname) - len(qualname.lstrip("."))
        package = self.module_name.split(".")
        if not self.is_package:
            package = package[:-1]
        if dots - 1 > len(package):
            return None
        base = package[: len(package) - (dots - 1)]
        rest = qualname[dots:]
        return ".".join([*base, rest] if rest else base) or None

    def resolve_function(
        self, expr: cst.BaseExpression, scope: Optional[FunctionInfo] = None
    ) -> Optional[FunctionRef]:
        """The function `expr` names, in this module or (with a project) any
        module of the project: `f`, `mod.f`, `Class.method`, `self.method`,
        `self.service.method` and `local.method` where the class is known."""
        if isinstance(expr, cst.Attribute):
            owner = self._class_of(expr.value, scope)
            if owner is not None:
                model, cls = owner
                method = model.methods.get((cls, expr.attr.value))
                return FunctionRef(model, method) if method else None
        target = self._resolve(expr)
        return target if isinstance(target, FunctionRef) else None

    def _resolve(self, expr: cst.BaseExpression, depth: int = 0) -> Optional[Target]:
        qualname = self.qualified_name(expr)
        if qualname is None:
            return None
        if qualname.startswith(LOCAL_PREFIX):
            parts = qualname[len(LOCAL_PREFIX) :].split(".")
            if len(parts) == 1 and parts[0] in self.module_functions:
                return FunctionRef(self, self.module_functions[parts[0]])
            if parts[0] in self.classes:
                if len(parts) == 1:
                    return ClassRef(self, parts[0])
                method = self.methods.get((parts[0], parts[1])) if len(parts) == 2 else None
                return FunctionRef(self, method) if method else None
            return self.resolve_alias(parts, depth)
        absolute = self.absolute(qualname)
        if self.project is None or absolute is None:
            return None
        return self.project.resolve(absolute, depth, near=self.path)

    def resolve_alias(self, parts: list[str], depth: int) -> Optional[Target]:
        """What `Handler` (or `Handler.method`) stands for after `Handler =
        orders.OrderHandler` at module level (see ImportTable.alias_of), and
        `notifier.send` after `notifier = Notifier(...)`: the method of the
        module-level instance's class."""
        rest = parts[1:]
        alias = self.imports.alias_of(parts[0])
        if alias is None and len(rest) == 1:  # an instance: only its class's methods count
            alias = self.imports.made_by(parts[0])
        if alias is None or depth >= MAX_ALIASES:
            return None
        target = self._resolve(alias, depth + 1)
        if not rest:
            return target
        if isinstance(target, ClassRef) and len(rest) == 1:
            method = target.model.methods.get((target.name, rest[0]))
            return FunctionRef(target.model, method) if method else None
        return None

    def _class_of(
        self, expr: cst.BaseExpression, scope: Optional[FunctionInfo]
    ) -> Optional[tuple[Model, str]]:
        """The class of the object `expr` stands for, when the code says it."""
        cls = scope.enclosing_class if scope else None
        if isinstance(expr, cst.Name) and expr.value == "self" and cls:
            return self, cls
        if (
            isinstance(expr, cst.Attribute)
            and isinstance(expr.value, cst.Name)
            and expr.value.value == "self"
            and cls
        ):
            attr = expr.attr.value
            built_by = self.self_attributes.get((cls, attr)) or self._made_by_property(cls, attr)
            return self.class_named(built_by) if built_by is not None else None
        if isinstance(expr, cst.Call):  # `Service().method`
            return self.class_named(expr.func)
        if isinstance(expr, cst.Name) and scope is not None:
            for site in scope.calls:
                if assigned_name(site.parent) == expr.value:  # `service = Service(...)`
                    return self.class_named(site.node.func)
        return self.class_named(expr)

    def property_getter(self, cls: str, attr: str) -> Optional[FunctionInfo]:
        """The method that computes `self.<attr>` when it is a property of `cls`."""
        getter = self.methods.get((cls, attr))
        decorators = getter.node.decorators if getter else ()
        is_property = any(self.qualified_name(d.decorator) in PROPERTIES for d in decorators)
        return getter if is_property else None

    def _made_by_property(self, cls: str, attr: str) -> Optional[cst.BaseExpression]:
        """`Client` when `attr` is a property of `cls` that returns `Client()`."""
        getter = self.property_getter(cls, attr)
        returned = [r.value for r in getter.returns] if getter else []
        made = [value.func for value in returned if isinstance(value, cst.Call)]
        return made[0] if made else None

    def class_named(self, expr: cst.BaseExpression) -> Optional[tuple[Model, str]]:
        """The project class `expr` names (`Service`, `services.Service`), with
        the model of its module."""
        target = self._resolve(expr)
        return (target.model, target.name) if isinstance(target, ClassRef) else None

    def function_by_key(self, key: str) -> Optional[FunctionInfo]:
        """`func` or `Class.method` (see FunctionInfo.key)."""
        cls, _, name = key.rpartition(".")
        return self.methods.get((cls, name)) if cls else self.module_functions.get(name)

    def local_function(self, expr: cst.BaseExpression) -> Optional[FunctionInfo]:
        """The module-level function a Name refers to, if defined in this module."""
        qualname = self.qualified_name(expr)
        if qualname and qualname.startswith(LOCAL_PREFIX):
            return self.module_functions.get(qualname[len(LOCAL_PREFIX) :])
        return None

    def subclasses_background_tasks(self, name: str) -> bool:
        cls = self.classes.get(name)
        if cls is None:
            return False
        return any(self.is_background_tasks_class(base.value) for base in cls.bases)

    def annotation_info(self, annotation: Optional[cst.Annotation]) -> AnnotationInfo:
        if annotation is None:
            return AnnotationInfo(None)
        return self._classify_type(annotation.annotation, optional=False, annotated=False)

    def _classify_type(
        self, expr: cst.BaseExpression, *, optional: bool, annotated: bool
    ) -> AnnotationInfo:
        if isinstance(expr, cst.SimpleString):
            # FastAPI evaluates string annotations, so "BackgroundTask" counts.
            inner = parse_string_annotation(expr)
            if inner is None:
                return AnnotationInfo(None)
            return self._classify_type(inner, optional=optional, annotated=annotated)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):
            members = union_members(expr)
            return self._classify_union(members, optional=optional, annotated=annotated)
        if isinstance(expr, cst.Subscript):
            origin = self.qualified_name(expr.value)
            args = [el.slice.value for el in expr.slice if isinstance(el.slice, cst.Index)]
            if origin in ANNOTATED and args:
                return self._classify_type(args[0], optional=optional, annotated=True)
            if origin in OPTIONAL and len(args) == 1:
                return self._classify_type(args[0], optional=True, annotated=annotated)
            if origin in UNION:
                return self._classify_union(args, optional=optional, annotated=annotated)
            return AnnotationInfo(None)
        if self.is_background_tasks_class(expr):
            return AnnotationInfo("tasks", optional, annotated)
        if self.is_background_task_class(expr) or (
            self.qualified_name(expr) in MISSPELLED_FASTAPI_TASK
        ):
            return AnnotationInfo("task", optional, annotated)
        qualname = self.qualified_name(expr)
        if (
            qualname
            and qualname.startswith(LOCAL_PREFIX)
            and self.subclasses_background_tasks(qualname[len(LOCAL_PREFIX) :])
        ):
            return AnnotationInfo("tasks-subclass", optional, annotated)
        return AnnotationInfo(None)

    def _classify_union(
        self, members: list[cst.BaseExpression], *, optional: bool, annotated: bool
    ) -> AnnotationInfo:
        non_none = [m for m in members if not is_none(m)]
        optional = optional or len(non_none) < len(members)
        if len(non_none) != 1:
            return AnnotationInfo(None)
        return self._classify_type(non_none[0], optional=optional, annotated=annotated)

    def background_tasks_names(self, function: FunctionInfo) -> set[str]:
        """Names that hold a BackgroundTasks inside `function`: its (and its
        enclosing functions') parameters annotated so, and locals assigned
        `BackgroundTasks()`. Asked for every `.add_task` call: computed once."""
        known = self._background_tasks_names.get(function)
        if known is not None:
            return known
        names: set[str] = set()
        scope: Optional[FunctionInfo] = function
        while scope is not None:
            for param in scope.parameters():
                if self.annotation_info(param.annotation).kind == "tasks":
                    names.add(param.name.value)
            for site in scope.calls:
                if self.is_background_tasks_class(site.node.func):
                    target = assigned_name(site.parent)
                    if target:
                        names.add(target)
            scope = scope.parent
        self._background_tasks_names[function] = names
        return names

    def injected_tasks(self, function: FunctionInfo) -> list[str]:
        """Names of `function`'s parameters that FastAPI fills with its
        BackgroundTasks (annotated `BackgroundTasks`, not optional)."""
        names = []
        for param in function.parameters():
            info = self.annotation_info(param.annotation)
            if info.kind == "tasks" and not info.optional:
                names.append(param.name.value)
        return names

    def uses_injected_tasks(self, function: FunctionInfo, depth: int = 0) -> bool:
        """`function` adds to its injected BackgroundTasks, passes it on, or
        depends (in this module) on a dependency that does."""
        injected = set(self.injected_tasks(function))
        for site in function.calls:
            func = site.node.func
            if (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value in injected
            ):
                return True
            if any(
                isinstance(a.value, cst.Name) and a.value.value in injected for a in site.node.args
            ):
                return True
        if depth < 3:
            for param in function.parameters():
                dependency = self.dependency_of(param)
                if dependency is not None and dependency.model.uses_injected_tasks(
                    dependency.info, depth + 1
                ):
                    return True
        return False

    def is_background_tasks_expr(
        self, expr: cst.BaseExpression, function: Optional[FunctionInfo]
    ) -> bool:
        if self.is_background_tasks_call(expr):
            return True
        if isinstance(expr, cst.Name) and function is not None:
            return expr.value in self.background_tasks_names(function)
        return False

    def is_response_class(self, expr: Optional[cst.BaseExpression]) -> bool:
        """fastapi's / starlette's Response classes, and this module's subclasses."""
        qualname = self.qualified_name(expr) or ""
        if qualname in RESPONSE_CLASSES or (
            qualname.startswith(("fastapi.responses.", "starlette.responses."))
            and qualname.endswith("Response")
        ):
            return True
        if qualname.startswith(LOCAL_PREFIX):
            cls = self.classes.get(qualname[len(LOCAL_PREFIX) :])
            return cls is not None and any(self.is_response_class(b.value) for b in cls.bases)
        return False

    def response_parameters(self, function: FunctionInfo) -> set[str]:
        """Parameters annotated with a Response class (FastAPI injects a
        temporary response there: only headers, cookies and status are kept)."""
        return {
            p.name.value
            for p in function.parameters()
            if p.annotation is not None and self.is_response_class(p.annotation.annotation)
        }

    def returns_name(self, function: FunctionInfo, name: str) -> bool:
        """`function` has a `return <name>`."""
        return any(
            isinstance(r.value, cst.Name) and r.value.value == name for r in function.returns
        )

    def inline_background_task(self, value: cst.BaseExpression) -> Optional[cst.Call]:
        """`BackgroundTask(f, ...)` written in place, or None."""
        if isinstance(value, cst.Call) and self.is_background_task_class(value.func):
            return value
        return None

    def depends_call(self, param: cst.Param) -> Optional[cst.Call]:
        """The `Depends(...)` / `Security(...)` behind a parameter: its default,
        or in `Annotated[T, Depends(...)]`."""
        if (
            isinstance(param.default, cst.Call)
            and self.qualified_name(param.default.func) in DEPENDS
        ):
            return param.default
        annotation = param.annotation.annotation if param.annotation else None
        if isinstance(annotation, cst.Name) and annotation.value in self.type_aliases:
            annotation = self.type_aliases[annotation.value]
        if (
            isinstance(annotation, cst.Subscript)
            and self.qualified_name(annotation.value) in ANNOTATED
        ):
            for element in annotation.slice[1:]:
                value = element.slice.value if isinstance(element.slice, cst.Index) else None
                if isinstance(value, cst.Call) and self.qualified_name(value.func) in DEPENDS:
                    return value
        return None

    def is_function_scoped(self, depends: cst.Call) -> bool:
        """`Depends(dep, scope="function")`: FastAPI (0.121 and later) tears
        `dep` down when the endpoint returns, before the response is sent."""
        scope = call_argument(depends, 99, "scope")
        return (
            scope is not None
            and isinstance(scope.value, cst.SimpleString)
            and scope.value.evaluated_value == "function"
        )

    def depends_on(self, function: FunctionInfo) -> list[cst.Call]:
        """The `Depends(...)` / `Security(...)` calls of this module that name
        `function` as their dependency."""
        found = []
        for site in self.calls:
            if self.qualified_name(site.node.func) not in DEPENDS:
                continue
            target = call_argument(site.node, 0, "dependency")
            if target is not None and self.local_function(target.value) is function:
                found.append(site.node)
        return found

    def dependency_of(self, param: cst.Param) -> Optional[FunctionRef]:
        """The function a parameter depends on (`Depends(get_db)`), in this
        module or, with a project, the module that defines it."""
        call = self.depends_call(param)
        target = call_argument(call, 0, "dependency") if call else None
        return self.resolve_function(target.value) if target else None

    def resolve_ahead(self) -> None:
        """Resolve now what checking this module follows into other modules
        first, so that their models are parsed by then: the dependencies of
        its routes (whether they use the injected tasks, BGT005) and what the
        functions its submissions run call (the first step of BGT003's walk
        for blocking calls). The text alone decides both, not the facts other
        files give: a worker does this while the others still index."""
        for function in self.functions:
            if function.route_kind:
                self.uses_injected_tasks(function)
        for submission in self.declared_submissions():
            if submission.callable_arg is None:
                continue
            task = self.task_function(submission.callable_arg.value, submission.site.function)
            if task is None:
                continue
            for site in task.info.calls:
                task.model.resolve_function(site.node.func, site.function)

    def task_submissions(self) -> list[TaskSubmission]:
        """Every place a callable is handed over to run as a background task:
        the declared ones, and `tasks.add_task(...)` on an unannotated
        parameter that the project's routes hand their injected
        BackgroundTasks (read when asked: the facts grow while files are
        indexed, and indexing uses only the declared ones)."""
        facts = self.project.facts_about(self.path) if self.project else set()
        typed = given_injected(facts, "BackgroundTasks") if facts else set()
        if not typed:
            return self.declared_submissions()
        extra = []
        for site in self.calls:
            func = site.node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "add_task":
                holder = self._parameter_of(func.value)
                if holder is not None and holder in typed:
                    extra.append(
                        TaskSubmission(site, call_argument(site.node, 0, "func"), func.value)
                    )
        return [*self.declared_submissions(), *extra]

    def _parameter_of(self, expr: cst.BaseExpression) -> Optional[tuple[str, str]]:
        """(function key, name) when `expr` is an unannotated parameter."""
        bindings = self.scopes.bindings_of(expr) if isinstance(expr, cst.Name) else []
        param = bindings[0].node if len(bindings) == 1 else None
        owner = self.function_of(bindings[0].scope.node) if bindings else None
        if not isinstance(param, cst.Param) or param.annotation or owner is None or not owner.key:
            return None
        return owner.key, param.name.value

    def declared_submissions(self) -> list[TaskSubmission]:
        """The submissions this module alone tells: `add_task` counts only on
        a known BackgroundTasks (an annotated parameter, a local
        `BackgroundTasks()`): many libraries have an `add_task` method of
        their own."""
        if self._submissions is None:
            self._submissions = []
            for site in self.calls:
                func = site.node.func
                if (
                    isinstance(func, cst.Attribute)
                    and func.attr.value == "add_task"
                    and self.is_background_tasks_expr(func.value, site.function)
                ):
                    arg = call_argument(site.node, 0, "func")
                    self._submissions.append(TaskSubmission(site, arg, func.value))
                elif self.is_background_task_class(func):
                    arg = call_argument(site.node, 0, "func")
                    self._submissions.append(TaskSubmission(site, arg, None))
        return self._submissions

    def task_function(
        self, expr: cst.BaseExpression, scope: Optional[FunctionInfo] = None
    ) -> Optional[FunctionRef]:
        """The function a task callable names: `f`, `partial(f, ...)`, a method."""
        if isinstance(expr, cst.Call) and self.qualified_name(expr.func) in PARTIAL:
            first = call_argument(expr, 0, "func")
            return self.task_function(first.value, scope) if first else None
        return self.resolve_function(expr, scope)

    def handed_over(self, submission: TaskSubmission) -> Iterator[cst.BaseExpression]:
        """What a submission hands to the task: its arguments, the arguments
        bound by `partial(f, ...)`, the object behind a bound method
        (`svc.run`), and a callable built elsewhere (a partial a handler
        returned, one picked from a tuple, a closure)."""
        for arg in submission.site.node.args:
            if arg is submission.callable_arg:
                value = arg.value
                if isinstance(value, cst.Call) and self.qualified_name(value.func) in PARTIAL:
                    yield from (a.value for a in value.args[1:])
                elif isinstance(value, cst.Attribute):
                    yield value.value
                elif isinstance(value, (cst.Name, cst.Call, cst.Subscript, cst.Lambda)):
                    yield value  # a callable built elsewhere, or a closure
                continue
            yield arg.value

    def is_app_object(self, expr: cst.BaseExpression) -> bool:
        """A FastAPI() / APIRouter() instance: bound in this module, or imported
        from elsewhere in a module that uses FastAPI (a per-file model cannot
        see the other module; `from .main import app` is the common case)."""
        if not isinstance(expr, cst.Name):
            return False
        if expr.value in self.app_names:
            return True
        binding = self.imports.bindings.get(expr.value)
        return (
            binding is not None
            and isinstance(binding.node, cst.ImportAlias)
            and self.imports_fastapi
            and not binding.qualname.startswith(("fastapi", "starlette"))
        )


def bound_parameter(callee: FunctionInfo, call: cst.Call, arg: cst.Arg) -> Optional[str]:
    """The parameter of `callee` that argument `arg` of `call` binds (None for
    `*args` / `**kwargs` unpacking, or an argument nothing takes)."""
    if arg.star:
        return None
    params = callee.node.params
    if arg.keyword is not None:
        names = {p.name.value for p in [*params.params, *params.kwonly_params]}
        return arg.keyword.value if arg.keyword.value in names else None
    positional = [*params.posonly_params, *params.params]
    # `obj.method(x)`: the first parameter is the object.
    if isinstance(call.func, cst.Attribute) and callee.class_name and positional:
        positional = positional[1:]
    index = [a for a in call.args if a.keyword is None and not a.star].index(arg)
    return positional[index].name.value if index < len(positional) else None


__all__ = [
    "HTTP",
    "WEBSOCKET",
    "AnnotationInfo",
    "BackgroundAssignment",
    "CallSite",
    "FunctionInfo",
    "ImportStatement",
    "Model",
    "TaskSubmission",
    "bound_parameter",
]
