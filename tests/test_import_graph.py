"""The house stays acyclic: no import circle inside ``scratchgen/``.

Every ``import`` in every module (at the top or inside a function) is an edge from the
module to the module that defines what it imports: ``from scratchgen.models import
Classifier`` points at ``scratchgen.models.classifier``, found through the package's own
imports, and ``sg.tensor(...)`` after ``import scratchgen as sg`` points at
``scratchgen.creation``. The root ``scratchgen/__init__.py`` is the user's facade, not a
layer, so it is not a node. One edge is allowed by design (README, Layout, DESIGN notes):
``tensor.py`` imports ``scratchgen.ops`` at its end to give Tensor its operator methods.
"""

import ast
from pathlib import Path

import pytest

ROOT = "scratchgen"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / ROOT
ALLOWED_EDGES = {("scratchgen.tensor", "scratchgen.ops")}


def module_name(path, package_dir):
    """scratchgen/models/gan.py -> scratchgen.models.gan; a package's __init__ -> its name."""
    parts = path.relative_to(package_dir.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def read_modules(package_dir):
    """{module name: (parsed AST, is_package)} for every .py file under package_dir."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        modules[module_name(path, package_dir)] = (tree, path.name == "__init__.py")
    return modules


def absolute(module, is_package, node):
    """The absolute module an ImportFrom node reads from (relative imports resolved)."""
    if not node.level:
        return node.module
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def bindings(modules):
    """{package: {name: module it comes from}} from each package __init__'s imports."""
    table = {}
    for name, (tree, is_package) in modules.items():
        if not is_package:
            continue
        table[name] = {}
        for node in tree.body:
            if isinstance(node, ast.ImportFrom):
                source = absolute(name, True, node)
                for alias in node.names:
                    table[name][alias.asname or alias.name] = f"{source}.{alias.name}"
    return table


def resolve(target, modules, table):
    """The module that defines ``target`` (a dotted module or module.attribute path)."""
    for _ in range(len(modules)):  # follow re-exports through package __init__ files
        if target in modules:
            return target
        owner, _, attribute = target.rpartition(".")
        if owner not in modules:
            return resolve(owner, modules, table) if owner else None
        following = table.get(owner, {}).get(attribute)
        if following is None or following == target:
            return owner  # defined in the module itself (a function, a constant)
        target = following
    raise AssertionError(f"re-exports of {target} loop")


def imported_targets(module, tree, is_package):
    """Every dotted name the module imports, anywhere in its body, and sg.NAME uses."""
    targets, aliases_of_root = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == ROOT and alias.asname:
                    aliases_of_root.add(alias.asname)
                else:
                    targets.append(alias.name)
        elif isinstance(node, ast.ImportFrom):
            source = absolute(module, is_package, node)
            targets += [f"{source}.{alias.name}" for alias in node.names]
    for node in ast.walk(tree):  # sg.randn(...) after `import scratchgen as sg`
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases_of_root
        ):
            targets.append(f"{ROOT}.{node.attr}")
    return [t for t in targets if t == ROOT or t.startswith(ROOT + ".")]


def import_graph(package_dir):
    """{module: set of modules it depends on}, without the root facade."""
    modules = read_modules(package_dir)
    table = bindings(modules)
    graph = {name: set() for name in modules if name != ROOT}
    for name in graph:
        tree, is_package = modules[name]
        for target in imported_targets(name, tree, is_package):
            defining = resolve(target, modules, table)
            if defining not in (None, ROOT, name):
                graph[name].add(defining)
    return graph


def cycles(graph, allowed=frozenset()):
    """The strongly connected components with more than one module (Tarjan), sorted."""
    edges = {a: {b for b in bs if (a, b) not in allowed and b in graph} for a, bs in graph.items()}
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(edges[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_import_circle_inside_the_package():
    found = cycles(import_graph(PACKAGE_DIR), ALLOWED_EDGES)
    assert found == [], "import circles in scratchgen/: " + "; ".join(
        " <-> ".join(component) for component in found
    )


def test_the_allowed_tensor_ops_edge_exists_and_is_the_only_exception():
    graph = import_graph(PACKAGE_DIR)
    assert "scratchgen.ops" in graph["scratchgen.tensor"]
    assert cycles(graph) != []  # without the allowance the tie is a circle, as documented


def test_metrics_and_models_stay_below_evaluation():
    graph = import_graph(PACKAGE_DIR)
    below = [name for name in graph if name.startswith(("scratchgen.models", "scratchgen.metrics"))]
    for name in below:
        upward = {
            m for m in graph[name] if m.startswith(("scratchgen.evaluation", "scratchgen.cli"))
        }
        assert not upward, f"{name} imports {sorted(upward)}"
    assert not {m for m in graph["scratchgen.metrics"] if m.startswith("scratchgen.models")}


def write_package(root, files):
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / ROOT


@pytest.mark.parametrize(
    "files, expected",
    [
        (  # a circle through a function-level import and a package re-export
            {
                "scratchgen/__init__.py": "from scratchgen import a\n",
                "scratchgen/a.py": "from scratchgen.sub import helper\n",
                "scratchgen/sub/__init__.py": "from scratchgen.sub.b import helper\n",
                "scratchgen/sub/b.py": "def helper():\n    from scratchgen import a\n",
            },
            [["scratchgen.a", "scratchgen.sub.b"]],
        ),
        (  # a circle through `import scratchgen as sg` and an attribute of the facade
            {
                "scratchgen/__init__.py": "from scratchgen.a import f\nfrom .b import g\n",
                "scratchgen/a.py": "import scratchgen as sg\ndef f():\n    return sg.g()\n",
                "scratchgen/b.py": "from . import a\ndef g():\n    return a.f\n",
            },
            [["scratchgen.a", "scratchgen.b"]],
        ),
        (  # a clean chain has none
            {
                "scratchgen/__init__.py": "from scratchgen import a, b\n",
                "scratchgen/a.py": "from scratchgen.b import g\n",
                "scratchgen/b.py": "import numpy\ndef g():\n    pass\n",
            },
            [],
        ),
    ],
)
def test_the_check_finds_circles_it_is_shown(tmp_path, files, expected):
    assert cycles(import_graph(write_package(tmp_path, files))) == expected
