"""Schema fuzzing: every operation of `/openapi.json` under /api/v1, with bounded, reproducible examples, as a county
coordinator, as a room kiosk and signed out; no answer may be a 5xx, and every answer conforms to the schema: a
documented status, a documented media type, a body valid against its response model (web/openapi.conform).

The app is reached in-process (ASGI). Ids in paths, queries and bodies are half the time swapped for ids of real rows
of the role × route world (tests/factories.build_world), so the fuzzer gets past "not found" into the handlers; some
text ends with a NUL character. Runs on both databases; the cases are generated once per process and sent by every role on both (163 s for both at
load average 6, where generating per role and database took 264 s for SQLite alone)."""

from __future__ import annotations

import copy
import random
import traceback
import zlib

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core import NOT_SET
from schemathesis.errors import FailureGroup

from tests.factories import build_world, login

pytestmark = [
    pytest.mark.slow,
    # Heavy: kept on the worker of the other heavy tests, so it never runs alongside them.
    pytest.mark.xdist_group("media"),
    pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True),
]

ROLES = {"coordinator": "coord.county", "room": "room.township", "signed_out": None}
# Examples per operation, role and generation mode: bounded, not shrunk, and the same every run: each run of an
# operation is seeded from its label, role and mode (one seed for all would walk every operation the same way).
EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 3}
FUZZ = hypothesis_settings(deadline=None, derandomize=False, database=None, phases=[Phase.explicit, Phase.generate],
                           suppress_health_check=list(HealthCheck), print_blob=False)
# No 5xx, and every answer as documented: its status, its media type and its body's schema.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# These end or throttle sign-ins; they run last, so they cannot sign a role out before its other operations.
LAST = ("POST /api/v1/auth/logout", "POST /api/v1/auth/login")
# What a generated case is made of, kept as plain data so that another app's operation can send it again.
CASE_FIELDS = ("method", "path_parameters", "headers", "cookies", "query", "body", "media_type",
               "multipart_content_types")
_GENERATED: dict[tuple, list[dict]] = {}


@pytest.fixture
def settings(settings):
    """The test settings with the sign-in and public lookup limiters out of the fuzzer's way."""
    return settings.model_copy(update={"lookup_failures_allowed": 10**6, "login_failures_per_client": 10**6,
                                       "login_failures_before_lock": 10**6})


def real_ids(world, org) -> dict[str, list]:
    """Ids of real rows by the parameter names the API uses for them."""
    scene = world.scene
    people = [person.id for person in org.people.values()]
    return {
        "matter_id": [scene.matter], "session_id": [scene.session, world.finished], "task_id": [scene.task],
        "attachment_id": [scene.attachment], "document_id": [scene.document], "recording_id": [world.recording],
        "plan_id": [scene.plan], "person_id": people, "leader_id": [org.people["leader_county"].id],
        "leader_ids": [org.people["leader_county"].id], "room_id": [room.id for room in org.rooms.values()],
        "room_ids": [room.id for room in org.rooms.values()], "node_id": [node.id for node in org.nodes.values()],
        "origin_node_id": [org.nodes["township"].id], "handling_node_id": [org.nodes["county"].id],
        "unit_node_id": [org.nodes["county_dept"].id], "parent_id": [org.nodes["county"].id],
        "number": [scene.number], "code": [scene.code], "participant_id": list(world.seats.values()),
    }


def with_real_ids(case, ids: dict[str, list], rng: random.Random) -> None:
    """Swap some of CASE's ids for real ones, and end some of its text with a NUL (which PostgreSQL's driver refuses):
    path and query parameters, body fields (nested ones too)."""
    for container in (case.path_parameters, case.query, case.body):
        _swap(container, ids, rng)


def _swap(value, ids: dict[str, list], rng: random.Random) -> None:
    if isinstance(value, list):
        for item in value:
            _swap(item, ids, rng)
    elif isinstance(value, dict):
        for name in list(value):
            if name in ids and rng.random() < 0.5:
                real = rng.choice(ids[name])
                value[name] = [real] if name.endswith("_ids") else real
            elif isinstance(value[name], str) and rng.randrange(8) == 0:
                value[name] += "\x00"
            else:
                _swap(value[name], ids, rng)


def operations(schema):
    """Every operation under /api/v1, the sign-in ones last."""
    found = [result.ok() for result in schema.get_all_operations()]
    found = [op for op in found if op.path.startswith("/api/v1/")]
    return sorted(found, key=lambda op: LAST.index(op.label) + 1 if op.label in LAST else 0)


def generated(operation, *, mode, examples: int) -> list[dict]:
    """EXAMPLES cases of OPERATION in MODE as plain data, the same every run; made once per process and shared by the
    roles and both databases (generating them costs more than sending them)."""
    key = (operation.label, mode, examples)
    if key not in _GENERATED:
        cases: list[dict] = []

        @hypothesis_settings(FUZZ, max_examples=examples)
        @seed(zlib.crc32(f"{operation.label} {mode.value}".encode()))
        @given(case=operation.as_strategy(generation_mode=mode))
        def collect(case):
            cases.append(_copied({field: getattr(case, field) for field in CASE_FIELDS} | {"_meta": case._meta}))

        try:
            collect()
        except Unsatisfiable:  # nothing to make invalid (no parameters, no body): the negative mode has no cases
            assert mode is GenerationMode.NEGATIVE, operation.label
        _GENERATED[key] = cases
    return _GENERATED[key]


def _copied(data: dict) -> dict:
    """A deep copy that keeps schemathesis's NOT_SET sentinel the same object (it is compared with `is`)."""
    return copy.deepcopy(data, {id(NOT_SET): NOT_SET})


def fuzz(operation, *, mode, examples: int, role: str, headers: dict, ids: dict, failures: dict) -> None:
    """Send the generated cases of OPERATION as ROLE, some ids swapped for real ones (seeded by operation, mode, role
    and case); the first failure of each (operation, role, status) into FAILURES."""
    for index, data in enumerate(generated(operation, mode=mode, examples=examples)):
        case = operation.Case(**_copied(data))
        with_real_ids(case, ids, random.Random(zlib.crc32(f"{operation.label} {mode.value} {role} {index}".encode())))
        try:
            response = case.call(headers=headers)
        except Exception:  # the app raised past its handlers: a 500 to a real client
            failures.setdefault((operation.label, role, "raised"),
                                f"{case.as_curl_command(headers)}\n{traceback.format_exc()}")
            continue
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (AssertionError, FailureGroup) as exc:  # a check's failures come as a group
            failures.setdefault((operation.label, role, str(response.status_code)),
                                f"{case.as_curl_command(headers)}\n{response.content[:500]!r}\n{exc}")


def test_no_operation_answers_a_server_error(app, db, org, settings):
    world = build_world(db, org, settings)
    ids = real_ids(world, org)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: dict[tuple[str, str, str], str] = {}
    found = operations(schema)
    assert {"GET /api/v1/matters/{matter_id}", "POST /api/v1/sessions"} <= {op.label for op in found}
    for operation in found:
        for role, username in ROLES.items():
            # Signed in afresh for each operation: a fuzzed logout of an earlier one does not carry over.
            headers = login(TestClient(app), username) if username else {}
            for mode, examples in EXAMPLES.items():
                fuzz(operation, mode=mode, examples=examples, role=role, headers=headers, ids=ids, failures=failures)
    report = "\n\n".join(f"{label} as {role} ({status}):\n{detail}" for (label, role, status), detail in failures.items())
    assert not failures, f"{len(failures)} server errors or answers unlike the schema:\n\n{report}"
