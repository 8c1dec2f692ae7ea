"""Python's own layer of the semantic model: scopes, bindings, references and
branches, filled in by the model's single walk (analysis/builder.py) and
queried by rules in one line.

- A Scope is a module, class, function, lambda or comprehension, with Python's
  rules: a class scope is skipped by the functions nested in it, `global` and
  `nonlocal` send a name's bindings to another scope, a comprehension's
  targets are its own, and a walrus inside one binds in the enclosing function.
- A Binding is what gives a name a value: a parameter, an assignment (plain,
  unpacked, augmented, annotated, walrus), a `for`, `with ... as`,
  `except ... as` or `match` capture, an import, a `def`, a `class`, a `del`.
- A Reference is a load of a name, resolved to the bindings that can reach it:
  in its own scope those before it that are not on an exclusive branch (back
  to the latest one on every path), in an enclosing scope all of them (a
  closure reads them when it runs).
- Branches: each statement's path of (branch, arm) pairs. Two statements on
  different arms of one `if` / `match`, or in different handlers (or a handler
  and the `else`) of one `try`, exclude each other.

Positions are statement indices in walk order (`order`): a binding is seen by
loads in later statements of its scope, so `x = x + 1` reads the earlier `x`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Callable, Optional

import libcst as cst

from bgtask_lint.analysis.targets import pattern_names, positions_in, target_names

MODULE, CLASS, FUNCTION, LAMBDA, COMPREHENSION = (
    "module",
    "class",
    "function",
    "lambda",
    "comprehension",
)

# What the walk records of a load: the Name, its scope, its statement's order
# and branch path, its parent and grandparent.
RawReference = tuple[
    cst.Name, "Scope", int, "BranchPath", Optional[cst.CSTNode], Optional[cst.CSTNode]
]
# A statement's place among branches: (branch node id, arm) from the outside in.
# Arms: "body" / "else" for `if`; "case0", "case1"... for `match`; "try" (the
# body), "else", "except0", "except1"... for `try` (a body may be cut short by
# the exception a handler catches, so body and handler do not exclude).
BranchPath = tuple[tuple[int, str], ...]


@dataclass(eq=False)
class Binding:
    name: str
    kind: str  # "parameter", "assignment", "import", "function", "class", "for", ...
    node: cst.CSTNode  # the Name bound (or the def / class / alias / Param)
    scope: Scope
    order: int  # index of the statement that binds it
    branch: BranchPath
    references: list[Reference] = field(default_factory=list)
    # The value assigned, for `name = value` (the whole target a single name),
    # and the context manager of `with value as name`.
    value: Optional[cst.BaseExpression] = None
    # The annotation of `name: T` / `name: T = value`.
    annotation: Optional[cst.BaseExpression] = None
    # `a, (b, c) = value`: the value, and where in it the name is ((1, 0) for `b`).
    unpacked: Optional[tuple[cst.BaseExpression, tuple[int, ...]]] = None

    def __repr__(self) -> str:
        return f"<Binding {self.kind} {self.name!r} in {self.scope.kind} @{self.order}>"


@dataclass(eq=False)
class Reference:
    node: cst.Name
    scope: Scope
    order: int
    branch: BranchPath
    # The nodes right above the load: what it is used for (`tasks.add_task(...)`
    # is an Attribute in a Call).
    parent: Optional[cst.CSTNode] = None
    grandparent: Optional[cst.CSTNode] = None
    bindings: list[Binding] = field(default_factory=list)


@dataclass(eq=False)
class Scope:
    kind: str
    node: cst.CSTNode  # the Module, ClassDef, FunctionDef, Lambda or comprehension
    parent: Optional[Scope]
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)

    def lookup_scope(self, name: str) -> Optional[Scope]:
        """The scope a load of `name` here resolves in (Python's LEGB, class
        scopes skipped from nested functions), or None (a builtin, or unbound)."""
        scope: Optional[Scope] = self
        first = True
        while scope is not None:
            if name in scope.globals:
                return _module_of(scope)
            visible = scope.kind != CLASS or first
            if visible and name in scope.bindings and name not in scope.nonlocals:
                return scope
            first = False
            scope = scope.parent
        return None

    def binding_scope(self, name: str) -> Scope:
        """Where a binding of `name` made here goes (`global` / `nonlocal`)."""
        if name in self.globals:
            return _module_of(self)
        if name in self.nonlocals:
            scope = self.parent
            while scope is not None:
                if scope.kind in (FUNCTION, LAMBDA) and name in scope.bindings:
                    return scope
                scope = scope.parent
        return self


def _module_of(scope: Scope) -> Scope:
    while scope.parent is not None:
        scope = scope.parent
    return scope


def exclusive(a: BranchPath, b: BranchPath) -> bool:
    """Whether statements on branch paths `a` and `b` exclude each other: at
    their first branch in common they are on arms that cannot both run."""
    for (branch_a, arm_a), (branch_b, arm_b) in zip(a, b):
        if branch_a != branch_b:
            return False
        if arm_a != arm_b:
            return _arms_exclude(arm_a, arm_b)
    return False


def _arms_exclude(a: str, b: str) -> bool:
    # if/else, two cases, two handlers, a handler and `else` exclude each other;
    # a `try` body does not: it may run in part before a handler.
    return "try" not in (a, b)


@dataclass
class Scopes:
    """The scopes of one module, with every binding and reference in them."""

    module: Scope
    # Keyed by id(node): libcst hashes nodes in Python, which costs more than
    # the rest of the walk; the nodes live as long as the module.
    by_node: dict[int, Scope] = field(default_factory=dict)
    references: dict[int, Reference] = field(default_factory=dict)
    # Each statement's branch path and order (for the branch queries).
    statements: dict[int, tuple[int, BranchPath]] = field(default_factory=dict)
    # Each statement line's place: (its block, its index there, the statement
    # owning the block or 0 at module level), and per block the index of its
    # first line that returns or raises.
    lines: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    block_exits: dict[int, int] = field(default_factory=dict)
    # The `if` / `try` / `match` nodes that branch paths name, by id.
    branch_nodes: dict[int, cst.CSTNode] = field(default_factory=dict)
    # Loads seen by the walk, made into References and resolved when a
    # question is first asked about their name: most models are never asked
    # one, and the few that are ask about a few names; resolving costs more
    # than collecting.
    pending: list[RawReference] = field(default_factory=list)
    _unresolved: dict[str, list[RawReference]] = field(default_factory=dict)

    def _resolve(self, name: Optional[str]) -> None:
        """Resolve the loads of `name` (None: of every name)."""
        if self.pending:
            groups = self._unresolved
            for raw in self.pending:
                groups.setdefault(raw[0].value, []).append(raw)
            self.pending = []
        names = [name] if name is not None else list(self._unresolved)
        for each in names:
            for node, scope, order, path, parent, grandparent in self._unresolved.pop(each, ()):
                reference = Reference(node, scope, order, path, parent, grandparent)
                self.references[id(node)] = reference
                resolve(reference)

    def scope_of(self, node: cst.CSTNode) -> Optional[Scope]:
        """The scope a Module / FunctionDef / ClassDef / Lambda / comprehension opens."""
        return self.by_node.get(id(node))

    def reference(self, name: cst.Name) -> Optional[Reference]:
        self._resolve(name.value)
        return self.references.get(id(name))

    def bindings_of(self, name: cst.Name) -> list[Binding]:
        """The bindings that can reach a load of `name` (none for a builtin)."""
        found = self.reference(name)
        return found.bindings if found is not None else []

    def uses(self, binding: Binding) -> list[cst.Name]:
        """The loads that can read `binding`, in source order."""
        self._resolve(binding.name)
        return [reference.node for reference in binding.references]

    def references_to(self, scope: Scope, name: str) -> list[Reference]:
        """The loads that read any binding of `name` in `scope` (from it or from
        the scopes nested in it), in source order, each once."""
        self._resolve(name)
        seen: dict[int, Reference] = {}
        for binding in scope.bindings.get(name, []):
            for reference in binding.references:
                seen.setdefault(id(reference), reference)
        return sorted(seen.values(), key=lambda r: r.order)

    def exclusive(self, a: cst.CSTNode, b: cst.CSTNode) -> bool:
        """Whether statements `a` and `b` can never both run."""
        first, second = self.statements.get(id(a)), self.statements.get(id(b))
        if first is None or second is None:
            return False
        return exclusive(first[1], second[1])

    def can_run_after(self, first: cst.CSTNode, then: cst.CSTNode) -> bool:
        """Whether statement `then` can run after statement `first` has (later in
        the code, and not on a branch exclusive with it)."""
        before, after = self.statements.get(id(first)), self.statements.get(id(then))
        if before is None or after is None:
            return True
        (order_a, path_a), (order_b, path_b) = before, after
        if order_b <= order_a or exclusive(path_a, path_b):
            return False
        return not self._returns_before_leaving(first, then)

    def _returns_before_leaving(self, first: cst.CSTNode, then: cst.CSTNode) -> bool:
        """Whether every path from `first` returns or raises before it leaves
        the blocks `then` is not in (`if cached: add(); return ...` never gets
        to what follows the `if`)."""
        blocks_of_then = set(self._blocks_around(id(then)))
        line = id(first)
        while line in self.lines:
            block, index, owner = self.lines[line]
            if block in blocks_of_then:
                return False
            exit_index = self.block_exits.get(block)
            if exit_index is not None and exit_index >= index:
                return True
            line = owner
        return False

    def _blocks_around(self, line: int) -> list[int]:
        found = []
        while line in self.lines:
            block, _, owner = self.lines[line]
            found.append(block)
            line = owner
        return found

    def order_of(self, statement: cst.CSTNode) -> Optional[int]:
        found = self.statements.get(id(statement))
        return found[0] if found is not None else None

    def enclosing_branches(self, statement: cst.CSTNode) -> list[tuple[cst.CSTNode, str]]:
        """The `if` / `try` / `match` nodes around `statement`, outermost first,
        each with the arm it is on ("body", "else", "try", "except0", "case1"...)."""
        found = self.statements.get(id(statement))
        if found is None:
            return []
        return [(self.branch_nodes[branch], arm) for branch, arm in found[1]]

    def all_bindings(self) -> Iterator[Binding]:
        self._resolve(None)
        for scope in self.by_node.values():
            for bindings in scope.bindings.values():
                yield from bindings


def resolve(reference: Reference) -> None:
    """Fill `reference.bindings` (and each binding's references)."""
    name = reference.node.value
    scope = reference.scope.lookup_scope(name)
    if scope is None:
        return
    candidates = scope.bindings[name]
    if scope is reference.scope or (
        reference.scope.kind == COMPREHENSION and _comprehension_root(reference.scope) is scope
    ):
        reaching: list[Binding] = []
        for binding in reversed(candidates):
            if binding.order >= reference.order and binding.kind != "walrus":
                continue
            if exclusive(binding.branch, reference.branch):
                continue
            reaching.append(binding)
            if _on_every_path_to(binding.branch, reference.branch):
                break
        # A load before any binding (in a loop, or a name bound later): all.
        chosen = list(reversed(reaching)) or list(candidates)
    else:
        chosen = list(candidates)  # a closure reads what is bound when it runs
    reference.bindings = chosen
    for binding in chosen:
        binding.references.append(reference)


def _comprehension_root(scope: Scope) -> Optional[Scope]:
    while scope.kind == COMPREHENSION and scope.parent is not None:
        scope = scope.parent
    return scope


def _on_every_path_to(binding: BranchPath, reference: BranchPath) -> bool:
    """A binding whose branch path is a prefix of the reference's runs on every
    path that reaches the reference (within their scope)."""
    return binding == reference[: len(binding)]


class ScopeBuilder:
    """Fills a Scopes as the model's walk goes by: `enter(node, parent)` and
    `leave(node)` for every node, `finish()` at the end (moves `global` /
    `nonlocal` bindings, then resolves every reference)."""

    def __init__(self, module: cst.Module, stack: list[cst.CSTNode]) -> None:
        root = Scope(MODULE, module, None)
        self.result = Scopes(root, {id(module): root})
        self.stack = stack  # the walk's ancestors, the current node last
        self.scopes: list[Scope] = [root]
        # Nodes (by id: libcst hashes nodes in Python, slowly) whose entry opens
        # a scope made earlier (a function's body: its decorators, defaults and
        # annotations belong to the enclosing scope), or an arm of a branch.
        self.opens: dict[int, Scope] = {}
        self.arms: dict[int, tuple[int, str]] = {}
        self.branch: list[tuple[int, str]] = []
        self.path: BranchPath = ()  # tuple(self.branch), kept in step
        self.order = 0
        self.block_sizes: dict[int, int] = {}
        self.owners: list[int] = []  # the compound statements being walked
        self.bound: set[int] = set()  # ids of Names that are bindings, not loads
        self.skipped: set[int] = set()  # ... and of Names that are neither (module paths)
        self.raw: list[RawReference] = []

    def handlers(self) -> tuple[dict[type, list[Handler]], dict[type, list[Handler]]]:
        """What to call on entering and leaving each node type, bound to this
        builder: the walk (analysis/builder.py) merges them with its own, so a
        node type nobody cares about costs nothing."""
        enter: dict[type, list[Handler]] = {}
        leave: dict[type, list[Handler]] = {}
        for statement in _STATEMENT_TYPES:
            enter.setdefault(statement, []).append(self._statement)
        for arm in _ARM_TYPES:
            enter.setdefault(arm, []).append(self._open)
            leave.setdefault(arm, []).append(self._close)
        for own in _OPENS_AT_NODE:
            leave.setdefault(own, []).append(self._close_own)
        for compound in _COMPOUND_TYPES:
            leave.setdefault(compound, []).append(self._leave_compound)
        for kind, method in _SCOPE_ENTER.items():
            enter.setdefault(kind, []).append(method.__get__(self))
        enter.setdefault(cst.Name, []).append(self._name)  # type: ignore[arg-type]  # Names only
        return enter, leave

    # -- the walk ------------------------------------------------------------
    def _statement(self, node: cst.CSTNode) -> None:
        self.order += 1
        key = id(node)
        self.result.statements[key] = (self.order, self.path)
        block = self.stack[-2] if len(self.stack) > 1 else None
        if type(node) not in _SMALL_TYPES or type(block) is cst.SimpleStatementSuite:
            # A line or a compound statement (or a statement of a one-line
            # suite): where it sits, for can_run_after.
            block_key = id(block)
            index = self.block_sizes.get(block_key, 0)
            self.block_sizes[block_key] = index + 1
            self.result.lines[key] = (block_key, index, self.owners[-1] if self.owners else 0)
            if type(node) in _COMPOUND_SET:
                self.owners.append(key)

    def _open(self, node: cst.CSTNode) -> None:
        key = id(node)
        if key in self.opens:
            self.scopes.append(self.opens[key])
        if key in self.arms:
            self.branch.append(self.arms[key])
            self.path = tuple(self.branch)

    def _close(self, node: cst.CSTNode) -> None:
        key = id(node)
        if key in self.arms:
            self.branch.pop()
            self.path = tuple(self.branch)
        if key in self.opens:
            self.scopes.pop()

    def _leave_compound(self, node: cst.CSTNode) -> None:
        if self.owners and self.owners[-1] == id(node):
            self.owners.pop()

    def _close_own(self, node: cst.CSTNode) -> None:
        self.scopes.pop()  # a lambda's or a comprehension's, opened on entry

    def finish(self) -> Scopes:
        for scope in list(self.result.by_node.values()):
            for name in sorted(scope.globals | scope.nonlocals):
                target = scope.binding_scope(name)
                if target is scope:
                    continue
                moved = scope.bindings.pop(name, [])
                for binding in moved:
                    binding.scope = target
                target.bindings.setdefault(name, []).extend(moved)
                target.bindings[name].sort(key=lambda b: b.order)
        self.result.pending = self.raw  # made into References when first asked
        return self.result

    # -- scopes --------------------------------------------------------------
    @property
    def scope(self) -> Scope:
        return self.scopes[-1]

    def _new_scope(self, kind: str, node: cst.CSTNode) -> Scope:
        scope = Scope(kind, node, self.scope)
        self.result.by_node[id(node)] = scope
        return scope

    def _bind(
        self,
        name: cst.Name,
        kind: str,
        scope: Optional[Scope] = None,
        node: Optional[cst.CSTNode] = None,
    ) -> None:
        self.bound.add(id(name))
        target = scope or self.scope
        binding = Binding(name.value, kind, node or name, target, self.order, self.path)
        target.bindings.setdefault(name.value, []).append(binding)

    def _name(self, node: cst.Name) -> None:
        key = id(node)
        if key in self.bound or key in self.skipped:
            return
        stack = self.stack
        parent = stack[-2] if len(stack) > 1 else None
        kind = type(parent)
        # `type(...) is` rather than isinstance: libcst's ABCs make isinstance
        # slow, and this runs for every name; mypy cannot narrow on it.
        if kind is cst.Attribute and parent.attr is node:  # type: ignore[union-attr]  # see above
            return
        if kind is cst.Arg and parent.keyword is node:  # type: ignore[union-attr]  # see above
            return
        grandparent = stack[-3] if len(stack) > 2 else None
        # A tuple now, a Reference when the model is first asked (see Scopes).
        self.raw.append((node, self.scopes[-1], self.order, self.path, parent, grandparent))

    # -- what opens scopes and binds names -------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._bind(node.name, "function", node=node)
        scope = self._new_scope(FUNCTION, node)
        self.opens[id(node.body)] = scope
        self._bind_parameters(node.params, scope)

    def visit_Lambda(self, node: cst.Lambda) -> None:
        scope = self._new_scope(LAMBDA, node)
        self.scopes.append(scope)  # closed when the Lambda is left
        self._bind_parameters(node.params, scope)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bind(node.name, "class", node=node)
        self.opens[id(node.body)] = self._new_scope(CLASS, node)

    def _comprehension(self, node: cst.CSTNode) -> None:
        self.scopes.append(self._new_scope(COMPREHENSION, node))

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def _bind_parameters(self, params: cst.Parameters, scope: Scope) -> None:
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                every.append(star)
        for param in every:
            self._bind(param.name, "parameter", scope=scope, node=param)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        for name in target_names(node.target):
            self._bind(name, "comprehension")

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            for name in target_names(target.target):
                self._bind(name, "assignment")
                if name is target.target:
                    self.scope.bindings[name.value][-1].value = node.value
            for name, position in positions_in(target.target):
                self.scope.bindings[name.value][-1].unpacked = (node.value, position)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if isinstance(node.target, cst.Name):
            self._bind(node.target, "assignment" if node.value is not None else "annotation")
            binding = self.scope.bindings[node.target.value][-1]
            binding.value, binding.annotation = node.value, node.annotation.annotation

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Name):
            # Reads the name, then binds it: a reference and a binding.
            name = node.target
            self.raw.append((name, self.scope, self.order, self.path, node, None))
            self._bind(name, "augmented")

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        if isinstance(node.target, cst.Name):
            scope = self.scope
            while scope.kind == COMPREHENSION and scope.parent is not None:
                scope = scope.parent  # a walrus in a comprehension binds outside it
            self._bind(node.target, "walrus", scope=scope)

    def visit_For(self, node: cst.For) -> None:
        for name in target_names(node.target):
            self._bind(name, "for")

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            for name in target_names(node.asname.name):
                self._bind(name, "with")
                if name is node.asname.name:
                    self.scope.bindings[name.value][-1].value = node.item

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self._bind(node.name.name, "except")

    visit_ExceptStarHandler = visit_ExceptHandler

    def visit_MatchCase(self, node: cst.MatchCase) -> None:
        for name in pattern_names(node.pattern):
            self._bind(name, "match")

    def visit_Del(self, node: cst.Del) -> None:
        for name in target_names(node.target):
            self._bind(name, "del")

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self.scope.globals.add(item.name.value)
            self.skipped.add(id(item.name))

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        for item in node.names:
            self.scope.nonlocals.add(item.name.value)
            self.skipped.add(id(item.name))

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            self._skip(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self._bind(alias.asname.name, "import", node=alias)
            else:
                first: cst.BaseExpression = alias.name
                while isinstance(first, cst.Attribute):
                    first = first.value  # `import a.b` binds `a`
                if isinstance(first, cst.Name):
                    self._bind(first, "import", node=alias)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.module is not None:
            self._skip(node.module)
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            self._skip(alias.name)
            bound = alias.asname.name if alias.asname is not None else alias.name
            if isinstance(bound, cst.Name):
                self._bind(bound, "import", node=alias)

    def _skip(self, expr: cst.BaseExpression) -> None:
        while isinstance(expr, cst.Attribute):
            self.skipped.add(id(expr.attr))
            expr = expr.value
        if isinstance(expr, cst.Name):
            self.skipped.add(id(expr))

    # -- branches ------------------------------------------------------------
    def visit_If(self, node: cst.If) -> None:
        self.result.branch_nodes[id(node)] = node
        self.arms[id(node.body)] = (id(node), "body")
        if node.orelse is not None:
            self.arms[id(node.orelse)] = (id(node), "else")

    def _try(self, node: cst.CSTNode) -> None:
        assert isinstance(node, (cst.Try, cst.TryStar))
        self.result.branch_nodes[id(node)] = node
        self.arms[id(node.body)] = (id(node), "try")
        for index, handler in enumerate(node.handlers):
            self.arms[id(handler)] = (id(node), f"except{index}")
        if node.orelse is not None:
            self.arms[id(node.orelse)] = (id(node), "else")

    visit_Try = visit_TryStar = _try

    def visit_Match(self, node: cst.Match) -> None:
        self.result.branch_nodes[id(node)] = node
        for index, case in enumerate(node.cases):
            self.arms[id(case)] = (id(node), f"case{index}")

    def _exit(self, node: cst.CSTNode) -> None:
        """A `return` or `raise`: the line it is in ends its block on every path."""
        if len(self.stack) > 1:
            line = self.result.lines.get(id(node)) or self.result.lines.get(id(self.stack[-2]))
            if line is not None:
                block, index, _ = line
                self.result.block_exits[block] = min(
                    self.result.block_exits.get(block, index), index
                )

    visit_Return = visit_Raise = _exit


Handler = Callable[[cst.CSTNode], None]
_OPENS_AT_NODE = (cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
# Nodes that can open a function's or class's scope, or be an arm of a branch.
_ARM_TYPES = (
    cst.IndentedBlock,
    cst.SimpleStatementSuite,
    cst.Else,
    cst.If,
    cst.ExceptHandler,
    cst.ExceptStarHandler,
    cst.MatchCase,
)
# libcst's node classes, each with the classes it derives from: its base
# classes are ABCs, whose issubclass goes through the ABC machinery (10 ms
# for these three sets, at every worker's start); the MRO says the same.
_NODE_TYPES = [
    (value, frozenset(value.__mro__)) for value in vars(cst).values() if isinstance(value, type)
]
_COMPOUND_TYPES: tuple[type, ...] = tuple(
    value
    for value, bases in _NODE_TYPES
    if cst.BaseCompoundStatement in bases and not value.__name__.startswith("Base")
)
_COMPOUND_SET = frozenset(_COMPOUND_TYPES)
_SMALL_TYPES = frozenset(
    value
    for value, bases in _NODE_TYPES
    if cst.BaseSmallStatement in bases and not value.__name__.startswith("Base")
)
_STATEMENT_TYPES: tuple[type, ...] = tuple(
    value
    for value, bases in _NODE_TYPES
    if (cst.BaseStatement in bases or cst.BaseSmallStatement in bases)
    and not value.__name__.startswith("Base")
)


_SCOPE_ENTER = {
    getattr(cst, name[len("visit_") :]): method
    for name, method in vars(ScopeBuilder).items()
    if name.startswith("visit_") and hasattr(cst, name[len("visit_") :])
}
