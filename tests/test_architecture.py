"""The package's shape: no import cycles, no private names across modules, the public API pinned."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import rsa_qa
from conftest import ROOT

PACKAGE = ROOT / "src" / "rsa_qa"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) for every import in the file, at any depth (function-level ones too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
    return found


def _package_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for module, names in _imports(path):
            # "from rsa_qa.search import searcher" imports the submodule rsa_qa.search.searcher.
            targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in modules] or [module]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def test_the_package_has_no_import_cycle() -> None:
    graph = _package_graph()
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycle = path[path.index(target) :] + [target]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert len(graph) > 30  # the walk saw the whole package


@pytest.mark.parametrize("folder", ["src", "tests", "benchmarks", "examples"])
def test_no_module_imports_a_private_name_from_another(folder: str) -> None:
    offending = [
        f"{path.relative_to(ROOT)}: from {module} import {name}"
        for path in sorted((ROOT / folder).rglob("*.py"))
        for module, names in _imports(path)
        for name in names
        if name.startswith("_")
    ]
    assert offending == []


def test_the_layers_import_only_downwards() -> None:
    """The pipeline knows nothing of the store, search or HTTP; the core nothing of HTTP."""
    graph = _package_graph()
    below = {
        "rsa_qa.pipeline": ("rsa_qa.store", "rsa_qa.search", "rsa_qa.http", "rsa_qa.service"),
        "rsa_qa.store": ("rsa_qa.search", "rsa_qa.http", "rsa_qa.service", "rsa_qa.answers"),
        "rsa_qa.search": ("rsa_qa.http", "rsa_qa.service", "rsa_qa.answers", "rsa_qa.mcp_server"),
        "rsa_qa.answers": ("rsa_qa.http", "rsa_qa.mcp_server", "rsa_qa.cli"),
        "rsa_qa.mcp_server": ("rsa_qa.http",),
    }
    wrong = [
        f"{module} imports {target}"
        for module, targets in graph.items()
        for layer, forbidden in below.items()
        if module == layer or module.startswith(layer + ".")
        for target in targets
        if target.startswith(forbidden)
    ]
    assert wrong == []


PUBLIC_API = {
    "__version__",
    "Settings",
    "get_settings",
    "build_index",
    "open_searcher",
    "Searcher",
    "SearchOptions",
    "run_query",
    "QueryRequest",
    "QueryResponse",
    "Result",
    "DocRef",
    "SectionRef",
    "ReferenceOut",
    "Highlight",
    "Scores",
    "PassageOut",
    "RsaQaError",
    "CorpusError",
    "ModelError",
    "NotReady",
    "PassageNotFound",
    "IndexNotFound",
    "IndexCorrupt",
    "IndexMismatch",
    "IndexWriteError",
}


def test_the_public_api_is_pinned_and_every_name_resolves() -> None:
    assert set(rsa_qa.__all__) == PUBLIC_API
    for name in rsa_qa.__all__:
        assert getattr(rsa_qa, name) is not None
    assert issubclass(rsa_qa.IndexCorrupt, rsa_qa.RsaQaError)
    with pytest.raises(AttributeError):
        rsa_qa.no_such_name  # noqa: B018


def test_importing_the_package_stays_cheap() -> None:
    """`import rsa_qa` (every CLI start) loads neither the model runtime nor FAISS."""
    code = "import sys, rsa_qa; print(sorted({'faiss', 'torch', 'onnxruntime', 'numpy'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_the_wheel_holds_the_package_and_no_benchmark_code(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("rsa_qa-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "rsa_qa/answers.py" in names and "rsa_qa/http/static/index.html" in names
    assert "rsa_qa/search/fitted.json" in names, "the fitted models ship with the package"
    assert not [n for n in names if "bench" in n or "locust" in n or n.startswith(("tests/", "eval/"))]
