"""The architecture as rules over imports, checked by walking the package's syntax trees.

nncli is a stack of layers; a module may import its own package and the layers below it, never one
above. Third-party libraries are confined: pydantic and yaml to the config, rich and matplotlib to the
views and the CLI, typer to the CLI. Nothing imports the CLI. `python -m tools.import_rules` prints the
violations of the tree (none, or the test fails).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

# Bottom to top. A module may import modules of its own entry and of entries before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("registry", "fileio", "runtime"),
    ("engine",),
    ("datasets",),
    ("config",),
    ("training",),
    ("rundir",),
    ("gradcheck", "export"),
    ("compare", "explain"),
    ("api",),
    ("views",),
    ("cli",),
    ("__main__",),  # `python -m nncli`: the entry point, the one importer of the CLI
)
# Third-party imports allowed per top-level part; a library absent from every list is not allowed at all.
THIRD_PARTY: dict[str, frozenset[str]] = {
    "engine": frozenset({"numpy"}),
    "datasets": frozenset({"numpy"}),
    "config": frozenset({"numpy", "pydantic", "yaml"}),
    "views": frozenset({"numpy", "rich", "matplotlib"}),
    "cli": frozenset({"numpy", "rich", "typer"}),
}
DEFAULT_THIRD_PARTY = frozenset({"numpy", "threadpoolctl"})
# Optional extras (not matplotlib: views only), imported inside functions where they are needed, never by
# the engine or the datasets.
OPTIONAL = frozenset({"torch", "ray", "onnx", "onnxruntime", "safetensors", "jax"})
# The public face re-exports from every layer, lazily; nothing inside the package imports it.
EXEMPT = frozenset({"__init__"})
MAX_LINES = 400


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def module_name(path: Path, root: Path) -> str:
    """nncli/engine/layers.py → nncli.engine.layers; a package's __init__ is the package."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def part_of(module: str) -> str:
    """The top-level part a module belongs to: nncli.engine.layers → engine, nncli.errors → errors."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer_index(part: str) -> int | None:
    return next((i for i, names in enumerate(LAYERS) if part in names), None)


def imports(tree: ast.Module, module: str, is_package: bool) -> list[tuple[str, tuple[str, ...], int, bool]]:
    """(module, names imported from it, line, inside a function) for every import statement; relative
    imports are resolved against `module`."""
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((alias.name, (), child.lineno, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = module.split(".") if is_package else module.split(".")[:-1]
                    package = package[: len(package) - child.level + 1]
                    base = ".".join([*package, base] if base else package)
                names = tuple(alias.name for alias in child.names)
                found.append((base, names, child.lineno, in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def targets(base: str, names: tuple[str, ...], modules: dict[str, Path]) -> set[str]:
    """The modules an import statement loads: `from nncli.x import mod` is nncli.x.mod where that is a
    module, `from nncli.x import Class` is nncli.x; a module's unknown prefix stands for its package."""
    found = {f"{base}.{n}" for n in names if f"{base}.{n}" in modules}
    if not names or len(found) < len(names):
        while base and base not in modules:
            base = base.rpartition(".")[0]
        if base:
            found.add(base)
    return found


def check_tree(root: Path) -> list[Violation]:
    """Every rule broken by the package at `root` (a folder named like the package, e.g. .../nncli)."""
    root = Path(root)
    package = root.name
    files = sorted(root.rglob("*.py"))
    modules = {module_name(p, root): p for p in files}
    violations: list[Violation] = []
    graph: dict[str, set[str]] = {m: set() for m in modules}

    for name, path in modules.items():
        rel = str(path.relative_to(root.parent))
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n") + (not text.endswith("\n") and bool(text))
        if lines > MAX_LINES:
            violations.append(Violation(rel, 1, f"{lines} lines, over {MAX_LINES}: split it by job"))
        tree = ast.parse(text, rel)
        part = part_of(name)
        for base, names, line, in_function in imports(tree, name, path.name == "__init__.py"):
            top = base.split(".")[0]
            if top == package:
                for target in sorted(targets(base, names, modules) - {name}):
                    if part not in EXEMPT:
                        graph[name].add(target)
                    violations.extend(_layer_violations(rel, line, name, target, in_function))
            elif top not in sys.stdlib_module_names and top != "__future__":
                allowed = THIRD_PARTY.get(part, DEFAULT_THIRD_PARTY)
                optional = in_function and top in OPTIONAL and part not in ("engine", "datasets")
                if top not in allowed and not optional:
                    where = " inside a function" if in_function else ""
                    violations.append(
                        Violation(rel, line, f"{part}/ imports '{top}'{where}: not allowed there")
                    )
    violations.extend(_cycles(graph, modules, root))
    return violations


def _layer_violations(rel: str, line: int, name: str, target: str, in_function: bool) -> list[Violation]:
    part, target_part = part_of(name), part_of(target)
    if part in EXEMPT:
        return []
    out = []
    if in_function:
        out.append(Violation(rel, line, f"imports {target} inside a function; import it at the top"))
    if target_part in EXEMPT:
        out.append(Violation(rel, line, f"imports the package's public face {target}; import the module"))
        return out
    mine, theirs = layer_index(part), layer_index(target_part)
    if mine is None:
        out.append(Violation(rel, line, f"'{part}' is in no layer of tools/import_rules.LAYERS"))
    elif theirs is None:
        out.append(Violation(rel, line, f"'{target_part}' is in no layer of tools/import_rules.LAYERS"))
    elif theirs > mine or (theirs == mine and part != target_part):
        out.append(Violation(rel, line, f"{part}/ imports {target}, a layer above or beside it"))
    return out


def _cycles(graph: dict[str, set[str]], modules: dict[str, Path], root: Path) -> list[Violation]:
    """One violation per import cycle, found by depth-first search (Tarjan's strongly connected sets)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            members = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                members.append(w)
                if w == v:
                    break
            if len(members) > 1:
                cycles.append(sorted(members))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [
        Violation(str(modules[c[0]].relative_to(root.parent)), 1, "import cycle: " + " ↔ ".join(c))
        for c in cycles
    ]


if __name__ == "__main__":
    found = check_tree(Path(__file__).resolve().parent.parent / "nncli")
    print("\n".join(map(str, found)) or "no violations")
    sys.exit(1 if found else 0)
