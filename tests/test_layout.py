"""The shape of the code, checked: no import cycles in `rag/`, the library never imports its entry scripts, each
heavy library enters through one module, and no module of `rag/` grows past 350 lines.

Imports are read with `ast`, so nothing is imported to check them. An import inside a function counts (it is an
edge at run time); one under `if TYPE_CHECKING:` does not (it never runs).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from conftest import ROOT

RAG = ROOT / "rag"
#: Each enters the code through exactly one module (its seam); the database driver joins when it comes.
HEAVY = ("torch", "sentence_transformers", "onnxruntime", "faiss", "bm25s", "gradio", "fastapi", "psycopg",
         "selectolax")
#: What the library must never import: its entry scripts and the measuring code around it.
ENTRY_POINTS = ("app", "embeddings", "bench", "eval")
MAX_LINES = 350


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(path: Path) -> set[str]:
    """The dotted names `path` imports at run time (for `from a.b import c`: `a.b.c` and `a.b`), imports under
    `if TYPE_CHECKING:` left out."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return names


def _sources(*roots: Path) -> dict[str, Path]:
    files = {}
    for root in roots:
        for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
            files[_module_name(path)] = path
    return files


def _graph() -> dict[str, set[str]]:
    """rag's modules and the rag modules each imports."""
    modules = _sources(RAG)
    return {name: {target for target in imports(path) if target in modules and target != name}
            for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_cycle_finder_finds_a_cycle_and_passes_a_chain():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_imports_count_function_local_ones_and_skip_type_checking_ones(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import faiss\n"
                      "def f():\n    from rag.index import ann\n    import gradio as gr\n", encoding="utf-8")
    assert {"rag.index", "rag.index.ann", "gradio"} <= imports(module)
    assert "faiss" not in imports(module)


def test_rag_has_no_import_cycles():
    assert cycles(_graph()) == []


def test_rag_never_imports_its_entry_scripts_or_measuring_code():
    offending = {name: sorted(t for t in imports(path) if t.split(".")[0] in ENTRY_POINTS)
                 for name, path in _sources(RAG).items()}
    assert {name: found for name, found in offending.items() if found} == {}


@pytest.mark.parametrize("library", HEAVY)
def test_each_heavy_library_enters_through_one_module(library):
    code = _sources(RAG, ROOT / "app.py", ROOT / "embeddings")
    importers = sorted(name for name, path in code.items()
                       if any(t == library or t.startswith(f"{library}.") for t in imports(path)))
    assert len(importers) == 1, f"{library} is imported by {importers}"


def test_no_module_in_rag_is_over_350_lines():
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in _sources(RAG).items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_readme_where_things_live_names_every_module_and_only_modules_that_exist():
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Where things live", 1)[1].split("\n## ")[0]
    named = set(re.findall(r"`([\w/]+\.py)`", section))
    modules = [path for path in RAG.rglob("*.py") if path.name not in ("__init__.py", "__main__.py")]
    assert sorted(str(p.relative_to(ROOT)) for p in modules if p.name not in {Path(n).name for n in named}) == []
    everything = {p.name for p in ROOT.rglob("*.py") if ".venv" not in p.parts} | {
        str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py") if ".venv" not in p.parts}
    assert sorted(n for n in named if n not in everything and Path(n).name not in everything) == []


def _public_functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The module-level functions and the methods of its top-level classes, public ones only."""
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef)
    found = [node for node in tree.body if isinstance(node, kinds)]
    for cls in tree.body:
        if isinstance(cls, ast.ClassDef) and not cls.name.startswith("_"):
            found += [node for node in cls.body if isinstance(node, kinds)]
    return [node for node in found if not node.name.startswith("_")]


def test_public_names_have_args_and_returns_docstrings():
    missing = []
    for path in _sources(RAG).values():
        for node in _public_functions(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            args = node.args
            params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs if a.arg not in ("self", "cls")]
            params += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
            doc = ast.get_docstring(node)
            if doc is None or (params and "Args:" not in doc and not doc.startswith("As `")):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert missing == []
