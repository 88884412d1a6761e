"""The layout of docs/architecture.md, checked: lazy imports and what each room may import."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import skseqattn

PACKAGE = Path(skseqattn.__file__).parent


def _imported_modules(path):
    """Top-level (module-scope) imports of a source file, as absolute-ish dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:  # module scope only: imports inside functions are lazy
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level:
            names.add("." * node.level + (node.module or ""))
    return names


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(source, name, is_package=False):
    """``(target, at_module_scope)`` for every import in ``source``, the module ``name``.

    A target is a package module (``skseqattn._net``; ``from . import x`` names ``x`` when
    it is a module, else the package) or the top-level name of anything else (``torch``).
    Imports inside a function are lazy; class bodies and ``try`` blocks run on import.
    """
    package = name if is_package else name.rpartition(".")[0]
    found = []

    def target(dotted):
        if dotted.split(".")[0] != PACKAGE.name:
            return dotted.split(".")[0]
        while dotted not in MODULES:  # skseqattn.nn.SequenceClassifierModule -> skseqattn.nn
            dotted = dotted.rpartition(".")[0]
        return dotted

    def visit(node, scope):
        for child in ast.iter_child_nodes(node):
            inner = scope and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((target(alias.name), scope) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(parts + ([child.module] if child.module else []))
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    found.append((target(full if full in MODULES else base), scope))
            visit(child, inner)

    visit(ast.parse(source), True)
    return found


def _package_graph():
    """Which package modules each package module imports, at any scope (lazy ones too)."""
    graph = {}
    for name, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        targets = {t for t, _ in _imports(source, name, path.name == "__init__.py")}
        graph[name] = {t for t in targets if t in MODULES and t != name}
    return graph


def _rooms_in_docs():
    """The rooms table of docs/architecture.md: room name -> package modules of its row."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text.split("## The rooms", 1)[1].split("\n\n")[1]  # the table after the heading
    rooms = {}
    for line in table.splitlines()[2:]:
        room, modules = [cell.strip() for cell in line.strip("|").split("|")[:2]]
        names = set()
        for entry in re.findall(r"`([^`]+)`", modules):  # a file, or a folder: `nn/`
            dotted = f"{PACKAGE.name}." + entry.removesuffix(".py").replace("/", ".")
            dotted = dotted.removesuffix(".").removesuffix(".__init__")
            folder = entry.endswith("/")
            names.update(m for m in MODULES if m == dotted or folder and m.startswith(dotted + "."))
        rooms[room] = names
    return rooms


# What each row's "may import" column allows, besides the standard library and the room's
# own modules: at module scope, and in addition inside functions. Rooms by their name in
# the table, other packages by their import name.
ALLOWED = {
    "front door": (set(), set()),
    "ids": (set(), set()),
    "options": (set(), set()),
    "errors": (set(), set()),
    "estimators": (
        {"numpy", "sklearn", "ids", "options", "input kinds", "validation"},
        {"skorch", "torch", "sequences", "net"},
    ),
    "validation": ({"numpy"}, {"torch"}),
    "input kinds": ({"numpy", "ids", "sequences"}, {"sklearn", "net"}),
    "sequences": ({"numpy"}, set()),
    "net": (
        {"torch", "skorch", "tqdm", "numpy", "scipy", "errors", "sequences"},
        {"joblib", "sklearn", "module"},
    ),
    "module": ({"torch", "numpy", "ids", "options"}, set()),
    "outside views": (
        {"numpy", "sklearn", "torch", "estimators", "ids", "input kinds", "validation"},
        {"front door", "net", "module", "pandas", "matplotlib", "onnx", "safetensors"},
    ),
    "data": ({"numpy", "sklearn"}, {"pandas"}),
}


def _forbidden_imports(source, name, room, room_of, is_package=False):
    """The imports of module ``name`` (in ``room``) that its row does not allow."""
    at_module_scope, inside_functions = ALLOWED[room]
    wrong = []
    for target, scope in _imports(source, name, is_package):
        what = room_of.get(target, target)
        if target.split(".")[0] in sys.stdlib_module_names or what == room:  # its own room
            continue
        if what in at_module_scope or (not scope and what in inside_functions):
            continue
        wrong.append(f"{name} imports {target} ({what}) {'at module scope' if scope else 'lazily'}")
    return sorted(set(wrong))  # one line per imported module, however many names


def _run(code):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize(
    "statement, loaded",
    [
        ("import skseqattn", ["False", "False", "False"]),  # neither torch nor sklearn
        ("import skseqattn.nn", ["True", "False", "False"]),  # torch, but no sklearn
    ],
)
def test_import_loads_only_what_it_needs(statement, loaded):
    out = _run(
        f"import sys; {statement}; "
        "print(*(name in sys.modules for name in ('torch', 'sklearn', 'skorch')))"
    )
    assert out == loaded


def test_estimators_and_explain_import_without_torch():
    out = _run(
        "import sys\n"
        "from skseqattn import BiLSTMAttentionClassifier, CharSequenceVectorizer, explain\n"
        "from skseqattn import AttentionDisplay, PAD_ID, UNK_ID\n"
        "import skseqattn.datasets\n"
        "print('torch' in sys.modules, PAD_ID, UNK_ID)"
    )
    assert out == ["False", "0", "1"]


def test_public_names_resolve_and_unknown_ones_raise():
    for name in skseqattn.__all__:
        assert getattr(skseqattn, name) is not None
        assert name in dir(skseqattn)
    assert callable(skseqattn.explain)  # the function; its module is skseqattn._explain
    with pytest.raises(AttributeError, match="has no attribute 'Explain'"):
        skseqattn.Explain  # noqa: B018


@pytest.mark.parametrize(
    "module, forbidden",
    [
        ("_classifier.py", {"torch", "skorch"}),
        ("_vectorizer.py", {"torch", "skorch"}),
        ("_inputs.py", {"torch", "skorch"}),
        ("_sequences.py", {"torch", "skorch", "sklearn"}),
        ("_ids.py", {"torch", "skorch", "sklearn", "numpy"}),
        ("_errors.py", {"torch", "skorch", "sklearn", "numpy"}),
        ("_options.py", {"torch", "skorch", "sklearn", "numpy"}),
        ("_explain.py", {"torch", "skorch"}),
        ("_explanations.py", {"torch", "skorch", "sklearn"}),
        ("plotting.py", {"torch", "skorch"}),
        ("datasets/__init__.py", {"torch", "skorch"}),
        ("datasets/_surnames.py", {"torch", "skorch"}),
        ("datasets/_generation.py", {"torch", "skorch"}),
        ("datasets/_tokens.py", {"torch", "skorch"}),
        ("datasets/_strings.py", {"torch", "skorch"}),
        ("datasets/_series.py", {"torch", "skorch"}),
        ("nn/_module.py", {"sklearn", "skorch"}),
        ("nn/_attention.py", {"sklearn", "skorch"}),
        ("nn/_ngrams.py", {"sklearn", "skorch"}),
        ("nn/_export.py", {"sklearn", "skorch"}),
    ],
)
def test_rooms_import_only_what_docs_architecture_allows(module, forbidden):
    imported = _imported_modules(PACKAGE / module)
    roots = {name.split(".")[0] for name in imported if not name.startswith(".")}
    assert not roots & forbidden, f"{module} imports {sorted(roots & forbidden)} at module scope"


def test_estimator_module_holds_no_tensor_code():
    source = (PACKAGE / "_classifier.py").read_text(encoding="utf-8")
    assert source.count("torch.") <= 2


def test_input_kind_is_compared_as_a_string_in_one_module_only():
    pattern = ('== "tokens"', '== "features"', '!= "tokens"', '!= "features"')
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(p in path.read_text(encoding="utf-8") for p in pattern)
    ]
    assert offenders == []  # _inputs.py maps the strings to kinds through a dict


def test_package_has_no_import_cycle():
    # Data and imports flow one way, lazy imports inside functions included (the net room
    # used to import _distributed inside build_net while _distributed imported _net).
    graph = _package_graph()
    assert "skseqattn._net" in graph["skseqattn._distributed"]  # the graph sees imports
    assert "skseqattn._distributed" not in graph["skseqattn._net"]
    state = {}

    def visit(name, path):
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                cycle = path[path.index(target) :] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, path + [target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_every_module_sits_in_one_row_of_docs_architecture():
    rooms = _rooms_in_docs()
    assert set(rooms) == set(ALLOWED)  # a new row needs its rule here, and the reverse
    listed = [m for names in rooms.values() for m in names]
    assert sorted(set(MODULES) - set(listed)) == []  # these need a row (the modules column)
    assert sorted(listed) == sorted(MODULES)  # and each sits in one row only
    assert f"{PACKAGE.name}._validation" in rooms["validation"]


def test_each_room_imports_only_what_its_row_allows():
    room_of = {m: room for room, names in _rooms_in_docs().items() for m in names}
    wrong = []
    for name, path in sorted(MODULES.items()):
        source = path.read_text(encoding="utf-8")
        wrong += _forbidden_imports(
            source, name, room_of[name], room_of, path.name == "__init__.py"
        )
    assert wrong == []


@pytest.mark.parametrize(
    "source, what, at_module_scope, inside_a_function",
    [
        ("import torch", "torch (torch)", True, False),  # torch only inside methods
        ("from ._net import build_net", "skseqattn._net (net)", True, False),
        ("from .nn import SequenceClassifierModule", "skseqattn.nn (module)", True, True),
        ("import matplotlib.pyplot as plt", "matplotlib (matplotlib)", True, True),
        ("from ._inputs import TokenInput", "", False, False),
        ("from . import _ids", "", False, False),
    ],
)
def test_allowed_imports_check_flags_what_the_estimators_row_does_not_allow(
    source, what, at_module_scope, inside_a_function
):
    room_of = {m: room for room, names in _rooms_in_docs().items() for m in names}
    lazy = "class A:\n    def f(self):\n        " + source

    def check(code):
        return _forbidden_imports(code, "skseqattn._classifier", "estimators", room_of)

    assert check(source) == (
        [f"skseqattn._classifier imports {what} at module scope"] * at_module_scope
    )
    assert check(lazy) == [f"skseqattn._classifier imports {what} lazily"] * inside_a_function
