"""Architecture rules, checked on the source with ``ast`` (every import, including those inside
functions): the planner is a library without the web layer or a database, and the checker is
independent of the optimizer it checks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PLANNER = Path(__file__).resolve().parents[1] / "planner"
SOURCES = sorted(PLANNER.rglob("*.py"))

WEB_AND_DB = ("api", "fastapi", "starlette", "sqlalchemy")
OPTIMIZER = ("planner.optimize", "planner._pool", "planner._schedule", "planner.driving",
             "planner.network.roads", "planner.eligibility")


def _module_of(path: Path) -> str:
    rel = path.relative_to(PLANNER.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module the file at ``path`` imports, anywhere in it."""
    module = _module_of(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: str) -> set[str]:
    """Absolute names of every module ``source`` (a module of ``package``) imports.

    ``from . import x`` yields both the package and ``package.x`` (x may be a submodule).
    """
    tree = ast.parse(source)
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base)
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            out.add(target)
            out.update(f"{target}.{alias.name}" for alias in node.names)
    # dynamic imports: importlib.import_module("x") / __import__("x") with a literal name
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name in ("import_module", "__import__"):
                out.add(node.args[0].value)
    return out


def _hits(mods: set[str], forbidden: tuple[str, ...]) -> set[str]:
    return {m for m in mods for f in forbidden if m == f or m.startswith(f + ".")}


def test_sources_found():
    """The scan sees the planner package (guards against a vacuous pass)."""
    names = {p.name for p in SOURCES}
    assert {"__init__.py", "check.py", "optimize.py", "contract.py"} <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PLANNER.parent)))
def test_planner_imports_no_web_or_database(path):
    """planner/ imports nothing from api, fastapi, starlette or sqlalchemy."""
    assert _hits(imported_modules(path), WEB_AND_DB) == set()


def test_checker_is_independent_of_the_optimizer():
    """check.py imports none of the optimizer's modules (a shared bug could hide itself)."""
    mods = imported_modules(PLANNER / "check.py")
    assert _hits(mods, OPTIMIZER) == set()
    assert "planner.contract" in mods  # the scan resolves relative imports


def test_import_scanner_sees_function_level_and_relative_imports():
    """The scanner itself catches imports hidden in functions, relative and dynamic ones."""
    src = ("def f():\n    import fastapi\n    from .optimize import solve\n"
           "    from . import _pool\n    import importlib\n    importlib.import_module('sqlalchemy.orm')\n")
    mods = imports_in(src, "planner")
    assert _hits(mods, WEB_AND_DB) == {"fastapi", "sqlalchemy.orm"}
    assert _hits(mods, OPTIMIZER) >= {"planner.optimize", "planner._pool"}


#: The optimiser's modules in pipeline order: each may import only those before it.
PIPELINE = ("planner.contract", "planner.errors", "planner.network.places", "planner.network.http",
            "planner.network.roads", "planner.driving",
            "planner.problem", "planner.eligibility", "planner.params", "planner._pricing", "planner._trips",
            "planner._routing", "planner._trains", "planner._full", "planner._pool", "planner._improve",
            "planner._cover", "planner._allocate", "planner._coaches", "planner._timing", "planner._schedule", "planner._chains",
            "planner._explain", "planner.report", "planner.rail", "planner.match", "planner.optimize")
OPTIMIZER_ALL = PIPELINE[PIPELINE.index("planner.network.roads"):]


def _module_path(name: str) -> Path:
    path = PLANNER.parent / name.replace(".", "/")
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


@pytest.mark.parametrize("name", PIPELINE)
def test_no_step_imports_a_later_step(name):
    """Each module of the optimiser imports only the pipeline's earlier steps."""
    later = PIPELINE[PIPELINE.index(name) + 1:]
    assert _hits(imported_modules(_module_path(name)), later) == set()


def test_every_checker_module_is_independent_of_the_optimizer():
    """check.py and each rule family under _check/ import none of the optimiser's modules."""
    paths = [PLANNER / "check.py"] + sorted((PLANNER / "_check").glob("*.py"))
    assert len(paths) > 5
    for path in paths:
        assert _hits(imported_modules(path), OPTIMIZER_ALL) == set(), path.name


def test_only_the_routing_module_imports_ortools():
    """Every OR-Tools model is built in planner/_routing.py: no other module (planner, api,
    benchmarks) imports ortools — but the exact benchmark's own model (benchmarks/exact.py), which
    measures the planner against an optimum and must share nothing with it."""
    root = PLANNER.parent
    sources = [p for d in ("planner", "api", "benchmarks") for p in (root / d).rglob("*.py")]
    users = {str(p.relative_to(root)) for p in sources if _hits(imported_modules(p), ("ortools",))}
    assert users == {"planner/_routing.py", "benchmarks/exact.py"}


NETWORK_IO = ("urllib", "http.client", "requests", "httpx", "aiohttp", "socket")


def test_only_the_network_layer_opens_urls():
    """Road servers are asked in planner/network/http.py alone: no other module of the planner
    or the service opens a URL (the service's own HTTP is FastAPI's)."""
    root = PLANNER.parent
    sources = [p for d in ("planner", "api") for p in (root / d).rglob("*.py")]
    users = {str(p.relative_to(root)) for p in sources if _hits(imported_modules(p), NETWORK_IO)}
    assert users == {"planner/network/http.py"}


def test_nothing_at_run_time_imports_cpca():
    """The county table ships with the planner (planner/data/divisions.csv): neither the planner
    nor the service imports ``cpca``; only the table's build script and the benchmark generator
    (its frozen ~2015 table) do."""
    root = PLANNER.parent
    sources = [p for d in ("planner", "api", "benchmarks", "tools") for p in (root / d).rglob("*.py")]
    users = {str(p.relative_to(root)) for p in sources if _hits(imported_modules(p), ("cpca",))}
    assert users and users <= {"tools/build_divisions.py", "benchmarks/generate.py", "benchmarks/map_data.py",
                               "benchmarks/rail_data.py"}


def test_the_console_calls_services_not_route_handlers():
    """The console (api/console*.py) and every service module of api/ call the same service
    functions as the JSON routes: none imports api.routes (only the app, api/main.py, mounts them)."""
    api = PLANNER.parent / "api"
    users = {p.name for p in api.glob("*.py") if _hits(imported_modules(p), ("api.routes",))}
    assert users == {"main.py"}
    assert sorted(p.name for p in api.glob("console*.py")) >= ["console.py", "console_regions.py"]


def test_route_scanner_sees_a_console_importing_a_handler():
    """The check above would catch a handler imported inside a function, relatively."""
    src = "def page():\n    from .routes.orders import list_orders\n"
    assert _hits(imports_in(src, "api"), ("api.routes",)) == {"api.routes.orders", "api.routes.orders.list_orders"}
