"""The package's shape holds: imports run one way (no cycle between modules, and
packages only import the layers below them), and the layers that orchestrate a
run, read configuration, cache and print never import libcst."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "bgtask_lint"

# Lowest first: a package may import its own modules and those of packages
# before it in this list, never one after it.
LAYERS = (
    "text",  # files as text: reading, comments, edits
    "config",  # settings and what rules may read from them
    "analysis",  # libcst: parsing, the semantic model, the project
    "rules",  # one file per rule, and the building blocks of fixes
    "runtime",  # the pytest companion, which takes its codes from the registry
    "engine",  # checking and fixing one file
    "run",  # a run over many files: discovery, cache, workers
    "output",  # formats
    "editor",  # the language server, over the public API
)
# Never import libcst at module level: a warm run must not pay for it.
LIBCST_FREE = ("text", "config", "runtime", "run", "output", "editor")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path, *, type_checking: bool = False) -> set[str]:
    """bgtask_lint modules `path` imports when it runs (at module level or in a
    function), and with `type_checking` those under `if TYPE_CHECKING:` too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if (
            not type_checking
            and isinstance(node, ast.If)
            and "TYPE_CHECKING" in ast.unparse(node.test)
        ):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("bgtask_lint"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bgtask_lint"):
            module = node.module or ""
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                is_module = (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py")
                is_package = PACKAGE.parent / candidate.replace(".", "/") / "__init__.py"
                found.add(candidate if is_module.exists() or is_package.exists() else module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph(*, type_checking: bool = False) -> dict[str, set[str]]:
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        imports = runtime_imports(path, type_checking=type_checking)
        graph[name] = {m for m in imports if m != name and m != "bgtask_lint"}
    return graph


def test_no_import_cycles():
    # The imports for the type checker count: a circle through them is one a
    # reader has to follow all the same.
    graph = import_graph(type_checking=True)
    cycles = []
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*stack[stack.index(target) :], target]))
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in LAYERS else None


def test_packages_import_only_the_layers_below_them():
    wrong = []
    for module, targets in import_graph().items():
        layer = layer_of(module)
        if layer is None:
            continue
        for target in targets:
            if target == "bgtask_lint.rules":
                continue  # the registry: it lists rules without importing any
            other = layer_of(target)
            if other is not None and LAYERS.index(other) > LAYERS.index(layer):
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_the_libcst_free_layers_do_not_import_libcst():
    modules = sorted(
        module_name(p)
        for p in PACKAGE.rglob("*.py")
        if layer_of(module_name(p)) in LIBCST_FREE or module_name(p).count(".") == 1
    )
    # The entry points too (api, cli, flake8 plugin): each in a fresh interpreter.
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print('libcst' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def _code_literals(path: Path) -> set[str]:
    """The rule codes the strings of `path`'s code spell, docstrings and a
    rule's own MUST_FLAG / MUST_NOT_FLAG examples apart."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            skipped.add(id(body[0].value))  # a docstring
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id in ("MUST_FLAG", "MUST_NOT_FLAG") for t in node.targets
        ):
            skipped.update(id(n) for n in ast.walk(node.value))
    return {
        code
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in skipped
        for code in re.findall(r"BGT\d{3}", node.value)
    }


def test_no_rule_or_runtime_module_spells_another_rules_code():
    """A rule writes only its own code; the runtime companion none (it takes
    them from the registry by name): renumbering stays one rename."""
    spelled = {}
    for path in sorted([*(PACKAGE / "rules").glob("bgt*.py"), *(PACKAGE / "runtime").glob("*.py")]):
        own = {f"BGT{path.name[3:6]}"} if path.name.startswith("bgt") else set()
        others = _code_literals(path) - own
        if others:
            spelled[path.name] = sorted(others)
    assert spelled == {}


# Modules over 600 lines and functions over 60, at most as long as they are
# now: each may shrink, none may grow, and no other may join them (why each
# is this long: docs/architecture.md, "Sizes").
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 600, 60
LONG_MODULES = {
    "analysis/model.py": 810,
    "analysis/project.py": 791,
    "analysis/provenance.py": 735,
    "analysis/scopes.py": 656,
    "cli.py": 691,
    "config/settings.py": 677,
    "rules/rewrite.py": 845,
}
LONG_FUNCTIONS = {
    "analysis/project.py:__init__": 73,
    "analysis/provenance.py:propagate": 69,
    "engine/check.py:place": 63,
    "run/files.py:check_file": 74,
    "run/parallel.py:work_through": 68,
    "run/runner.py:_in_parallel": 90,
}


def test_no_module_or_function_grows_past_its_size():
    too_long = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = str(path.relative_to(PACKAGE))
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > LONG_MODULES.get(name, MAX_MODULE_LINES):
            too_long[name] = lines
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                key = f"{name}:{node.name}"
                if size > LONG_FUNCTIONS.get(key, MAX_FUNCTION_LINES):
                    too_long[key] = size
    assert too_long == {}
