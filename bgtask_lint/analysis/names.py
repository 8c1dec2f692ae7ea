"""Where a name comes from: the module's own import table.

libcst's QualifiedNameProvider answers the same question for every node of the
module at 9x the cost of the parse (DESIGN §4). Rules only ask about a few
expressions (a decorator, an annotation, the callee of a call), so we record the
bindings that matter — imports and module-level definitions — during the single
model-building pass and resolve on demand.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Optional, Union

import libcst as cst

# Qualified names given to things defined in the checked module itself.
LOCAL_PREFIX = "<module>."

BACKGROUND_TASKS = frozenset(
    {
        "fastapi.BackgroundTasks",
        "fastapi.background.BackgroundTasks",
        "starlette.background.BackgroundTasks",
    }
)
# Starlette's single task; fastapi re-exports it nowhere (`from fastapi import
# BackgroundTask` is an ImportError), so only starlette's spelling is real.
BACKGROUND_TASK = frozenset({"starlette.background.BackgroundTask"})
MISSPELLED_FASTAPI_TASK = frozenset({"fastapi.BackgroundTask", "fastapi.background.BackgroundTask"})
APP_CLASSES = frozenset(
    {
        "fastapi.FastAPI",
        "fastapi.applications.FastAPI",
        "fastapi.APIRouter",
        "fastapi.routing.APIRouter",
    }
)
# Starlette's own applications and routers: their routes get no injection.
STARLETTE_APP_CLASSES = frozenset(
    {
        "starlette.applications.Starlette",
        "starlette.routing.Router",
    }
)
# `Route(path, endpoint)` and its kin, with the kind of endpoint each makes.
ROUTE_CLASSES = {
    "starlette.routing.Route": "starlette",
    "fastapi.routing.APIRoute": "http",
    "fastapi.routing.APIWebSocketRoute": "websocket",
}
HTTP_ENDPOINT_CLASSES = frozenset({"starlette.endpoints.HTTPEndpoint"})
RESPONSE_CLASSES = frozenset(
    {"fastapi.Response", "fastapi.responses.Response", "starlette.responses.Response"}
)
UPLOAD_FILE = frozenset(
    {
        "fastapi.UploadFile",
        "fastapi.datastructures.UploadFile",
        "starlette.datastructures.UploadFile",
    }
)
REQUEST_CLASSES = frozenset(
    {"fastapi.Request", "fastapi.requests.Request", "starlette.requests.Request"}
)
DEPENDS = frozenset(
    {
        "fastapi.Depends",
        "fastapi.params.Depends",
        "fastapi.Security",
        "fastapi.params.Security",
    }
)
OPTIONAL = frozenset({"typing.Optional", "typing_extensions.Optional"})
UNION = frozenset({"typing.Union", "typing_extensions.Union"})
ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated"})
PARTIAL = frozenset({"functools.partial"})
PROPERTIES = frozenset({"builtins.property", "functools.cached_property"})
# The router and app methods that register an endpoint (`@router.post(...)`).
HTTP_ROUTE_METHODS = frozenset(
    {
        "get",
        "post",
        "put",
        "patch",
        "delete",
        "head",
        "options",
        "trace",
        "api_route",
        "route",
    }
)
WEBSOCKET_ROUTE_METHODS = frozenset({"websocket"})

_BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True)
class ImportBinding:
    qualname: str
    # The ImportAlias, FunctionDef, ClassDef or assignment that created the name.
    node: cst.CSTNode
    # Imported only under `if TYPE_CHECKING:`: invisible to FastAPI at run time.
    type_checking_only: bool = False
    # Bound at module level (an import inside a function is not).
    module_level: bool = True
    # Which top-level statement of the module binds it (its index in the
    # module's body): a name bound below a function is not bound yet when the
    # function's signature is evaluated.
    position: int = 0


def dotted_name(expr: Union[cst.BaseExpression, cst.ImportFrom, None]) -> Optional[str]:
    """`a.b.c` for a Name / Attribute chain, None for anything else."""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        base = dotted_name(expr.value)
        return f"{base}.{expr.attr.value}" if base else None
    return None


def import_from_module(node: cst.ImportFrom) -> str:
    """The module an ImportFrom reads from, relative dots included (`..pkg.mod`)."""
    dots = "." * len(node.relative)
    module = dotted_name(node.module) if node.module else ""
    return dots + (module or "")


class ImportTable:
    """Maps each module-level name to the qualified name it stands for."""

    def __init__(self) -> None:
        self.bindings: dict[str, ImportBinding] = {}
        # Names bound more than once at module level (`try: from a import X`
        # / `except ImportError: X = None`): which binding holds depends on
        # the run, so neither is followed as an alias.
        self.rebound: set[str] = set()
        # The modules of `from <module> import *` at module level, as written
        # (`.base_controllers`): a package's `__init__` re-exporting its parts.
        self.star_modules: list[str] = []

    def bind(self, name: str, binding: ImportBinding, *, module_level: bool) -> None:
        # An import inside a function only fills a gap: it must not hide the
        # module-level meaning of the name for the rest of the file.
        if module_level:
            known = self.bindings.get(name)
            if known is not None and known.module_level:
                self.rebound.add(name)
        if module_level or name not in self.bindings:
            self.bindings[name] = binding

    def alias_of(self, name: str) -> Optional[cst.BaseExpression]:
        """What module-level `name` is another name for: the value of its one
        assignment, when that is a name or an attribute (`Handler =
        orders.OrderHandler`); None for anything else."""
        value = self._assigned(name)
        return value if isinstance(value, (cst.Name, cst.Attribute)) else None

    def made_by(self, name: str) -> Optional[cst.BaseExpression]:
        """What made module-level `name`, when its one assignment is a call
        (`notifier = Notifier(url)` gives `Notifier`): the instance's class,
        if that names one."""
        value = self._assigned(name)
        return value.func if isinstance(value, cst.Call) else None

    def _assigned(self, name: str) -> Optional[cst.BaseExpression]:
        binding = self.bindings.get(name)
        if binding is None or name in self.rebound:
            return None
        node = binding.node
        if isinstance(node, cst.Assign) and len(node.targets) == 1:
            return node.value
        if isinstance(node, cst.AnnAssign):
            return node.value
        return None

    def add_import(
        self, node: cst.Import, *, module_level: bool, type_checking: bool, position: int = 0
    ) -> None:
        for alias in node.names:
            full = dotted_name(alias.name)
            if not full:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local, target = alias.asname.name.value, full
            else:
                # `import a.b.c` binds `a`, and `a.b.c.f` resolves through it.
                local = target = full.split(".", 1)[0]
            binding = ImportBinding(target, alias, type_checking, module_level, position)
            self.bind(local, binding, module_level=module_level)

    def add_import_from(
        self, node: cst.ImportFrom, *, module_level: bool, type_checking: bool, position: int = 0
    ) -> None:
        if isinstance(node.names, cst.ImportStar):
            if module_level:
                self.star_modules.append(import_from_module(node))
            return
        module = import_from_module(node)
        separator = "" if module.endswith(".") else "."
        for alias in node.names:
            imported = dotted_name(alias.name)
            if not imported:
                continue
            local = imported
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            qualname = f"{module}{separator}{imported}"
            binding = ImportBinding(qualname, alias, type_checking, module_level, position)
            self.bind(local, binding, module_level=module_level)

    def add_definition(self, name: str, node: cst.CSTNode, position: int = 0) -> None:
        binding = ImportBinding(LOCAL_PREFIX + name, node, position=position)
        self.bind(name, binding, module_level=True)

    def qualified_name(self, expr: Optional[cst.BaseExpression]) -> Optional[str]:
        """`fastapi.BackgroundTasks` for `BT` after `from fastapi import
        BackgroundTasks as BT`; None when the expression's origin is unknown."""
        if isinstance(expr, cst.Name):
            binding = self.bindings.get(expr.value)
            if binding is not None:
                return binding.qualname
            if expr.value in _BUILTINS:
                return "builtins." + expr.value
            return None
        if isinstance(expr, cst.Attribute):
            base = self.qualified_name(expr.value)
            return f"{base}.{expr.attr.value}" if base else None
        return None
