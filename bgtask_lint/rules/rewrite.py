"""Building blocks for fixes: node replacements applied in one pass, imports
that are guaranteed at run time, and parameter injection.

A fix records what to change, keyed by the identity of nodes in the tree the
rules looked at, in an `Edits`; `Edits.apply` makes every change in a single
transformer pass. Only code that changes is regenerated; comments and
formatting elsewhere stay byte for byte.
"""

from __future__ import annotations

import sys
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Callable, Optional, TypeVar, Union

import libcst as cst

from bgtask_lint.analysis.model import FunctionInfo, Model
from bgtask_lint.analysis.names import BACKGROUND_TASKS, dotted_name
from bgtask_lint.analysis.positions import node_ranges
from bgtask_lint.analysis.statements import code_of
from bgtask_lint.analysis.walk import nodes_with_parents, walk
from bgtask_lint.diagnostic import Edit, Location
from bgtask_lint.text.edits import diff_edits, line_starts

# A new node, a removal, or a function of the node as updated by edits inside it.
Replacement = Union[cst.CSTNode, cst.RemovalSentinel, Callable[[cst.CSTNode], cst.CSTNode]]
ItemT = TypeVar("ItemT", cst.Param, cst.ImportAlias, cst.Arg)


class Edits:
    """Replacements and statement insertions, keyed by original nodes. A node
    replaced by a new node must not contain another edited node; to edit around
    inner edits, replace it with a function of its updated self."""

    def __init__(self) -> None:
        self.replace: dict[cst.CSTNode, Replacement] = {}
        self.before: dict[cst.CSTNode, list[cst.BaseStatement]] = defaultdict(list)
        self.after: dict[cst.CSTNode, list[cst.BaseStatement]] = defaultdict(list)
        # Functions that receive an injected parameter in this fix, and its name.
        self.injected: dict[cst.FunctionDef, str] = {}

    def apply(self, module: cst.Module) -> cst.Module:
        """The whole module with every edit made."""
        result = module.visit(_Apply(self))
        assert isinstance(result, cst.Module)
        return result

    def text_edits(self, layout: ModuleLayout) -> tuple[Edit, ...]:
        """The edits as text edits. Only the top-level statements holding an
        edited node are transformed and regenerated, so a fix costs the size of
        what it touches, not of the file (a file with hundreds of findings
        would otherwise cost findings times file size)."""
        keys = [*self.replace, *self.before, *self.after]
        owners = {layout.owner(node) for node in keys}
        if None in owners or not layout.consistent:
            return diff_edits(layout.text, self.apply(layout.module).code)
        module, found = layout.module, []
        for index in sorted(o for o in owners if o is not None):
            new = module.body[index].visit(_Apply(self))
            if isinstance(new, cst.RemovalSentinel):
                nodes: list[cst.CSTNode] = []
            elif isinstance(new, cst.FlattenSentinel):
                nodes = list(new)
            else:
                nodes = [new]
            new_code = "".join(module.code_for_node(node) for node in nodes)
            start, end = layout.span(index)
            old_code = layout.text[start:end]
            if not old_code.endswith(("\n", "\r")) and new_code.endswith(module.default_newline):
                new_code = new_code[: -len(module.default_newline)]  # no newline at end of file
            row = layout.row_of(start)
            for edit in diff_edits(old_code, new_code):
                found.append(
                    Edit(
                        edit.content,
                        Location(edit.location.row + row, edit.location.column),
                        Location(edit.end_location.row + row, edit.end_location.column),
                    )
                )
        return tuple(found)


