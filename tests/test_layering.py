"""The house keeps its shape: imports only run down the layers, and nothing imports in a circle.

Layers, lowest first (docs/architecture.md): ``dsp`` (pure) < ``sensors`` < ``app`` < ``ui``.
The window asks the app for everything: ``ui`` imports ``app`` only, never a source, a DSP
module, bleak or pylsl. Every import is read, including the ones inside functions.
"""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import dsp

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"dsp": 1, "sensors": 2, "app": 3, "ui": 4}
#: What each layer may import of the project (its own layer included).
ALLOWED = {"dsp": {"dsp"}, "sensors": {"dsp", "sensors"}, "app": {"dsp", "sensors", "app"}}
ALLOWED["ui"] = {"app", "ui"}
#: Third-party packages a layer must not import.
FORBIDDEN_THIRD_PARTY = {
    "dsp": {"PySide6", "pyqtgraph", "bleak", "pylsl", "dbus_fast", "bumble"},
    "ui": {"bleak", "pylsl", "dbus_fast", "bumble"},
}
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    found = {}
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Modules (project or third-party top-level names) imported anywhere in a file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:  # `from pkg import module` imports that module
                sub = f"{module}.{alias.name}"
                out.add(sub if sub in known else module)
    return out


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(name, path, known) for name, path in known.items()}


def test_imports_only_run_down():
    wrong = []
    for name, imported in _graph().items():
        layer = name.split(".")[0]
        for target in imported:
            top = target.split(".")[0]
            if top in LAYERS and top not in ALLOWED[layer]:
                wrong.append(f"{name} -> {target}")
            if top in FORBIDDEN_THIRD_PARTY.get(layer, ()):
                wrong.append(f"{name} -> {target} (third-party, not for {layer}/)")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def test_no_import_circles():
    graph = {n: {t for t in deps if t in _modules()} for n, deps in _graph().items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert not circles, f"import circles: {circles}"


def test_the_rules_catch_an_upward_import_and_a_circle(tmp_path, monkeypatch):
    """The checks above can fail: a fake tree with both faults is caught."""
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
        (tmp_path / layer / "__init__.py").write_text("")
    (tmp_path / "dsp" / "a.py").write_text("from dsp import b\n")
    (tmp_path / "dsp" / "b.py").write_text("def f():\n    from dsp.a import x\n")
    (tmp_path / "sensors" / "s.py").write_text("from app.engine import Engine\n")
    (tmp_path / "ui" / "w.py").write_text("import bleak\nfrom sensors import s\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    graph = _graph()
    assert graph["dsp.a"] == {"dsp.b"} and graph["dsp.b"] == {"dsp.a"}
    for test in (test_imports_only_run_down, test_no_import_circles):
        try:
            test()
        except AssertionError as exc:
            message = str(exc)
        else:
            raise AssertionError(f"{test.__name__} passed on a broken tree")
        assert "dsp.a" in message or "sensors.s -> app.engine" in message
    try:
        test_imports_only_run_down()
    except AssertionError as exc:
        assert "ui.w -> bleak" in str(exc) and "ui.w -> sensors.s" in str(exc)


def test_files_hold_one_concept_each():
    """A file past ~600 lines is holding two concepts (STYLE.md): split it along them."""
    long = {
        str(path.relative_to(ROOT)): n
        for path in _modules().values()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"files over {MAX_LINES} lines: {long}"


def test_dsp_loads_nothing_from_io_layers():
    """Importing all of dsp/ at run time loads no Qt, bleak, pylsl or higher layer."""
    modules = [m.name for m in pkgutil.walk_packages(dsp.__path__, "dsp.")]
    assert "dsp.pipeline" in modules
    forbidden = ("PySide6", "pyqtgraph", "bleak", "pylsl", "app", "sensors", "ui")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(sorted(n for n in sys.modules if n.split('.')[0] in {forbidden!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_command_line_help_loads_no_window():
    """``heartsync --help`` and the headless commands never load Qt."""
    code = (
        "import sys\n"
        "import ui.__main__\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('PySide6', 'pyqtgraph')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
