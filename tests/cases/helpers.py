"""Helpers for matter tests: valid ID numbers, Shanghai times, registering through the API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.conftest import login
from vreception import clock
from vreception.cases.identity import check_digit

SH = ZoneInfo("Asia/Shanghai")


def id_number(serial: int, birth: str = "19700101") -> str:
    """A valid 18-digit ID number (region 580102) with its check digit."""
    first17 = f"580102{birth}{serial % 1000:03d}"
    return first17 + check_digit(first17)


def at(year, month, day, hour=10, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def travel(year, month, day, hour=10, minute=0) -> datetime:
    moment = at(year, month, day, hour, minute)
    clock.travel_to(moment)
    return moment


class FreshHeaders(Mapping):
    """Authorization headers that sign in again once the (travelling) clock has moved an hour on."""

    def __init__(self, client, username: str):
        self.client, self.username = client, username
        self._headers, self._when = {}, None

    def _fresh(self) -> dict:
        moment = clock.now()
        if self._when is None or not timedelta(0) <= moment - self._when < timedelta(hours=1):
            self._headers, self._when = login(self.client, self.username), moment
        return self._headers

    def __getitem__(self, key):
        return self._fresh()[key]

    def __iter__(self):
        return iter(self._fresh())

    def __len__(self):
        return len(self._fresh())


def matter_body(org, *, serial=1, summary="村里拖欠三个月工资，请求督促支付", category="wages", name="张三", **extra):
    body = {
        "petitioners": [{"name": name, "id_number": id_number(serial), "phone": "13800138000"}],
        "origin_node_id": org.nodes["township"].id, "handling_node_id": org.nodes["county"].id,
        "demands": [{"summary": summary, "category": category}], "channel": "video",
    }
    body.update(extra)
    return body


def register(client, org, headers=None, **kw):
    headers = headers or FreshHeaders(client, "coord.county")
    response = client.post("/api/v1/matters", headers=headers, json=matter_body(org, **kw))
    assert response.status_code == 201, response.text
    return response.json(), headers


def act(client, headers, matter_id, action, expect=200, **params):
    response = client.post(f"/api/v1/matters/{matter_id}/actions", headers=headers, json={"action": action, **params})
    assert response.status_code == expect, response.text
    return response.json()
