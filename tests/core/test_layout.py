"""The layout rules of DESIGN.md: import direction, packages from this repository, wheel contents."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["vreception", "scheduling", "signaling", "recordings", "web"]
# Who may import whom; vreception.app and vreception.cli assemble the app and may import upward.
ALLOWED = {
    "vreception": {"vreception"},
    # scheduling names participants in the protocol's one role vocabulary (signaling depends on nothing).
    "scheduling": {"scheduling", "signaling", "vreception"},
    "signaling": {"signaling"},
    "recordings": {"recordings", "signaling", "vreception"},
    "web": {"web", "scheduling", "signaling", "recordings", "vreception"},
}
ASSEMBLERS = {ROOT / "vreception" / "app.py", ROOT / "vreception" / "cli.py"}
# signaling knows nothing of the database or aiortc.
FORBIDDEN_THIRD_PARTY = {"signaling": {"sqlalchemy", "aiortc", "av", "fastapi", "starlette", "alembic"}}


def _imports(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _imported_names(path)}


def _type_checking_only(tree: ast.AST) -> set[int]:
    """Ids of the import nodes under `if TYPE_CHECKING:` (they never run)."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(inner) for inner in ast.walk(node)}
    return skipped


def _imported_names(path: Path) -> set[str]:
    """Every dotted name the module imports at run time (module level or inside functions; relative ones resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_only(tree)
    package = list(path.relative_to(ROOT).parent.parts)
    names = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _graph() -> dict[str, set[str]]:
    """Module → the modules of this repository it imports (a name resolves to its longest module prefix)."""
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    return {
        module: {m for m in map(resolve, _imported_names(path)) if m and m != module}
        for module, path in modules.items()
    }


@pytest.mark.parametrize("package", PACKAGES)
def test_import_direction(package):
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        if path in ASSEMBLERS:
            continue
        imported = _imports(path)
        bad = (imported & set(PACKAGES)) - ALLOWED[package]
        bad |= imported & FORBIDDEN_THIRD_PARTY.get(package, set())
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)


def test_nothing_imports_web_outside_assemblers():
    for package in PACKAGES:
        if package == "web":
            continue
        for path in (ROOT / package).rglob("*.py"):
            if path not in ASSEMBLERS:
                assert "web" not in _imports(path), path


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_from_this_repository(package):
    module = importlib.import_module(package)
    assert Path(module.__file__).resolve().parent == ROOT / package


@pytest.mark.slow
def test_wheel_holds_exactly_the_five_packages(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    wheel = next(tmp_path.glob("vreception-*.whl"))
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist() if not name.startswith("vreception-")}
    assert tops == set(PACKAGES)
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith("migrations/versions/0001_organisation_people_audit.py") for n in names)
    assert any(n.endswith("i18n/core.zh_CN.json") for n in names)
    assert any(n.endswith("templates/login.html") for n in names)


def test_no_import_circles():
    graph, order, low, stack, on_stack, circles = _graph(), {}, {}, [], set(), []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for other in graph[module]:
            if other not in order:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], order[other])
        if low[module] == order[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in graph:
        if module not in order:
            visit(module)
    assert not circles, circles


def test_pages_never_import_the_api_nor_each_other():
    shared = {"web.pages.support", "web.pages.forms"}
    offenders = []
    for module, imported in _graph().items():
        if not module.startswith("web.pages."):
            continue
        bad = {m for m in imported if m.startswith("web.api") or (m.startswith("web.pages.") and m not in shared)}
        if bad and module not in shared:
            offenders.append(f"{module} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)


SQL_METHODS = {"scalars", "scalar", "execute", "query", "get"}
# The names a database handle goes by (a name or an attribute: `db`, `request.state.db`); not request.session.
DB_HANDLES = {"session", "db", "tx", "connection", "conn"}


def _db_handle(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name) and node.id in DB_HANDLES:
        return node.id
    if isinstance(node, ast.Attribute) and node.attr in DB_HANDLES and ast.unparse(node) != "request.session":
        return ast.unparse(node)
    return None


def test_pages_hold_no_sql():
    offenders = []
    for path in (ROOT / "web" / "pages").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                offenders.append(f"{path.name}:{node.lineno} imports {node.module}")
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SQL_METHODS
                and _db_handle(node.func.value)
            ):
                offenders.append(f"{path.name}:{node.lineno} calls {_db_handle(node.func.value)}.{node.func.attr}")
    assert not offenders, "\n".join(offenders)


def test_no_dependency_overrides():
    """The app never overrides a dependency: the test harness shares FastAPI's route builds between apps on it
    (tests/conftest.py _share_route_builds), which differ only by the app that would hold the overrides."""
    offenders = [f"{path.relative_to(ROOT)}" for package in PACKAGES for path in (ROOT / package).rglob("*.py")
                 if "dependency_overrides" in path.read_text(encoding="utf-8")]
    assert not offenders, offenders