class ModuleLayout:
    """Where each top-level statement's code sits in the module's text, and
    which top-level statement holds each node; computed once per module, on
    the first fix."""

    def __init__(self, module: cst.Module, text: str) -> None:
        self.module = module
        self.text = text
        self._owners: Optional[dict[cst.CSTNode, int]] = None
        self._spans: list[tuple[int, int]] = []
        offset = len("".join(module.code_for_node(line) for line in module.header))
        for statement in module.body:
            # A module put together from pieces knows its statements' code.
            size = len(code_of(statement) or module.code_for_node(statement))
            self._spans.append((offset, min(offset + size, len(text))))
            offset += size
        footer = "".join(module.code_for_node(line) for line in module.footer)
        # The module's text is its parts end to end (less a final newline the
        # file does not have); anything else and fixes fall back to the whole.
        self.consistent = offset + len(footer) - len(text) in (0, len(module.default_newline))
        self._starts = line_starts(text)

    def owner(self, node: cst.CSTNode) -> Optional[int]:
        if self._owners is None:
            self._owners = {}
            for index, statement in enumerate(self.module.body):
                for inner, entering in walk(statement):
                    if entering:
                        self._owners[inner] = index
        return self._owners.get(node)

    def span(self, index: int) -> tuple[int, int]:
        return self._spans[index]

    def row_of(self, offset: int) -> int:
        """Rows before the line that starts at `offset`."""
        return bisect_right(self._starts, offset) - 1


class _Apply(cst.CSTTransformer):
    def __init__(self, edits: Edits) -> None:
        super().__init__()
        self.edits = edits

    def on_leave(  # type: ignore[override]  # returns what libcst accepts from on_leave
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel[cst.CSTNode]]:
        edits = self.edits
        new = edits.replace.get(original_node, updated_node)
        if callable(new):
            new = new(updated_node)
        before, after = edits.before.get(original_node), edits.after.get(original_node)
        if not before and not after:
            return new
        middle = [] if isinstance(new, cst.RemovalSentinel) else [new]
        return cst.FlattenSentinel([*(before or ()), *middle, *(after or ())])


# -- imports ---------------------------------------------------------------


def background_tasks_reference(model: Model, edits: Edits, before: Optional[int] = None) -> str:
    """An expression that names fastapi's BackgroundTasks at run time in this
    module, adding `from fastapi import BackgroundTasks` when none exists. An
    import only under `if TYPE_CHECKING:` does not count: FastAPI would then see
    a string annotation it cannot resolve and treat the parameter as a query.
    With `before` (a top-level statement's index, see FunctionInfo.position),
    the name must be bound above that statement: a signature is evaluated when
    the `def` runs."""
    existing = _runtime_binding(model, BACKGROUND_TASKS, before)
    if existing:
        return existing
    fastapi_module = _runtime_binding(model, {"fastapi"}, before)
    if fastapi_module:
        return f"{fastapi_module}.BackgroundTasks"
    local = "BackgroundTasks"
    binding = model.imports.bindings.get(local)
    if (
        binding is not None
        and not binding.type_checking_only
        and binding.qualname not in BACKGROUND_TASKS
    ):
        local = "FastAPIBackgroundTasks"  # the plain name means something else here
    alias = cst.ImportAlias(
        name=cst.Name("BackgroundTasks"),
        asname=None if local == "BackgroundTasks" else cst.AsName(name=cst.Name(local)),
    )
    add_from_import(model, edits, "fastapi", alias, before)
    return local


def class_reference(
    model: Model, edits: Edits, module_name: str, name: str, also: Collection[str] = ()
) -> str:
    """A name bound to class `module_name.name` (or one of the qualified names
    in `also`) at run time, adding `from module_name import name` if needed."""
    existing = _runtime_binding(model, {f"{module_name}.{name}", *also})
    if existing:
        return existing
    if name in model.imports.bindings:
        raise CannotFix(f"`{name}` means something else in this module")
    add_from_import(model, edits, module_name, cst.ImportAlias(name=cst.Name(name)))
    return name


def module_reference(model: Model, edits: Edits, module_name: str) -> str:
    """A name bound to module `module_name` at run time, importing it if needed
    (for use inside a function body: a binding anywhere in the module will do)."""
    existing = _runtime_binding(model, {module_name})
    if existing:
        return existing
    if module_name in model.imports.bindings:
        raise CannotFix(f"`{module_name}` means something else in this module")
    statement = cst.SimpleStatementLine(
        body=[cst.Import(names=[cst.ImportAlias(name=cst.Name(module_name))])]
    )
    insert_import_statement(model, edits, statement)
    return module_name


