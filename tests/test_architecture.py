"""The layout of docs/architecture.md, checked: lazy imports and what each room may import."""

import ast
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


def _package_graph():
    """Which package modules each package module imports, at any scope (lazy ones too)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                targets.add(base)
                targets.update(f"{base}.{alias.name}" for alias in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


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
        ("_explain.py", {"torch", "skorch"}),
        ("plotting.py", {"torch", "skorch"}),
        ("datasets/__init__.py", {"torch", "skorch"}),
        ("datasets/_surnames.py", {"torch", "skorch"}),
        ("datasets/_synthetic.py", {"torch", "skorch"}),
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
