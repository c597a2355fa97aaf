"""Imports run one way (docs/architecture.md draws the same order).

Every `import` / `from ... import` in src/stylebridge, at module level or inside a function
(a lazy import is still a dependency), is read with `ast` (no module is imported). A package
may import its own modules and any package in a LOWER layer; never one in its own layer
(siblings stay independent) or above. The import graph of modules has no cycle either.
"""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "stylebridge"

# Top to bottom. A name is a sub-package or a top-level module of stylebridge; "" is
# stylebridge/__init__.py (the version).
LAYERS = (
    ("cli",),                              # one click module per verb
    ("app", "demo", "evaluate", "zoo_build"),  # web app, demo, paper tables, glyph-zoo build
    ("translate",),                        # zoo + translator + folder jobs
    ("encoder",),                          # feed-forward encoder into W+ and its training
    ("invert", "train", "video"),          # SeFa / projector; fine-tune, layer swap; interpolation videos
    ("formats", "generate"),               # checkpoint readers/writers; sampling
    ("networks",),                         # Generator / Discriminator and their configs
    ("metrics",),                          # feature networks (LPIPS, Inception, glyph classifier), stats, weights
    ("data",),                             # images, datasets, glyph rendering
    ("utils", "zoo"),                      # atomic writes, device, ranges; where the shipped zoo lies
    ("errors", ""),                        # error classes; __version__
)
LEVEL = {name: i for i, group in enumerate(LAYERS) for name in group}

# Cycles known and being removed on another branch (formats/* belongs to issue 19's work):
# delete an entry once its branch is merged; the test then guards it too.
KNOWN_CYCLES: set[frozenset[str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """(imported stylebridge module, line) for every import in the file; `from pkg import mod`
    names the sub-module mod where one exists."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "stylebridge"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "stylebridge":
                continue
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
            out += [(s, node.lineno) for s in subs] or [(target, node.lineno)]
    return out


def _graph() -> dict[str, list[tuple[str, int]]]:
    mods = _modules()
    return {name: _imports(name, path, set(mods)) for name, path in mods.items()}


def _unit(module: str) -> str:
    """stylebridge.invert.api -> 'invert'; stylebridge.demo -> 'demo'; stylebridge -> ''."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_package_has_a_layer():
    units = {_unit(m) for m in _modules()}
    assert units - set(LEVEL) == set(), "give each new package or top-level module a place in LAYERS"


def test_imports_only_reach_down():
    bad = []
    for mod, imports in _graph().items():
        for target, line in imports:
            a, b = _unit(mod), _unit(target)
            if a != b and LEVEL[b] <= LEVEL[a]:
                where = "its own layer" if LEVEL[b] == LEVEL[a] else "a higher layer"
                bad.append(f"{mod} (line {line}) imports {target}: {b or 'stylebridge'} is in {where}")
    assert not bad, "imports against the layering (tests/test_layering.py LAYERS):\n" + "\n".join(bad)


def _cycles(graph: dict[str, list[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module, or a module importing itself (Tarjan)."""
    index, low, on, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_between_modules():
    graph = {m: sorted({t for t, _ in imps if t in _modules()}) for m, imps in _graph().items()}
    cycles = [sorted(c) for c in _cycles(graph) if frozenset(c) not in KNOWN_CYCLES]
    assert not cycles, f"module import cycles: {cycles}"


def test_the_checker_sees_lazy_upward_imports_and_cycles(tmp_path):
    """The checker itself: a function-level import counts, and a two-module loop is a cycle."""
    code = "def f():\n    from stylebridge.cli.common import parse_range_list\n"
    (tmp_path / "x.py").write_text(code)
    assert _imports("stylebridge.invert.x", tmp_path / "x.py", {"stylebridge.cli.common"}) == \
        [("stylebridge.cli.common", 2)]
    assert LEVEL["cli"] < LEVEL["invert"]  # so the import above reaches up
    assert _cycles({"a": ["b"], "b": ["a"], "c": ["a"]}) == [{"a", "b"}]
    assert _cycles({"a": ["b"], "b": []}) == []


def test_no_private_names_imported_from_another_package():
    """A `_name` is its package's business: another package that needs it wants a public function."""
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        mod = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith("stylebridge"):
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                if private and _unit(node.module) != _unit(mod):
                    bad.append(f"{mod} (line {node.lineno}) imports {', '.join(private)} from {node.module}")
    assert not bad, "\n".join(bad)
