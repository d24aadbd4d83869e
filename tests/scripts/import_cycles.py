"""Print the import cycles among mfsim's modules (every import, including those
inside functions) and exit 1 if there is one:  python tests/scripts/import_cycles.py"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "mfsim"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                mod = node.module or ""
                base = f"{base}.{mod}".strip(".") if node.level else mod
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                if target in modules and target != name:
                    edges[name].add(target)
    # importing a.b.c runs a/__init__ and a/b/__init__ first: those edges are
    # not cycles of ours unless the __init__ imports back, which the edges show
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v, counter=[0]):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in edges:
        if v not in index:
            visit(v)
    return out


def package_cycles() -> list[list[str]]:
    edges = graph()
    # `mfsim` (the package's __init__) imports everything to re-export it, and
    # every submodule import runs it first: that is not a cycle between modules
    for deps in edges.values():
        deps.discard("mfsim")
    return cycles(edges)


if __name__ == "__main__":
    found = package_cycles()
    for comp in found:
        print("cycle:", " <-> ".join(comp))
    print(f"{len(graph())} modules, {len(found)} import cycles")
    sys.exit(1 if found else 0)