def _runtime_binding(
    model: Model, qualnames: Collection[str], before: Optional[int] = None
) -> Optional[str]:
    """A module-level name bound to one of `qualnames` when the module runs
    (not only under `if TYPE_CHECKING:`), above top-level statement `before`."""
    for name, binding in model.imports.bindings.items():
        if (
            binding.qualname in qualnames
            and binding.module_level
            and not binding.type_checking_only
            and (before is None or binding.position < before)
        ):
            return name
    return None


def add_from_import(
    model: Model,
    edits: Edits,
    module_name: str,
    alias: cst.ImportAlias,
    before: Optional[int] = None,
) -> None:
    """Add `alias` to an existing run-time `from module_name import ...` line, or
    add a new line after the module's imports (those above `before`)."""
    for line, node, position in model.runtime_imports:
        if (
            isinstance(node, cst.ImportFrom)
            and not node.relative
            and isinstance(node.names, Sequence)
            and dotted_name(node.module) == module_name
            and len(line.body) == 1
            and line not in edits.replace
            and (before is None or position < before)
        ):
            names = insert_sorted(list(node.names), alias, _after_open_paren(node))
            edits.replace[line] = line.with_changes(body=[node.with_changes(names=names)])
            return
    module = cst.parse_expression(module_name)  # `fastapi.responses`: an Attribute
    assert isinstance(module, (cst.Name, cst.Attribute))
    statement = cst.SimpleStatementLine(body=[cst.ImportFrom(module=module, names=[alias])])
    insert_import_statement(model, edits, statement, before)


def insert_import_statement(
    model: Model,
    edits: Edits,
    statement: cst.SimpleStatementLine,
    before: Optional[int] = None,
) -> None:
    """Insert an import where isort (ruff's `I001`) would put it, when the
    module's imports above top-level statement `before` (all of them without
    it) are in isort's order: in its section (standard library, third party,
    first party, local), sorted; else after the last of them; with no import
    at all, at the top."""
    body = model.module.body
    above = [
        (line, node)
        for line, node, position in model.runtime_imports
        if (before is None or position < before)
        and isinstance(node, (cst.Import, cst.ImportFrom))
        and any(line is top for top in body)
    ]
    placed = _isort_place(model, edits, statement, above)
    if placed:
        return
    if above:
        edits.after[above[-1][0]].append(statement)
    elif body and is_docstring(body[0]) and (before is None or before > 0):
        edits.after[body[0]].append(statement)
    elif body:
        first = body[0]
        # Keep a comment block that opens the file above the new import.
        edits.before[first].append(statement.with_changes(leading_lines=first.leading_lines))
        if first not in edits.replace:
            edits.replace[first] = first.with_changes(leading_lines=[])
    else:
        raise CannotFix("the module is empty")


def _isort_place(
    model: Model,
    edits: Edits,
    statement: cst.SimpleStatementLine,
    imports: Sequence[tuple[cst.SimpleStatementLine, Union[cst.Import, cst.ImportFrom]]],
) -> bool:
    """Put `statement` where isort would, if the `imports` are in its order
    already (then the fixed file stays so); False to leave it to the caller."""
    new = statement.body[0]
    if not imports or not isinstance(new, (cst.Import, cst.ImportFrom)):
        return False
    keys = [_import_key(model, node) for _, node in imports]
    if keys != sorted(keys) or any(line in edits.replace for line, _ in imports):
        return False
    key = _import_key(model, new)
    later = next((i for i, k in enumerate(keys) if k > key), None)
    if later is None:
        last = imports[-1][0]
        section_starts = keys[-1][0] != key[0]
        edits.after[last].append(
            statement.with_changes(leading_lines=[cst.EmptyLine()] if section_starts else [])
        )
        return True
    following = imports[later][0]
    new_section = keys[later][0] != key[0] and (later == 0 or keys[later - 1][0] != key[0])
    # The new line takes the lines above the one it goes before (the blank line
    # opening a section, a comment); a new section is set off by a blank line.
    edits.before[following].append(statement.with_changes(leading_lines=following.leading_lines))
    edits.replace[following] = following.with_changes(
        leading_lines=[cst.EmptyLine()] if new_section else []
    )
    return True


