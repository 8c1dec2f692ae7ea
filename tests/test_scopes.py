"""The model's Python layer (analysis/scopes.py): each query on its own."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from bgtask_lint.analysis.builder import build_model
from bgtask_lint.analysis.walk import walk


def model_of(source: str):
    return build_model(cst.parse_module(textwrap.dedent(source)), "m.py")


def loads(model, name: str) -> list[cst.Name]:
    """Every Name node spelled `name` that the model took for a load."""
    return [
        node
        for node, entering in walk(model.module)
        if entering
        and isinstance(node, cst.Name)
        and node.value == name
        and model.scopes.reference(node) is not None
    ]


def reaching(model, name: str, index: int = -1) -> list[str]:
    """The kinds of the bindings reaching the `index`-th load of `name`."""
    return [b.kind for b in model.scopes.bindings_of(loads(model, name)[index])]


def statement(model, text: str) -> cst.CSTNode:
    for node, entering in walk(model.module):
        if (
            entering
            and isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
            and model.module.code_for_node(node).strip().startswith(text)
        ):
            return node
    raise LookupError(text)


# -- scopes ------------------------------------------------------------------


def test_a_class_scope_is_skipped_by_the_functions_nested_in_it():
    model = model_of(
        """\
        x = "module"
        class C:
            x = "class"
            y = x
            def method(self):
                return x
        """
    )
    in_class, in_method = loads(model, "x")
    assert [b.scope.kind for b in model.scopes.bindings_of(in_class)] == ["class"]
    assert [b.scope.kind for b in model.scopes.bindings_of(in_method)] == ["module"]


def test_global_and_nonlocal_send_bindings_elsewhere():
    model = model_of(
        """\
        counter = 0
        def bump():
            global counter
            counter = 1
        def outer():
            total = 0
            def inner():
                nonlocal total
                total = 2
            return total
        print(counter)
        """
    )
    module = model.scopes.module
    assert [b.scope.kind for b in module.bindings["counter"]] == ["module", "module"]
    assert "counter" not in model.scopes.scope_of(model.module_functions["bump"].node).bindings
    outer = model.scopes.scope_of(model.module_functions["outer"].node)
    assert len(outer.bindings["total"]) == 2  # its own and inner's, through nonlocal


def test_comprehension_targets_are_their_own_but_a_walrus_binds_outside():
    model = model_of(
        """\
        def f(items):
            doubled = [item * 2 for item in items if (last := item)]
            return item, last
        """
    )
    scope = model.scopes.scope_of(model.module_functions["f"].node)
    assert "item" not in scope.bindings and "last" in scope.bindings
    assert [b.kind for b in scope.bindings["last"]] == ["walrus"]
    assert model.scopes.bindings_of(loads(model, "item")[-1]) == []  # unbound there


# -- bindings ----------------------------------------------------------------


@pytest.mark.parametrize(
    "source, name, kind",
    [
        ("def f(a, /, b=1, *args, c, **kw): pass", "args", "parameter"),
        ("a, (b, *c) = 1, (2, 3)", "c", "assignment"),
        ("[a, b] = 1, 2", "b", "assignment"),
        ("a = 1\na += 2", "a", "augmented"),
        ("a: int = 1", "a", "assignment"),
        ("if (a := 1): pass", "a", "walrus"),
        ("for a, b in []: pass", "b", "for"),
        ("with open('x') as (a, b): pass", "b", "with"),
        ("try:\n    pass\nexcept Exception as error:\n    pass", "error", "except"),
        ("match x:\n    case [first, *rest]: pass", "rest", "match"),
        ("match x:\n    case {'k': v, **others}: pass", "others", "match"),
        ("match x:\n    case Point(x=px) | Point(y=px): pass", "px", "match"),
        ("import os.path", "os", "import"),
        ("from a import b as c", "c", "import"),
        ("def f(): pass", "f", "function"),
        ("class C: pass", "C", "class"),
        ("a = 1\ndel a", "a", "del"),
    ],
)
def test_every_kind_of_binding(source, name, kind):
    model = model_of(source)
    assert kind in [b.kind for b in model.scopes.all_bindings() if b.name == name]


def test_imports_and_attribute_names_are_not_loads():
    model = model_of("import os.path\nfrom a.b import c\nos.path.join(c.path)\nf(path=1)\n")
    assert [n.value for n in loads(model, "path")] == []
    assert len(loads(model, "os")) == 1 and len(loads(model, "c")) == 1


# -- references --------------------------------------------------------------


def test_a_load_reads_the_binding_before_it():
    model = model_of("x = 1\nx = x + 1\nprint(x)\n")
    first_load, last_load = loads(model, "x")
    bindings = model.scopes.module.bindings["x"]
    assert model.scopes.bindings_of(first_load) == [bindings[0]]
    assert model.scopes.bindings_of(last_load) == [bindings[1]]


def test_bindings_on_both_arms_of_an_if_both_reach():
    model = model_of(
        """\
        def f(flag):
            if flag:
                tasks = 1
            else:
                tasks = 2
            return tasks
        """
    )
    assert reaching(model, "tasks") == ["assignment", "assignment"]


def test_an_earlier_binding_on_every_path_is_shadowed():
    model = model_of("def f():\n    a = 1\n    a = 2\n    return a\n")
    [binding] = model.scopes.bindings_of(loads(model, "a")[-1])
    assert binding.order == max(b.order for b in binding.scope.bindings["a"])


def test_a_nested_functions_parameter_is_its_own_binding():
    model = model_of(
        """\
        def route(tasks):
            def audit(tasks, event):
                return tasks
            tasks.add_task(audit, tasks, 1)
        """
    )
    route = model.scopes.scope_of(model.module_functions["route"].node)
    [outer] = route.bindings["tasks"]
    uses = model.scopes.uses(outer)
    assert len(uses) == 2  # the receiver and the argument, not audit's own
    assert all(model.scopes.reference(use).scope is route for use in uses)


def test_a_closure_reads_every_binding_of_the_enclosing_scope():
    model = model_of("def f():\n    a = 1\n    def g():\n        return a\n    a = 2\n")
    assert reaching(model, "a") == ["assignment", "assignment"]


def test_builtins_resolve_to_nothing():
    model = model_of("print(len([]))\n")
    assert reaching(model, "print") == []


# -- branches ----------------------------------------------------------------

BRANCHES = """\
def f(flag, value):
    if flag:
        a = 1
    elif value:
        b = 2
    else:
        c = 3
    try:
        d = 4
    except ValueError:
        e = 5
    except KeyError:
        g = 6
    else:
        h = 7
    match value:
        case 1:
            i = 8
        case _:
            j = 9
    k = 10
