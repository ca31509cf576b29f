"""signaling stays pure: no database, aiortc or web framework; Redis only in its bus module."""

from __future__ import annotations

import ast
from pathlib import Path

import signaling

PACKAGE = Path(signaling.__file__).parent
FORBIDDEN = {"sqlalchemy", "alembic", "aiortc", "av", "fastapi", "starlette", "uvicorn", "websockets", "vreception", "web", "recordings", "scheduling"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_signaling_is_this_repository():
    assert (PACKAGE / "rooms.py").is_file()


def test_signaling_imports_nothing_it_must_not_know():
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 8
    for module in modules:
        roots = imported_roots(module)
        assert not roots & FORBIDDEN, f"{module.name} imports {roots & FORBIDDEN}"
        if module.name != "redis_bus.py":
            assert "redis" not in roots, f"{module.name} imports redis"