def _import_key(
    model: Model, node: Union[cst.Import, cst.ImportFrom]
) -> tuple[int, bool, str, str]:
    """isort's order with ruff's defaults: by section, `import x` before
    `from x import y` in a section, then by module name."""
    if isinstance(node, cst.ImportFrom):
        name = "." * len(node.relative) + (dotted_name(node.module) or "")
    else:
        name = dotted_name(node.names[0].name) or ""
    return _section(model, name), isinstance(node, cst.ImportFrom), name.lower(), name


# isort's sections, in order.
_FUTURE, _STDLIB, _THIRD_PARTY, _FIRST_PARTY, _LOCAL = range(5)
# The standard library's top-level modules (Python 3.10 lists them itself).
_STDLIB_NAMES = frozenset(
    getattr(sys, "stdlib_module_names", ())
    or {"asyncio", "contextlib", "functools", "os", "sys", "time", "typing", "threading"}
)


def _section(model: Model, name: str) -> int:
    top = name.split(".")[0]
    if name.startswith("."):
        return _LOCAL
    if top == "__future__":
        return _FUTURE
    if top in _STDLIB_NAMES:
        return _STDLIB
    project = model.project
    if project is not None and project.path_for_module(top, model.path) is not None:
        return _FIRST_PARTY
    return _THIRD_PARTY


def insert_sorted(
    items: list[cst.ImportAlias],
    item: cst.ImportAlias,
    opening: Optional[cst.BaseParenthesizableWhitespace] = None,
) -> list[cst.ImportAlias]:
    """`items` with `item` where isort puts it (ruff's `order-by-type`:
    constants, then classes, then the rest, each by name), when `items` are
    in that order; else appended."""
    keys = [_member_key(alias) for alias in items]
    key = _member_key(item)
    position = next((i for i, k in enumerate(keys) if k > key), len(items))
    if keys != sorted(keys) or position == len(items):
        return append_item(items, item, opening)
    # The new name takes the separator used at that place in the list.
    comma = items[position].comma if position < len(items) - 1 else None
    if not isinstance(comma, cst.Comma):
        comma = _separator(items, opening)
    return [*items[:position], item.with_changes(comma=comma), *items[position:]]


def _member_key(alias: cst.ImportAlias) -> tuple[int, str, str]:
    name = dotted_name(alias.name) or ""
    if len(name) > 1 and name.isupper():
        kind = 0  # CONSTANT
    elif name[:1].isupper():
        kind = 1  # Class
    else:
        kind = 2  # function or variable
    return kind, name.lower(), name


def is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _after_open_paren(node: cst.ImportFrom) -> Optional[cst.BaseParenthesizableWhitespace]:
    return node.lpar.whitespace_after if node.lpar else None


# -- lists with commas -----------------------------------------------------


def append_item(
    items: list[ItemT],
    item: ItemT,
    opening: Optional[cst.BaseParenthesizableWhitespace] = None,
) -> list[ItemT]:
    """`items + [item]`, keeping a one-per-line layout with a trailing comma:
    the new item takes the last item's comma (the newline before the closing
    bracket) and the last item takes the separator the others use."""
    result = list(items)
    if not items or not _is_multiline(items[-1].comma):
        result.append(item)
        return result
    last = items[-1]
    result[-1] = last.with_changes(comma=_separator(items, opening))
    result.append(item.with_changes(comma=last.comma))
    return result


def remove_item(items: Sequence[ItemT], item: ItemT) -> list[ItemT]:
    """`items` without `item`; a removed last item hands its comma (and so the
    layout before the closing bracket) to the one before it."""
    remaining = list(items)
    index = remaining.index(item)
    del remaining[index]
    if index == len(remaining) and remaining:
        previous = remaining[-1]
        comma = item.comma
        before = previous.comma
        if (
            isinstance(comma, cst.Comma)
            and isinstance(before, cst.Comma)
            and isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace)
            and isinstance(before.whitespace_after, cst.ParenthesizedWhitespace)
        ):
            # Keep the previous line's own trailing comment, not the removed one's.
            own_line = before.whitespace_after.first_line
            comma = comma.with_changes(
                whitespace_after=comma.whitespace_after.with_changes(first_line=own_line)
            )
        remaining[-1] = previous.with_changes(comma=comma)
    return remaining


