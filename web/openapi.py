"""OpenAPI descriptions of the error answers a route can give (the JSON body is always {"detail", "code"})."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

# The stable codes each status carries across the API (routes name the ones they give).
CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found, matter_not_found, task_not_found, recording_not_found, session_not_found, node_not_found",
    409: "conflict, illegal_transition, recording_state, not_joinable, session_not_open_yet",
    413: "too_large",
    415: "unsupported_type",
    416: "range_invalid",
    422: ("invalid, window_closed, level_skip, too_many_representatives, matter_not_bookable, outside_plan, "
          "legal_channel_booking, outside_leader_scope"),
    429: "rate_limited",
    503: "overloaded",
}


class ErrorOut(BaseModel):
    """An error: a stable machine code and a message in the caller's language."""

    detail: str
    code: str
    field: str | None = None


def responses(*statuses: int, **codes: str) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route: each status with the error model and the codes it may carry."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        out[status] = {"model": ErrorOut, "description": codes.get(f"s{status}", CODES.get(status, "error"))}
    return out


# Answers the app gives to any operation of a kind, whatever the route: from the framework and the middleware.
_BODY_ANSWERS = {400: "bad_request (a body that cannot be parsed)", 413: CODES[413]}
# A path ending in a file name extension answers that type on success.
_FILE_TYPES = {"pdf": "application/pdf", "html": "text/html", "ics": "text/calendar"}
_TIME_OF_DAY = {"type": "string", "format": "partial-time", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$",
                "description": "a local time of day, without an offset (09:00 or 09:00:00)"}


def conform(spec: dict[str, Any]) -> dict[str, Any]:
    """SPEC as the app really answers: every error as ErrorOut in JSON, the statuses any operation of its kind can
    give, times of day without an offset (JSON Schema's "time" demands one)."""
    error = {"schema": {"$ref": "#/components/schemas/ErrorOut"}}
    for path, operations in spec.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in operations.values():
            answers = operation.setdefault("responses", {})
            parameters = operation.get("parameters", [])
            body = "requestBody" in operation
            general: dict[int, str] = {503: CODES[503]}
            if body:
                general.update(_BODY_ANSWERS)
            if body or parameters:
                general[422] = CODES[422]
            if body or any(p.get("in") == "path" for p in parameters):
                general[404] = CODES[404]  # an id in the path or the body that names nothing
            for status, description in general.items():
                answers.setdefault(str(status), {"description": description})
            for status, answer in answers.items():
                if status.isdigit() and int(status) >= 400:
                    # Files (HTML, PDF) keep their own media type for success; their errors are JSON like any other.
                    answer["content"] = {"application/json": error}
            suffix = path.rpartition(".")[2]
            if suffix in _FILE_TYPES and set(answers.get("200", {}).get("content", {})) <= {"application/json"}:
                answers.setdefault("200", {"description": "Successful Response"})["content"] = {
                    _FILE_TYPES[suffix]: {"schema": {"type": "string", "format": "binary"}}}
    schemas = spec.get("components", {}).get("schemas", {})
    for generated in ("HTTPValidationError", "ValidationError"):
        schemas.pop(generated, None)
    _times_of_day(spec)
    return spec


def _times_of_day(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("format") == "time":
            node.update(_TIME_OF_DAY)
        for value in node.values():
            _times_of_day(value)
    elif isinstance(node, list):
        for value in node:
            _times_of_day(value)


def install(app: FastAPI) -> None:
    """Serve APP's OpenAPI schema as conform() makes it (FastAPI builds it once per set of routes)."""
    generate = app.openapi
    conformed: set[int] = set()

    def openapi() -> dict[str, Any]:
        spec = generate()
        if id(spec) not in conformed:
            conform(spec)
            conformed.add(id(spec))
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
