"""The import rules of DESIGN.md, checked over the source (every import, also inside functions).

- ``fleetadmin.core`` is the kernel: it imports no app.
- No app imports ``portal`` (the Django project imports the apps, never the reverse).
- No cycle between apps. An app's *channels* (views, urls, admin, template tags, context
  processors, middleware, management commands) sit above every app's domain (models,
  services, selectors, authz, rules ...), so the graph checked is one of (app, layer)
  nodes: a channel may read another app's domain (the audit log screens use
  ``fleet.authz``) while that app's services write to the audit log, but a domain module
  never imports a channel, and the domain layers of the apps form no cycle.
"""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from pathlib import Path

import fleetadmin

ROOT = Path(fleetadmin.__file__).parent
CHANNEL_MODULES = frozenset({"views", "urls", "admin", "middleware", "context_processors", "customer_urls"})
CHANNEL_PACKAGES = frozenset({"management", "templatetags", "migrations"})
# Apps that are channels as a whole: they translate for the services and nothing imports them.
CHANNEL_APPS = frozenset({"api", "cli", "grpc"})


def _node(path: Path) -> tuple[str, str]:
    parts = path.relative_to(ROOT).with_suffix("").parts
    app = parts[0]  # fleetadmin/clock.py is the app-less module ``clock``
    if app in CHANNEL_APPS or CHANNEL_PACKAGES.intersection(parts) or parts[-1].endswith("urls"):
        return app, "channel"
    return app, "channel" if parts[-1] in CHANNEL_MODULES else "domain"


def _imported(tree: ast.AST) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
            found += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return found


def import_edges() -> dict[tuple[str, str], dict[tuple[str, str], str]]:
    """(app, layer) -> {(app, layer) it imports: "file:line" of one such import}."""
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts): p for p in ROOT.rglob("*.py")}
    edges: dict = defaultdict(dict)
    for path in modules.values():
        if "migrations" in path.parts:
            continue
        source = _node(path)
        for imported, line in _imported(ast.parse(path.read_text(), str(path))):
            parts = imported.split(".")
            where = f"{path.relative_to(ROOT.parent)}:{line}"
            if parts[0] == "portal":
                edges[source][("portal", "project")] = where
            if parts[0] != "fleetadmin" or len(parts) < 2:
                continue
            # the longest prefix that is a module of ours (``from x import name`` may name a module or a value)
            for end in range(len(parts), 1, -1):
                target = modules.get(".".join(parts[1:end]))
                if target is None and (ROOT.joinpath(*parts[1:end]) / "__init__.py").exists():
                    target = ROOT.joinpath(*parts[1:end]) / "__init__.py"
                if target is not None:
                    break
            if target is None:
                continue
            destination = _node(target)
            if destination != source:
                edges[source].setdefault(destination, where)
    return edges


def _cycle(edges, nodes) -> list | None:
    graph = {n: [d for d in edges.get(n, {}) if d in nodes] for n in nodes}
    state: dict = {}
    stack: list = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_kernel_imports_no_app():
    edges = import_edges()
    outward = {d: w for (app, _), ds in edges.items() if app == "core" for d, w in ds.items() if d[0] != "core"}
    assert outward == {}


def test_no_app_imports_the_project():
    offenders = {
        f"{app}.{layer}": ds[("portal", "project")]
        for (app, layer), ds in import_edges().items()
        if ("portal", "project") in ds
    }
    assert offenders == {}


def test_domain_modules_never_import_a_channel():
    edges = import_edges()
    offenders = [
        f"{src[0]} -> {dst[0]}.{dst[1]} ({where})"
        for src, ds in edges.items()
        if src[1] == "domain"
        for dst, where in ds.items()
        if dst[1] == "channel"
    ]
    assert offenders == []


def test_no_cycle_between_the_apps():
    edges = import_edges()
    nodes = {n for n in edges} | {d for ds in edges.values() for d in ds}
    cycle = _cycle(edges, {n for n in nodes if n[0] != "portal"})
    if cycle:
        hops = [f"{a[0]}.{a[1]} -> {b[0]}.{b[1]} ({edges[a][b]})" for a, b in itertools.pairwise(cycle)]
        raise AssertionError("import cycle:\n  " + "\n  ".join(hops))


def test_the_checker_finds_a_cycle():
    """The rule can fail: two domain modules importing each other is reported."""
    a, b = ("a", "domain"), ("b", "domain")
    assert _cycle({a: {b: "x"}, b: {a: "y"}}, {a, b}) == [a, b, a]
    assert _cycle({a: {b: "x"}}, {a, b}) is None