def parent_block(root: cst.CSTNode, statement: cst.CSTNode) -> Optional[cst.CSTNode]:
    """The suite or module directly holding `statement`, searched below `root`."""
    for node, parent, _ in nodes_with_parents(root):
        if node is statement:
            return parent
    return None


def lone_statement(statement: Optional[cst.CSTNode]) -> Optional[cst.SimpleStatementLine]:
    """`statement` when it is a line holding one simple statement (a fix can
    insert code before it, or replace it, without moving a neighbour, as it
    would in `a = 1; return f(a)`), else None."""
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        return statement
    return None


def can_remove_statement(root: cst.CSTNode, statement: cst.CSTNode) -> bool:
    """Removing `statement` leaves its block non-empty (an empty block is a
    syntax error)."""
    block = parent_block(root, statement)
    return isinstance(block, (cst.IndentedBlock, cst.Module)) and len(block.body) > 1


def remove_statement(root: cst.CSTNode, statement: cst.SimpleStatementLine, edits: Edits) -> None:
    """Remove `statement`; the comments and blank lines above it move down to the
    statement that follows, so nothing but the statement itself disappears."""
    block = parent_block(root, statement)
    if not isinstance(block, (cst.IndentedBlock, cst.Module)) or len(block.body) < 2:
        raise CannotFix("the statement is alone in its block")
    edits.replace[statement] = cst.RemoveFromParent()
    siblings = list(block.body)
    position = siblings.index(statement)
    if statement.leading_lines and position + 1 < len(siblings):
        following = siblings[position + 1]
        carried = list(statement.leading_lines)
        edits.replace[following] = lambda updated: updated.with_changes(
            leading_lines=[*carried, *getattr(updated, "leading_lines", ())]
        )


# -- parameter injection ---------------------------------------------------


class CannotFix(Exception):
    """A fix that turned out not to be possible here; the finding stays, unfixed."""


def injected_parameter(model: Model, function: FunctionInfo) -> Optional[str]:
    """The name of the route's existing `BackgroundTasks` parameter, if any."""
    for param in function.parameters():
        info = model.annotation_info(param.annotation)
        if info.kind == "tasks" and not info.optional:
            return param.name.value
    return None


def inject_background_tasks(
    model: Model, function: FunctionInfo, edits: Edits, preferred: Optional[str] = None
) -> str:
    """Make sure `function` receives FastAPI's BackgroundTasks and return the
    parameter's name: an existing one is reused, else `preferred` (the name of
    a local the fix removes) or `background_tasks` (or a free variant) is
    added, keyword-only when appending would shift or break positional
    parameters."""
    existing = injected_parameter(model, function) or edits.injected.get(function.node)
    if existing:
        return existing
    taken = {param.name.value for param in function.parameters()}
    if preferred and preferred not in taken:
        name = preferred
    else:
        name = fresh_name(function.node, "background_tasks")
    reference = background_tasks_reference(model, edits, before=function.position)
    annotation = cst.parse_expression(reference)
    param = cst.Param(name=cst.Name(name), annotation=cst.Annotation(annotation))
    params = function.node.params
    if params in edits.replace:
        raise CannotFix("the signature is already being changed")
    new_params = add_parameter(params, param, function.node.whitespace_before_params)
    edits.replace[params] = new_params
    refit = _fit_signature(model, function.node, new_params)
    if refit is not None and not isinstance(edits.replace.get(function.node), cst.CSTNode):
        laid_out, opening = refit
        edits.replace[params] = laid_out
        earlier = edits.replace.get(function.node)

        def reopen(node: cst.CSTNode) -> cst.CSTNode:
            if callable(earlier):
                node = earlier(node)
            assert isinstance(node, cst.FunctionDef)
            return node.with_changes(whitespace_before_params=opening)

        edits.replace[function.node] = reopen
    edits.injected[function.node] = name
    return name


# -- layout as ruff format / black write it ----------------------------------


