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
    "scheduling": {"scheduling", "vreception"},
    "signaling": {"signaling"},
    "recordings": {"recordings", "signaling", "vreception"},
    "web": {"web", "scheduling", "signaling", "recordings", "vreception"},
}
ASSEMBLERS = {ROOT / "vreception" / "app.py", ROOT / "vreception" / "cli.py"}
# signaling knows nothing of the database or aiortc.
FORBIDDEN_THIRD_PARTY = {"signaling": {"sqlalchemy", "aiortc", "av", "fastapi", "starlette", "alembic"}}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


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
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True)
    wheel = next(tmp_path.glob("vreception-*.whl"))
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist() if not name.startswith("vreception-")}
    assert tops == set(PACKAGES)
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith("migrations/versions/0001_organisation_people_audit.py") for n in names)
    assert any(n.endswith("i18n/core.zh_CN.json") for n in names)
    assert any(n.endswith("templates/login.html") for n in names)
