"""DESIGN.md's convention: a service function takes the database handle `db` keyword-only."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["vreception", "scheduling", "signaling", "recordings"]
# FastAPI passes a route handler's parameters by name, so their order is free.
ROUTE_VERBS = {"get", "post", "put", "patch", "delete", "head", "options", "trace", "websocket", "api_route",
               "route", "websocket_route", "api_websocket_route"}
# Called positionally by code that is not ours to change; each with its reason.
CALLED_POSITIONALLY = {
    # SQLAlchemy calls an after_flush listener as listener(session, flush_context).
    "vreception.models.figures._after_flush",
    # The job loop calls each job as job(db, settings, at) (vreception.jobs.Job); db is a Database there.
    "vreception.jobs.task_notices", "vreception.jobs.deadline_notices", "vreception.jobs.email_outbox",
    "vreception.jobs.sms_outbox", "vreception.jobs.audit_checkpoint", "vreception.jobs.month_end_figures",
    "scheduling.jobs.session_reminders", "scheduling.jobs.no_shows", "scheduling.jobs.month_end_sessions",
}


def _is_route(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ROUTE_VERBS
               for d in node.decorator_list)


def _positional_db(path: Path, module: str, root: Path = ROOT) -> list[str]:
    """The functions of PATH (qualified as module.Class.f or module.f.<locals>.g) that take db positionally."""
    found: list[str] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                positional = [a.arg for a in child.args.posonlyargs + child.args.args]
                if "db" in positional and not _is_route(child) and name not in CALLED_POSITIONALLY:
                    found.append(f"{path.relative_to(root)}:{child.lineno} {name}")
                walk(child, name + ".<locals>.")
            elif isinstance(child, ast.ClassDef):
                walk(child, prefix + child.name + ".")
            else:
                walk(child, prefix)

    walk(ast.parse(path.read_text(encoding="utf-8"), str(path)), module + ".")
    return found


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_services_take_db_keyword_only():
    offenders = [line for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
                 for line in _positional_db(path, _module(path))]
    assert not offenders, ("these take `db` positionally; make it keyword-only (`def f(a, *, db: Session)`), "
                           "e.g. with /work/helpers/kwonly.py:\n" + "\n".join(offenders))


def test_the_check_names_positional_db_and_spares_routes_and_keyword_only(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "def bad(db, x): ...\n"
        "def good(x, *, db): ...\n"
        "class C:\n    def m(self, db): ...\n    def k(self, *, db): ...\n"
        "def outer(*, db):\n    def inner(x, db): ...\n"
        "@router.get('/x')\ndef route(db): ...\n", encoding="utf-8")
    assert _positional_db(probe, "probe", tmp_path) == ["probe.py:1 probe.bad", "probe.py:4 probe.C.m",
                                                        "probe.py:7 probe.outer.<locals>.inner"]