def _fit_signature(
    model: Model, function: cst.FunctionDef, params: cst.Parameters
) -> Optional[tuple[cst.Parameters, cst.BaseParenthesizableWhitespace]]:
    """`params` laid out as the formatter would once they no longer fit the
    layout they had: one line, or the parameters on one indented line of
    their own ("hugging"), else one per line with a trailing comma. None when
    the layout can stay (it still fits, or it was one per line already) or
    cannot be judged (comments in the signature)."""
    elements = _elements(params)
    if not elements or _has_comment(params) or isinstance(elements[-1], cst.ParamSlash):
        return None
    last_comma = elements[-1].comma
    if isinstance(last_comma, cst.Comma):
        return None  # a magic trailing comma: one per line stays one per line
    code = model.module.code_for_node
    flat = [_flat(model, e) for e in elements]
    indent = _column_of(model, function)
    head = f"{'async ' if function.asynchronous else ''}def {function.name.value}("
    tail = ")" + (f" -> {code(function.returns.annotation)}" if function.returns else "") + ":"
    limit = model.line_length
    hugging = isinstance(function.whitespace_before_params, cst.ParenthesizedWhitespace)
    one_line = indent + len(head) + len(", ".join(flat)) + len(tail)
    if not hugging and one_line <= limit:
        return None
    unit = model.module.default_indent
    inner = indent + len(unit.expandtabs())
    opening = _line_break(unit)
    if inner + len(", ".join(flat)) <= limit:
        # Hugging: the parameters on one indented line, the `)` on the next
        # (the line break before it is the last parameter's).
        space = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        laid = [_with_comma(e, space) for e in elements]
        laid[-1] = _last(laid[-1], None, _line_break(""))
    else:
        laid = [_with_comma(e, cst.Comma(whitespace_after=opening)) for e in elements]
        laid[-1] = _last(laid[-1], cst.Comma(whitespace_after=_line_break("")), None)
    return _rebuilt(params, laid), opening


ParamElement = Union[cst.Param, cst.ParamStar, cst.ParamSlash]


def _elements(params: cst.Parameters) -> list[ParamElement]:
    """The signature's parts in written order."""
    found: list[ParamElement] = [*params.posonly_params]
    if isinstance(params.posonly_ind, cst.ParamSlash):
        found.append(params.posonly_ind)
    found.extend(params.params)
    if isinstance(params.star_arg, (cst.Param, cst.ParamStar)):
        found.append(params.star_arg)
    found.extend(params.kwonly_params)
    if params.star_kwarg is not None:
        found.append(params.star_kwarg)
    return found


def _rebuilt(params: cst.Parameters, laid: list[ParamElement]) -> cst.Parameters:
    """`params` with its parts replaced, in the order `_elements` gave them."""
    parts = iter(laid)
    changes: dict[str, object] = {"posonly_params": [next(parts) for _ in params.posonly_params]}
    if isinstance(params.posonly_ind, cst.ParamSlash):
        changes["posonly_ind"] = next(parts)
    changes["params"] = [next(parts) for _ in params.params]
    if isinstance(params.star_arg, (cst.Param, cst.ParamStar)):
        changes["star_arg"] = next(parts)
    changes["kwonly_params"] = [next(parts) for _ in params.kwonly_params]
    if params.star_kwarg is not None:
        changes["star_kwarg"] = next(parts)
    return params.with_changes(**changes)


def _flat(model: Model, element: ParamElement) -> str:
    """The element as the formatter writes it on one line."""
    if isinstance(element, cst.ParamStar):
        return "*"
    if isinstance(element, cst.ParamSlash):
        return "/"
    code = model.module.code_for_node
    star = element.star if isinstance(element.star, str) else ""
    text = star + element.name.value
    if element.annotation is not None:
        text += ": " + code(element.annotation.annotation)
    if element.default is not None:
        text += (" = " if element.annotation is not None else "=") + code(element.default)
    return text


def _with_comma(element: ParamElement, comma: cst.Comma) -> ParamElement:
    return _last(element, comma, None)


