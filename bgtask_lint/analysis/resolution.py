"""Resolution: what a name, an annotation or a call stands for, without
following values (that is provenance.py's): the FastAPI parameter kind an
annotation asks for, the `Depends(...)` behind a parameter (through
`Annotated` aliases of other modules), the project class a call builds,
the route or dependency an origin was made for. Text screens of other
modules come from prescreen.py, so a module is parsed only when it can
answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Optional

import libcst as cst

from bgtask_lint.analysis.model import FunctionInfo, FunctionRef, Model
from bgtask_lint.analysis.names import (
    ANNOTATED,
    BACKGROUND_TASKS,
    LOCAL_PREFIX,
    OPTIONAL,
    REQUEST_CLASSES,
    RESPONSE_CLASSES,
    UNION,
    UPLOAD_FILE,
)
from bgtask_lint.analysis.origins import (
    ITEM,
    WEBSOCKET_CLASSES,
    Origin,
)
from bgtask_lint.analysis.positions import node_ranges
from bgtask_lint.analysis.prescreen import defines_alias, defines_class
from bgtask_lint.analysis.scopes import Scopes
from bgtask_lint.analysis.walk import walk


def injected_kind(model: Model, annotation: cst.BaseExpression) -> Optional[str]:
    for inner in unwrap(model, annotation):
        qualname = model.qualified_name(inner)
        if qualname in BACKGROUND_TASKS:
            return "BackgroundTasks"
        if qualname in REQUEST_CLASSES:
            return "Request"
        if qualname in WEBSOCKET_CLASSES:
            return "WebSocket"
        if qualname in UPLOAD_FILE:
            return "UploadFile"
        if qualname in RESPONSE_CLASSES:
            return "Response"
    return None


def unwrap(model: Model, annotation: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """The types an annotation names: `Annotated[T, ...]`, `Optional[T]`,
    `Union[...]`, `T | None`, `list[T]` unwrapped."""
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
        yield from unwrap(model, annotation.left)
        yield from unwrap(model, annotation.right)
    elif isinstance(annotation, cst.Subscript):
        origin = model.qualified_name(annotation.value)
        args = [e.slice.value for e in annotation.slice if isinstance(e.slice, cst.Index)]
        if origin in ANNOTATED and args:
            yield from unwrap(model, args[0])
        elif origin in OPTIONAL or origin in UNION or origin in ("builtins.list", "typing.List"):
            for arg in args:
                yield from unwrap(model, arg)
    else:
        yield annotation


def depends_of(model: Model, param: cst.Param) -> Optional[tuple[Model, cst.Call]]:
    """The `Depends(...)` behind a parameter, with the model it is written in:
    the default, `Annotated[T, Depends(...)]`, or a type alias of this module
    or imported from another module of the project."""
    call = model.depends_call(param)
    if call is not None:
        return model, call
    annotation = param.annotation.annotation if param.annotation is not None else None
    if not isinstance(annotation, cst.Name) or model.project is None:
        return None
    binding = model.imports.bindings.get(annotation.value)
    absolute = model.absolute(binding.qualname) if binding is not None else None
    if absolute is None or "." not in absolute:
        return None
    module_name, _, alias = absolute.rpartition(".")
    path = model.project.path_for_module(module_name, model.path)
    # Parsed only when it makes the name an Annotated alias: an annotation
    # names a class far more often.
    text = model.project.text_of(path) if path is not None else None
    if path is None or text is None or not defines_alias(text, alias):
        return None
    other = model.project.outline_model(path, alias)
    if other is None or alias not in other.type_aliases:
        return None
    stand_in = cst.Param(cst.Name(param.name.value), cst.Annotation(cst.Name(alias)))
    call = other.depends_call(stand_in)
    return (other, call) if call is not None else None


def class_called(model: Model, func: cst.BaseExpression) -> Optional[str]:
    """`module.Class` when `func` names a class of the project (told from the
    defining module's text: no parse)."""
    qualname = model.qualified_name(func)
    if qualname is None:
        return None
    if qualname.startswith(LOCAL_PREFIX):
        name = qualname[len(LOCAL_PREFIX) :]
        if name in model.classes:
            return f"{model.module_name or model.shown_path}.{name}"
        return None
    absolute = model.absolute(qualname)
    project = model.project
    if absolute is None or project is None or "." not in absolute:
        return None
    module_name, _, cls = absolute.rpartition(".")
    if not cls[:1].isupper():
        return None
    path = project.path_for_module(module_name, model.path)
    text = project.text_of(path) if path is not None else None
    if text is None:
        return None
    if defines_class(text, cls):
        return absolute
    # A re-export (`from .services import Service` in a package): parse it.
    target = model.class_named(func)
    return f"{target[0].module_name or target[0].shown_path}.{target[1]}" if target else None


def literal_index(expr: cst.Subscript) -> Optional[int]:
    """`pair[0]`: the non-negative integer a subscript names, else None."""
    if len(expr.slice) != 1 or not isinstance(expr.slice[0].slice, cst.Index):
        return None
    index = expr.slice[0].slice.value
    return int(index.value) if isinstance(index, cst.Integer) and index.value.isdigit() else None


def element_of(origins: Iterable[Origin], position: tuple[int, ...]) -> Iterator[Origin]:
    """What sits at `position` of the tuples and lists among `origins`."""
    for origin in origins:
        if origin.kind == ITEM and origin.name == str(position[0]):
            if len(position) == 1:
                yield from origin.parts
            else:
                yield from element_of(origin.parts, position[1:])


def free_names(
    scopes: Scopes, node: cst.FunctionDef | cst.Lambda, enclosing: cst.FunctionDef
) -> Iterator[cst.Name]:
    """The loads in `node` (a nested function or lambda) of names bound in
    the function `enclosing` defines them in: what a closure reads."""
    outer = scopes.scope_of(enclosing)
    body = node.body
    for child, entering in walk(body):
        if entering and isinstance(child, cst.Name):
            for binding in scopes.bindings_of(child):
                if binding.scope is outer:
                    yield child
                    break


def entry_function(model: Model, origin: Origin) -> Optional[FunctionRef]:
    """The route or dependency `origin` was made for, when it can be found."""
    project = model.project
    if not origin.source or not origin.route.startswith("`"):
        return None
    where = model if origin.source == model.path or project is None else None
    where = where or (project.model_for_path(Path(origin.source)) if project else None)
    key = origin.route[1:].partition("`")[0]
    info = where.function_by_key(key) if where is not None else None
    if where is None or info is None:
        return None
    return FunctionRef(where, info)


def entry_position(model: Model, origin: Origin) -> Optional[tuple[str, int, int]]:
    """Where the route or dependency `origin` was made for is defined: (file,
    row, 1-based column) of its name, when it can be found."""
    entry = entry_function(model, origin)
    if entry is None:
        return None
    name = entry.info.node.name
    start = node_ranges(entry.model.module, [name], entry.model.parsed_text)[name].start
    return entry.model.path, start.line, start.column + 1


def entry_label(model: Model, function: FunctionInfo) -> str:
    return f"`{function.display_name}` ({model.shown_path})"
