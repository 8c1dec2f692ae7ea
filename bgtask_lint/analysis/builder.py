"""Builds the Model of a module in one read-only walk of its libcst tree."""

from __future__ import annotations

from typing import Any, Optional

import libcst as cst

from bgtask_lint.analysis.model import (
    HTTP,
    STARLETTE,
    WEBSOCKET,
    BackgroundAssignment,
    CallSite,
    FunctionInfo,
    ImportStatement,
    Model,
)
from bgtask_lint.analysis.names import (
    APP_CLASSES,
    DEPENDS,
    HTTP_ENDPOINT_CLASSES,
    HTTP_ROUTE_METHODS,
    ROUTE_CLASSES,
    STARLETTE_APP_CLASSES,
    WEBSOCKET_ROUTE_METHODS,
    dotted_name,
)
from bgtask_lint.analysis.scopes import ScopeBuilder
from bgtask_lint.analysis.syntax import call_argument
from bgtask_lint.analysis.walk import child_nodes


class _ModelBuilder:
    """Fills a Model in one walk. Keeps the chain of ancestors so that each call
    knows its parent and grandparent without a ParentNodeProvider."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.stack: list[cst.CSTNode] = []
        self.functions: list[FunctionInfo] = []
        self.classes: list[str] = []
        self.lambda_depth: list[int] = [0]
        # What the innermost scope is: a function's body or a class body.
        self.scope_is_class: list[bool] = [False]
        self.type_checking_depth = 0
        self.statements: list[cst.BaseStatement] = []
        # Function bodies (by id: libcst hashes nodes slowly), to open the
        # function's scope on entry.
        self.bodies: dict[int, FunctionInfo] = {}
        # The index of the current top-level statement in the module's body.
        self.position = -1
        # `name = SomeCall()` at module level, resolved once all imports are known.
        self.pending_apps: list[tuple[str, cst.Call]] = []

    def run(self, module: cst.Module) -> None:
        # Python's layer (scopes.py) is fed by the same walk: its handlers and
        # this builder's, per node type.
        scopes = ScopeBuilder(module, self.stack)
        enter, leave = scopes.handlers()
        for kind, method in _ENTER.items():
            enter.setdefault(kind, []).append(method.__get__(self))
        for kind, method in _LEAVE.items():
            leave.setdefault(kind, []).insert(0, method.__get__(self))
        # The hottest loop of a run, once per node: walk.walk's traversal
        # written out (no generator), names bound locally. On `todo`, a node
        # is to be entered, a 1-tuple holding one to be left; a node without
        # children (most are names and literals) is left as soon as entered.
        stack, statements, bodies, is_line = self.stack, self.statements, self.bodies, _IS_LINE
        no_handlers: tuple = ()
        todo: list[Any] = [module]
        while todo:
            item = todo.pop()
            if type(item) is not tuple:
                node = item
                kind = type(node)
                stack.append(node)
                if id(node) in bodies:
                    self.functions.append(bodies[id(node)])
                    self.lambda_depth.append(0)
                    self.scope_is_class.append(False)
                line = is_line.get(kind)
                if line is None:
                    line = _is_line(kind)
                if line:
                    statements.append(node)
                    if len(statements) == 1:
                        self.position += 1
                for handler in enter.get(kind, no_handlers):
                    handler(node)
                children = child_nodes(node)
                if children:
                    todo.append((node,))
                    children.reverse()
                    todo.extend(children)
                    continue
            else:
                node = item[0]
                kind = type(node)
                line = is_line[kind]
            for handler in leave.get(kind, no_handlers):
                handler(node)
            if line:
                statements.pop()
            if bodies and bodies.pop(id(node), None) is not None:
                self.functions.pop()
                self.lambda_depth.pop()
                self.scope_is_class.pop()
            stack.pop()
        self.model.scopes = scopes.finish()
        self.finish()

    @property
    def at_module_level(self) -> bool:
        return not self.functions and not self.classes

    # -- bindings --------------------------------------------------------
    def visit_If(self, node: cst.If) -> None:
        name = dotted_name(node.test)
        if name in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            self.type_checking_depth += 1

    def leave_If(self, node: cst.If) -> None:
        name = dotted_name(node.test)
        if name in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            self.type_checking_depth -= 1

    def _note_runtime_import(self, node: cst.CSTNode) -> None:
        if len(self.statements) == 1 and not self.type_checking_depth:
            line = self.statements[0]
            if isinstance(line, cst.SimpleStatementLine):
                self.model.runtime_imports.append((line, node, self.position))

    def visit_Import(self, node: cst.Import) -> None:
        self._note_runtime_import(node)
        line = self.statements[-1] if self.statements else None
        self.model.import_statements.append(ImportStatement(node, line))
        self.model.imports.add_import(
            node,
            module_level=not self.functions,
            type_checking=self.type_checking_depth > 0,
            position=self.position,
        )
        for alias in node.names:
            if (dotted_name(alias.name) or "").split(".")[0] == "fastapi":
                self.model.imports_fastapi = True

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._note_runtime_import(node)
        line = self.statements[-1] if self.statements else None
        self.model.import_statements.append(ImportStatement(node, line))
        self.model.imports.add_import_from(
            node,
            module_level=not self.functions,
            type_checking=self.type_checking_depth > 0,
            position=self.position,
        )
        module = dotted_name(node.module) if node.module and not node.relative else None
        if module and module.split(".")[0] == "fastapi":
            self.model.imports_fastapi = True

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self.at_module_level:
            self.model.classes[node.name.value] = node
            self.model.imports.add_definition(node.name.value, node, self.position)
        self.classes.append(node.name.value)
        self.scope_is_class.append(True)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.pop()
        self.scope_is_class.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        self._note_self_attribute(node)
        for target in node.targets:
            if (
                isinstance(target.target, cst.Attribute)
                and target.target.attr.value == "background"
            ):
                self.model.background_assignments.append(
                    BackgroundAssignment(
                        node=node,
                        target=target.target,
                        function=self.functions[-1] if self.functions else None,
                        statement=self.statements[-1] if self.statements else None,
                    )
                )
        if not self.at_module_level:
            return
        # Module-level names, and which of them hold a Response (for BGT010).
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                name = target.target.value
                self.model.imports.add_definition(name, node, self.position)
                if isinstance(node.value, cst.Subscript):
                    self.model.type_aliases[name] = node.value
                if isinstance(node.value, cst.Call):
                    self.pending_apps.append((name, node.value))

    def _note_self_attribute(self, node: cst.Assign) -> None:
        """`self.mailer = Mailer(...)` in a method: `self.mailer.send` is
        Mailer.send; and `<request>.state.db = ...` anywhere."""
        function = self.functions[-1] if self.functions else None
        cls = function.enclosing_class if function else None
        for target in node.targets:
            attribute = target.target
            if not isinstance(attribute, cst.Attribute):
                continue
            owner = attribute.value
            if isinstance(owner, cst.Name) and owner.value == "self" and cls and function:
                key = (cls, attribute.attr.value)
                self.model.attribute_values.setdefault(key, []).append((node.value, function))
                if isinstance(node.value, cst.Call):
                    self.model.self_attributes[key] = node.value.func
            elif isinstance(owner, cst.Attribute) and owner.attr.value == "state":
                self.model.state_assignments.append((attribute.attr.value, node.value, function))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self.at_module_level and isinstance(node.target, cst.Name):
            self.model.imports.add_definition(node.target.value, node, self.position)
            if isinstance(node.value, cst.Call):
                self.pending_apps.append((node.target.value, node.value))

    # -- functions -------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        parent = self.functions[-1] if self.functions else None
        # A method's enclosing class counts only when it is the nearest scope.
        class_name = self.classes[-1] if self.classes and self._class_is_nearer() else None
        info = FunctionInfo(node=node, parent=parent, class_name=class_name, position=self.position)
        if self.at_module_level:
            self.model.module_functions[node.name.value] = info
            self.model.imports.add_definition(node.name.value, node, self.position)
        elif class_name and len(self.classes) == 1 and not self.functions:
            self.model.methods[(class_name, node.name.value)] = info
        self.model.functions.append(info)
        # Decorators and parameter defaults run in the enclosing scope; the
        # function is the current scope only inside its body.
        self.bodies[id(node.body)] = info

    def _class_is_nearer(self) -> bool:
        for ancestor in reversed(self.stack[:-1]):
            if isinstance(ancestor, cst.ClassDef):
                return True
            if isinstance(ancestor, cst.FunctionDef):
                return False
        return False

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.lambda_depth[-1] += 1

    def leave_Lambda(self, node: cst.Lambda) -> None:
        self.lambda_depth[-1] -= 1

    def visit_Call(self, node: cst.Call) -> None:
        function = self.functions[-1] if self.functions else None
        site = CallSite(
            node=node,
            parent=self.stack[-2],
            grandparent=self.stack[-3] if len(self.stack) > 2 else None,
            function=function,
            in_lambda=self.lambda_depth[-1] > 0,
            statement=self.statements[-1] if self.statements else None,
            in_function_body=not self.lambda_depth[-1] and not self.scope_is_class[-1],
        )
        self.model.calls.append(site)
        self.model._site_by_call[node] = site
        if function is not None and not site.in_lambda:
            function.calls.append(site)

    def visit_Return(self, node: cst.Return) -> None:
        if self.functions and not self.lambda_depth[-1]:
            self.functions[-1].returns.append(node)

    def visit_Yield(self, node: cst.Yield) -> None:
        if self.functions and not self.lambda_depth[-1]:
            self.functions[-1].yields.append(node)
            if self.statements:
                self.functions[-1].yield_statements.append(self.statements[-1])

    def visit_Await(self, node: cst.Await) -> None:
        if self.functions:
            self.functions[-1].awaits = True

    def visit_For(self, node: cst.For) -> None:
        if node.asynchronous is not None and self.functions:
            self.functions[-1].awaits = True

    def visit_With(self, node: cst.With) -> None:
        if node.asynchronous is not None and self.functions:
            self.functions[-1].awaits = True

    def visit_CompFor(self, node: cst.CompFor) -> None:
        if node.asynchronous is not None and self.functions:
            self.functions[-1].awaits = True

    # -- after the walk --------------------------------------------------
    def finish(self) -> None:
        model = self.model
        for name, call in self.pending_apps:
            qualname = model.qualified_name(call.func)
            if qualname in APP_CLASSES:
                model.app_names.add(name)
            elif qualname in STARLETTE_APP_CLASSES:
                model.starlette_app_names.add(name)
        for info in model.functions:
            info.route_kind = self._route_kind_from_decorators(info)
        for site in model.calls:
            self._note_registration(site)

    def _route_kind_from_decorators(self, info: FunctionInfo) -> Optional[str]:
        model = self.model
        for decorator in info.node.decorators:
            expr = decorator.decorator
            if isinstance(expr, cst.Call):
                expr = expr.func
            if not isinstance(expr, cst.Attribute):
                continue
            owner, method = expr.value, expr.attr.value
            if isinstance(owner, cst.Name) and owner.value in model.starlette_app_names:
                if method == "on_event":
                    info.is_lifecycle = True
                # Starlette before 1.0: `@app.route` (nothing is injected).
                return STARLETTE if method == "route" else None
            if not model.is_app_object(owner):
                continue
            if method == "on_event":
                info.is_lifecycle = True
            elif method in HTTP_ROUTE_METHODS:
                return HTTP
            elif method in WEBSOCKET_ROUTE_METHODS:
                return WEBSOCKET
        if info.class_name and info.name in _ENDPOINT_METHODS:
            classdef = model.classes.get(info.class_name)
            bases = classdef.bases if classdef is not None else ()
            if any(model.qualified_name(base.value) in HTTP_ENDPOINT_CLASSES for base in bases):
                return STARLETTE
        return None

    def _note_registration(self, site: CallSite) -> None:
        """`app.add_api_route("/p", endpoint)` and `Depends(dependency)`."""
        model, call = self.model, site.node
        func = call.func
        qualname = model.qualified_name(func)
        if isinstance(func, cst.Attribute) and (
            model.is_app_object(func.value)
            or (isinstance(func.value, cst.Name) and func.value.value in model.starlette_app_names)
        ):
            # `add_route` makes a plain Starlette route, on FastAPI apps too.
            kind = _REGISTRATIONS.get(func.attr.value)
            if func.attr.value == "add_event_handler":
                handler = call_argument(call, 1, "func")
                target = model.local_function(handler.value) if handler else None
                if target is not None:
                    target.is_lifecycle = True
                return
            endpoint = call_argument(call, 1, "endpoint" if kind != STARLETTE else "route")
            target = model.local_function(endpoint.value) if endpoint else None
            if target is None and endpoint is not None:
                target = _wrapped_endpoint(model, endpoint.value, kind)
            if kind and target is not None:
                target.route_kind = kind
        elif qualname in ROUTE_CLASSES:
            # `routes=[Route("/", homepage), Mount(...)]`: Starlette 1.x declares
            # its routes this way (`@app.route` is gone).
            endpoint = call_argument(call, 1, "endpoint")
            target = model.local_function(endpoint.value) if endpoint else None
            if target is not None and target.route_kind is None:
                target.route_kind = ROUTE_CLASSES[qualname]
        elif qualname in APP_CLASSES or qualname in STARLETTE_APP_CLASSES:
            self._note_lifecycle(call)
        elif qualname in DEPENDS:
            dependency = call_argument(call, 0, "dependency")
            target = model.local_function(dependency.value) if dependency else None
            if target is not None:
                target.is_dependency = True

    def _note_lifecycle(self, app: cst.Call) -> None:
        """`FastAPI(lifespan=...)`, `Starlette(on_startup=[...], on_shutdown=[...])`."""
        for arg in app.args:
            keyword = arg.keyword.value if arg.keyword is not None else None
            if keyword == "lifespan":
                handlers = [arg.value]
            elif keyword in ("on_startup", "on_shutdown") and isinstance(
                arg.value, (cst.List, cst.Tuple)
            ):
                handlers = [element.value for element in arg.value.elements]
            else:
                continue
            for handler in handlers:
                target = self.model.local_function(handler)
                if target is not None:
                    target.is_lifecycle = True


def _wrapped_endpoint(
    model: Model, value: cst.BaseExpression, kind: Optional[str]
) -> Optional[FunctionInfo]:
    """The endpoint in `logged(endpoint)`, when `logged` is a function of this
    module that returns a `functools.wraps(endpoint)` wrapper: FastAPI reads
    the signature through `__wrapped__`, so the endpoint's parameters are
    what it injects, and the endpoint is the route. When `logged` comes from
    another module, the project settles it (settle_wrapped_routes)."""
    if not isinstance(value, cst.Call) or not value.args or value.args[0].keyword:
        return None
    endpoint = model.local_function(value.args[0].value)
    if endpoint is None:
        return None
    decorator = model.local_function(value.func)
    if decorator is None:
        if kind is not None and model.qualified_name(value.func) is not None:
            model.wrapped_elsewhere.append((endpoint, kind, value.func))
        return None
    return endpoint if returns_wraps_wrapper(model, decorator) else None


def returns_wraps_wrapper(model: Model, decorator: FunctionInfo) -> bool:
    """Whether `decorator` (of `model`) defines a `functools.wraps(<its first
    parameter>)` wrapper."""
    if not decorator.parameters():
        return False
    wrapped = decorator.parameters()[0].name.value
    return any(
        inner.parent is decorator
        and any(
            isinstance(d.decorator, cst.Call)
            and model.qualified_name(d.decorator.func) == "functools.wraps"
            and d.decorator.args
            and isinstance(d.decorator.args[0].value, cst.Name)
            and d.decorator.args[0].value.value == wrapped
            for d in inner.node.decorators
        )
        for inner in model.functions
    )


def settle_wrapped_routes(model: Model) -> None:
    """Make routes of the endpoints registered through a wraps wrapper of
    another module (see _wrapped_endpoint), once the model has its project."""
    for endpoint, kind, wrapper in model.wrapped_elsewhere:
        ref = model.resolve_function(wrapper)
        if (
            ref is not None
            and endpoint.route_kind is None
            and returns_wraps_wrapper(ref.model, ref.info)
        ):
            endpoint.route_kind = kind


# How an app registers an endpoint by method: `app.add_api_route("/", f)`.
_REGISTRATIONS = {
    "add_api_route": HTTP,
    "add_api_websocket_route": WEBSOCKET,
    "add_route": STARLETTE,
}
# The methods of a Starlette `HTTPEndpoint` that serve requests.
_ENDPOINT_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options"})

_STATEMENTS = (cst.SimpleStatementLine, cst.BaseCompoundStatement)
_IS_LINE: dict[type, bool] = {}


def _is_line(kind: type) -> bool:
    """A statement line or a compound statement (decided once per type:
    isinstance against libcst's ABCs is slow)."""
    answer = _IS_LINE.get(kind)
    if answer is None:
        answer = _IS_LINE[kind] = issubclass(kind, _STATEMENTS)
    return answer


# Handlers by exact node type, read off the builder's visit_X / leave_X methods.
_ENTER = {
    getattr(cst, name[len("visit_") :]): method
    for name, method in vars(_ModelBuilder).items()
    if name.startswith("visit_")
}
_LEAVE = {
    getattr(cst, name[len("leave_") :]): method
    for name, method in vars(_ModelBuilder).items()
    if name.startswith("leave_")
}


def build_model(module: cst.Module, path: str) -> Model:
    model = Model(module, path)
    _ModelBuilder(model).run(module)
    return model