def _last(
    element: ParamElement,
    comma: Optional[cst.Comma],
    after: Optional[cst.BaseParenthesizableWhitespace],
) -> ParamElement:
    """`element` with `comma` (None: none) and, for a parameter, `after`
    between it and its comma or the `)` (None: nothing)."""
    written = comma if comma is not None else cst.MaybeSentinel.DEFAULT
    if isinstance(element, cst.Param):
        return element.with_changes(
            comma=written, whitespace_after_param=after or cst.SimpleWhitespace("")
        )
    if isinstance(element, cst.ParamSlash):
        return element.with_changes(comma=written, whitespace_after=cst.SimpleWhitespace(""))
    # A bare `*` always has its comma (it is never last).
    return element.with_changes(comma=comma) if comma is not None else element


def _line_break(last_line: str) -> cst.ParenthesizedWhitespace:
    """A line break inside brackets; the next line is indented by the
    enclosing block's indentation plus `last_line`."""
    return cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(),
        empty_lines=[],
        indent=True,
        last_line=cst.SimpleWhitespace(last_line),
    )


def _has_comment(node: cst.CSTNode) -> bool:
    return any(isinstance(n, cst.Comment) for n, entering in walk(node) if entering)


def _column_of(model: Model, node: cst.CSTNode) -> int:
    """The column (in characters) where `node` starts."""
    return node_ranges(model.module, [node], model.parsed_text)[node].start.column


def add_parameter(
    params: cst.Parameters,
    param: cst.Param,
    opening: Optional[cst.BaseParenthesizableWhitespace] = None,
) -> cst.Parameters:
    """`params` plus `param`: appended as a positional parameter when that is
    harmless, else keyword-only (after `*args`, or behind a new bare `*` when a
    positional parameter has a default or there is a `**kwargs`)."""
    if isinstance(params.star_arg, (cst.Param, cst.ParamStar)):
        kwonly = append_item(list(params.kwonly_params), param, opening)
        return params.with_changes(kwonly_params=kwonly)
    positional_defaults = any(
        p.default is not None for p in (*params.posonly_params, *params.params)
    )
    if positional_defaults or params.star_kwarg is not None:
        # `def f(a, b=1)` → `def f(a, b=1, *, background_tasks: ...)`.
        positional = list(params.params)
        star = cst.ParamStar()
        if positional and _is_multiline(positional[-1].comma):
            # One parameter per line: the `*` and the new one get lines of their own.
            separator = _separator(positional, opening)
            star = cst.ParamStar(comma=separator)
            param = param.with_changes(comma=positional[-1].comma)
            positional[-1] = positional[-1].with_changes(comma=separator)
        return params.with_changes(params=positional, star_arg=star, kwonly_params=[param])
    return params.with_changes(params=append_item(list(params.params), param, opening))


def _is_multiline(comma: object) -> bool:
    return isinstance(comma, cst.Comma) and isinstance(
        comma.whitespace_after, cst.ParenthesizedWhitespace
    )


def _separator(
    items: Sequence[ItemT], opening: Optional[cst.BaseParenthesizableWhitespace]
) -> cst.Comma:
    if len(items) > 1 and isinstance(items[-2].comma, cst.Comma):
        return items[-2].comma
    if isinstance(opening, cst.ParenthesizedWhitespace):
        return cst.Comma(whitespace_after=opening)  # one per line, as after the `(`
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def fresh_name(function: cst.FunctionDef, base: str) -> str:
    """`base`, or `base_2`, `base_3`... if a name in the function already uses it."""
    used = {
        node.value for node, entering in walk(function) if entering and isinstance(node, cst.Name)
    }
    name, counter = base, 2
    while name in used:
        name, counter = f"{base}_{counter}", counter + 1
    return name


def keyword_argument(keyword: str, value: str) -> cst.Arg:
    """`keyword=value`, spelled without spaces as PEP 8 asks."""
    no_space = cst.SimpleWhitespace("")
    return cst.Arg(
        keyword=cst.Name(keyword),
        value=cst.Name(value),
        equal=cst.AssignEqual(whitespace_before=no_space, whitespace_after=no_space),
    )


