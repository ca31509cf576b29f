"""Every message key the templates and the code use is in both catalogs; dynamic keys enumerated from their enums."""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

import vreception.i18n as i18n

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("vreception", "web", "scheduling", "recordings", "signaling")
TEMPLATES = ROOT / "web" / "templates"
KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_:]+)+$")
# Dotted strings in code with a catalog namespace that are not messages (with what they are instead).
NOT_KEYS = {
    "session.reminder": "a notification kind (scheduling/jobs.py)",
    "call.evidence_shown": "an audit action of the call, read into the recording's manifest (recordings/service.py)",
    "call.evidence_ended": "an audit action of the call, read into the recording's manifest (recordings/service.py)",
    "call.evidence_prepared": "an audit action: an item prepared for showing in a call (vreception/evidence)",
    "call.screen_share_started": "an audit action of the call, read into the recording's manifest (recordings/service.py)",
    "call.screen_share_ended": "an audit action of the call, read into the recording's manifest (recordings/service.py)",
    "hearing.member": "the demo's hearing member's username (vreception/demo.py)",
    "hearing.chair": "a demo username (vreception/demo.py)",
    "hearing.clerk": "a demo username (vreception/demo.py)",
    "hearing.member2": "a demo username (vreception/demo.py)",
    "hearing.member3": "a demo username (vreception/demo.py)",
    "hearing.noticed": "an audit action: a hearing's notices were issued, read back for its documents "
                       "(vreception/hearings/queries.py)",
}
# Keyword arguments whose dotted values name things other than messages (audit actions, entity types, kinds).
NOT_KEY_KEYWORDS = {"action", "entity_type", "kind"}
FILE_SUFFIX = re.compile(r"\.(html|json|js|css|pdf|ics|txt|py|webm|mp4|ogg|wav)$")


def _catalog(suffix: str) -> dict[str, str]:
    messages: dict[str, str] = {}
    for path in sorted(Path(i18n.__file__).parent.glob(f"*.{suffix}.json")):
        messages.update(json.loads(path.read_text(encoding="utf-8")))
    return messages


ZH, EN = _catalog("zh_CN"), _catalog("en")
NAMESPACES = {key.split(".")[0] for key in ZH} | {key.split(".")[0] for key in EN}


def _python_files() -> Iterable[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def python_keys() -> tuple[dict[str, str], dict[str, str]]:
    """Literal keys and f-string key prefixes in the code, each with one place it occurs."""
    literal: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped: set[int] = set()
        for node in ast.walk(tree):
            # audit.record(action="session.join_token") names no message; Msg(f"action.{a}") as a value does
            if isinstance(node, ast.keyword) and node.arg in NOT_KEY_KEYWORDS \
                    and isinstance(node.value, (ast.Constant, ast.JoinedStr)):
                skipped.update(id(n) for n in ast.walk(node.value))
            if isinstance(node, ast.JoinedStr):
                skipped.update(id(v) for v in node.values)
                first = node.values[0] if node.values else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str) and id(node) not in skipped:
                    text = first.value
                    if text.endswith(".") and text.split(".")[0] in NAMESPACES and KEY.match(text + "x"):
                        prefixes.setdefault(text, _where(path, node.lineno))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in skipped:
                continue
            text = node.value
            if KEY.match(text) and text.split(".")[0] in NAMESPACES and not FILE_SUFFIX.search(text) \
                    and text not in NOT_KEYS:
                literal.setdefault(text, _where(path, node.lineno))
    return literal, prefixes


_QUOTED = re.compile(r"(['\"])([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+\.?)\1")


def template_keys() -> tuple[dict[str, str], dict[str, str]]:
    """Literal keys and 'prefix.' ~ value key prefixes in the templates, each with one place it occurs."""
    literal: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = _where(path, number)
            for match in _QUOTED.finditer(line):
                text = match.group(2)
                if text.split(".")[0] not in NAMESPACES or FILE_SUFFIX.search(text):
                    continue
                rest = line[match.end():].lstrip()
                if text.endswith(".") and rest.startswith("~"):
                    prefixes.setdefault(text, where)
                elif not text.endswith("."):
                    literal.setdefault(text, where)
    return literal, prefixes


def _values(enum) -> list[str]:
    return [member.value for member in enum]


def _import(name: str):
    return importlib.import_module(name)


def _matter_states():
    return _values(_import("vreception.models").MatterState)


def _session_states():
    return _values(_import("vreception.models.scheduling").SessionState)


def _session_events():
    state = _import("scheduling.session_state")
    states = _import("vreception.models.scheduling").SessionState
    entered = [s for s in states if s is not states.booked]
    return ["booked", "rescheduled"] + [state.history_action(s) for s in entered]


def _task_actions():
    return list(_import("vreception.tasks").TRANSITIONS)


def _rate_counts():
    rates = _import("vreception.cases.rates")
    source = Path(rates.__file__).read_text(encoding="utf-8")
    return sorted(set(re.findall(r"counts\[\"(\w+)\"\]", source)) | set(_import("vreception.cases.public").RATINGS))


