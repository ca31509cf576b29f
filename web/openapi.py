"""OpenAPI descriptions of the error answers a route can give (the JSON body is always {"detail", "code"})."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

# The stable codes each status carries across the API (routes name the ones they give).
CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found, matter_not_found, task_not_found, recording_not_found, session_not_found, node_not_found",
    409: "conflict, illegal_transition, recording_state",
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