def statement_with_call(
    call: cst.Call,
    receiver: str,
    leading_lines: Sequence[cst.EmptyLine] = (),
    model: Optional[Model] = None,
    anchor: Optional[cst.CSTNode] = None,
) -> cst.SimpleStatementLine:
    """`<receiver>.add_task(<call's arguments>)` as a statement of its own,
    wrapped to the formatter's line length at the column of `anchor` (the
    statement it goes before or replaces), when a model is given."""
    add_task = cst.Call(
        func=cst.Attribute(value=cst.Name(receiver), attr=cst.Name("add_task")),
        args=call.args,
        whitespace_before_args=call.whitespace_before_args,
    )
    if model is not None and anchor is not None:
        add_task = fit_call(model, add_task, _column_of(model, anchor))
    return cst.SimpleStatementLine(body=[cst.Expr(add_task)], leading_lines=list(leading_lines))


def fit_call(
    model: Model, call: cst.Call, column: int, before: str = "", after: int = 0
) -> cst.Call:
    """`call`, written at `column` after `before` (`return `) and followed by
    `after` characters (a trailing comment), laid out as the formatter would
    when it does not fit on its line: the arguments on one indented line of
    their own, else one per line with a trailing comma. Unchanged when it
    fits, spans lines already, or holds comments."""
    code = model.module.code_for_node
    if "\n" in code(call) or _has_comment(call) or not call.args:
        return call
    limit = model.line_length
    args = [_flat_arg(model, arg) for arg in call.args]
    head = before + code(call.func) + "("
    if column + len(head) + len(", ".join(args)) + 1 + after <= limit:
        return call
    unit = model.module.default_indent
    inner = column + len(unit.expandtabs())
    if inner + len(", ".join(args)) <= limit:
        space = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        laid = [
            arg.with_changes(comma=space, whitespace_after_arg=cst.SimpleWhitespace(""))
            for arg in call.args
        ]
        laid[-1] = laid[-1].with_changes(
            comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=_line_break("")
        )
    else:
        line = cst.Comma(whitespace_after=_line_break(unit))
        laid = [
            arg.with_changes(comma=line, whitespace_after_arg=cst.SimpleWhitespace(""))
            for arg in call.args
        ]
        laid[-1] = laid[-1].with_changes(comma=cst.Comma(whitespace_after=_line_break("")))
    return call.with_changes(args=laid, whitespace_before_args=_line_break(unit))


def line_column(model: Model, node: cst.CSTNode) -> int:
    """The column where `node` starts."""
    return _column_of(model, node)


def trailing_width(model: Model, node: cst.CSTNode) -> int:
    """The width of the comment that ends the line holding small statement
    `node` (`  # noqa`), which the formatter counts in the line's length."""
    for statement, entering in walk(model.module):
        if (
            entering
            and isinstance(statement, cst.SimpleStatementLine)
            and any(small is node for small in statement.body)
        ):
            comment = statement.trailing_whitespace.comment
            return 2 + len(comment.value) if comment is not None else 0
    return 0


def _flat_arg(model: Model, arg: cst.Arg) -> str:
    code = model.module.code_for_node
    keyword = f"{arg.keyword.value}=" if arg.keyword is not None else ""
    return arg.star + keyword + code(arg.value)


def replace_local_with_injected(
    model: Model,
    function: FunctionInfo,
    statement: Optional[cst.BaseStatement],
    local: str,
    edits: Edits,
    *,
    rename_all: bool = False,
) -> str:
    """Remove `local = BackgroundTasks()` (`statement`) from `function`, which
    receives the injected object instead, and return its name. Receivers of
    `.add_task` follow the new name; with `rename_all`, every use does."""
    if not isinstance(statement, cst.SimpleStatementLine):
        raise CannotFix("the assignment is not a simple statement")
    name = inject_background_tasks(model, function, edits, preferred=local)
    remove_statement(function.node.body, statement, edits)
    if name == local:
        return name
    for use in model.local_uses(function.node, local):
        # The uses of this local only: a nested function's own `local` stays.
        # An argument too: the function it is passed to gets the injected one.
        if rename_all or isinstance(use.parent, (cst.Attribute, cst.Arg)):
            edits.replace[use.node] = use.node.with_changes(value=name)
    return name