# Each key prefix built at run time ('prefix.' ~ value in templates, f"prefix.{value}" in code) → its values.
# A new dynamic prefix fails test_every_dynamic_prefix_is_enumerated until it is listed here.
DYNAMIC: dict[str, Callable[[], Iterable[str]]] = {
    "error.": lambda: [cls.code for cls in _domain_errors()],  # DomainError's default key, error.<code>
    "action.": lambda: list(_import("vreception.cases.actions").ACTIONS)
    + list(_import("vreception.cases.actions").HEARING_ACTIONS),
    "hearing.state.": lambda: _values(_import("vreception.models.hearings").HearingState),
    "state.": _matter_states,
    "task_state.": lambda: _values(_import("vreception.models").TaskState),
    "task_action.": _task_actions,
    "deadline.": lambda: list(_import("vreception.cases.deadlines").RULES),
    "level.": lambda: _values(_import("vreception.models.org").NodeLevel),
    "role.": lambda: _values(_import("vreception.models").Role),
    "weekday.": lambda: [str(day) for day in range(7)],
    "session.kind.": lambda: _values(_import("vreception.models.scheduling").SessionKind),
    "session.state.": _session_states,
    "call.state.": _session_states,
    "pages.session.event.": _session_events,
    "pages.channel.": lambda: _values(_import("vreception.models").Channel),
    "pages.deadline.": lambda: _values(_import("vreception.models.cases").DeadlineState),
    "pages.legal.": lambda: list(_import("vreception.cases.actions").LEGAL_CHANNEL_TEXT),
    "pages.outcome.": lambda: list(_import("vreception.cases.actions").REPLY_OUTCOMES),
    "pages.rating.": lambda: list(_import("vreception.cases.public").RATINGS),
    "pages.participant.": lambda: list(_import("scheduling.booking").PARTICIPANT_ROLES) + ["leader", "room"],
    "pages.plans.kind.": lambda: _values(_import("vreception.models.scheduling").PlanKind),
    "pages.recording.": lambda: _values(_import("vreception.models.recordings").RecordingState),
    "pages.rate.": lambda: list(_import("web.pages.dashboard").FIGURES),
    "pages.count.": _rate_counts,
    # The timeline names task events and registration/rating here; other events go through action.*.
    "pages.timeline.": lambda: ["register", "rate", "task.assigned"] + [f"task.{a}" for a in _task_actions()],
    "home_join.mode.": lambda: [_import("scheduling.home_join").HOME, _import("scheduling.home_join").HOME_VERIFIED],
    "home_join.refused.": lambda: list(_import("scheduling.home_join").HomeRefused.STATUS),
}


def _domain_errors() -> list[type]:
    """Every DomainError subclass in the packages (each may be raised without a key: error.<code>)."""
    from vreception.errors import DomainError

    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            if ".migrations." in info.name or info.name.endswith(".__main__"):
                continue
            importlib.import_module(info.name)
    seen, todo = [], [DomainError]
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return [cls for cls in seen if cls.__module__.split(".")[0] in PACKAGES]


def _missing(keys: dict[str, str]) -> list[str]:
    return sorted(f"{key} ({where}): {'zh_CN' if key not in ZH else ''} {'en' if key not in EN else ''}".strip()
                  for key, where in keys.items() if key not in ZH or key not in EN)


def test_both_catalogs_have_the_same_keys():
    assert sorted(set(ZH) - set(EN)) == [] and sorted(set(EN) - set(ZH)) == []


def test_every_key_in_the_templates_exists_in_both_catalogs():
    literal, _ = template_keys()
    assert len(literal) > 100  # the scan found the templates' keys
    assert _missing(literal) == []


def test_every_key_in_the_code_exists_in_both_catalogs():
    literal, _ = python_keys()
    assert "error.forbidden" in literal or "error.not_found" in literal  # the scan found the code's keys
    assert _missing(literal) == []


def test_the_call_page_messages_exist():
    calls = _import("web.pages.calls")
    assert _missing({key: "web/pages/calls.py CALL_MESSAGES" for key in calls.CALL_MESSAGES}) == []


def test_the_navigation_keys_exist():
    support = _import("web.pages.support")
    keys = {key: "web/pages/support.py NAV" for items in support.NAV.values() for _, key in items}
    assert _missing(keys) == []


def test_every_error_class_is_found():
    assert len(_domain_errors()) > 10


def test_every_dynamic_prefix_is_enumerated():
    used = {**python_keys()[1], **template_keys()[1]}
    assert sorted(f"{prefix} ({where})" for prefix, where in used.items() if prefix not in DYNAMIC) == []


@pytest.mark.parametrize("prefix", sorted(DYNAMIC))
def test_every_value_of_a_dynamic_key_exists(prefix):
    values = list(DYNAMIC[prefix]())
    assert values, prefix
    assert _missing({f"{prefix}{value}": "enumerated" for value in values}) == []