"""


@pytest.mark.parametrize(
    "first, second, exclusive",
    [
        ("a = 1", "b = 2", True),
        ("a = 1", "c = 3", True),
        ("b = 2", "c = 3", True),
        ("a = 1", "k = 10", False),
        ("d = 4", "e = 5", False),  # the body may run before the handler
        ("e = 5", "g = 6", True),
        ("e = 5", "h = 7", True),
        ("d = 4", "h = 7", False),
        ("i = 8", "j = 9", True),
        ("a = 1", "i = 8", False),
    ],
)
def test_which_statements_exclude_each_other(first, second, exclusive):
    model = model_of(BRANCHES)
    a, b = statement(model, first), statement(model, second)
    assert model.scopes.exclusive(a, b) is exclusive
    assert model.scopes.exclusive(b, a) is exclusive


def test_can_run_after():
    model = model_of(BRANCHES)
    assert model.scopes.can_run_after(statement(model, "a = 1"), statement(model, "k = 10"))
    assert not model.scopes.can_run_after(statement(model, "k = 10"), statement(model, "a = 1"))
    assert not model.scopes.can_run_after(statement(model, "a = 1"), statement(model, "c = 3"))


def test_what_follows_a_return_on_every_path_cannot_run_after():
    model = model_of(
        """\
        def route(cached, flag):
            if cached:
                first = 1
                return first
            if flag: return 2
            after = 3
            if flag:
                inner = 4
                raise ValueError
            else:
                other = 5
            last = 6
        """
    )

    def can(a, b):
        return model.scopes.can_run_after(statement(model, a), statement(model, b))

    assert not can("first = 1", "after = 3")  # the `if cached:` body returns
    assert can("first = 1", "return first")  # ... but its own block goes on
    assert can("after = 3", "last = 6")
    assert not can("inner = 4", "last = 6")  # raises on every path
    assert can("other = 5", "last = 6")
