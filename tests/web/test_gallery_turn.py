"""The public gallery's seat answer carries the seat's own TURN credentials, as the call page's token answer does: a
viewer behind a strict firewall receives the hearing through the relay."""

from __future__ import annotations

import time

import pytest

from tests.factories import app_settings
from tests.web import test_gallery
from tests.web.test_gallery import KEY, _client, _seat
from vreception import turn

# The gallery tests' fixtures: the app with the gallery's routes, and a public hearing that can take viewers.
gallery_app = test_gallery.gallery_app
hearing = test_gallery.hearing

TURN_SECRET = "gallery-relay-" + "5e1f0c2a9b7d4e63"
STUN = {"urls": ["stun:10.0.0.9:3478"]}
RELAY_URL = "turn:10.0.0.9:3478?transport=udp"


@pytest.fixture
def settings(db, tmp_path):
    """The app's settings with a STUN server and the TURN relay configured."""
    return app_settings(db, tmp_path / "var").model_copy(update={
        "ice_servers": [STUN], "turn_urls": [RELAY_URL], "turn_secret": TURN_SECRET, "turn_ttl_seconds": 3600})


def _relay(servers: list[dict]) -> dict:
    (relay,) = [s for s in servers if s["urls"] == [RELAY_URL]]
    return relay


def test_each_gallery_seat_gets_its_own_time_limited_turn_credentials(gallery_app, hearing):
    started = int(time.time())
    with _client(gallery_app) as first, _client(gallery_app) as second:
        answer = _seat(first)
        other = _seat(second)
        assert answer.status_code == 200 and other.status_code == 200, (answer.text, other.text)
        body = answer.json()
        # the configured servers first, then the relay with this seat's credentials
        assert body["ice_servers"][0] == STUN
        relay = _relay(body["ice_servers"])
        expires, who = relay["username"].split(":")
        assert who == str(body["participant_id"]) and started + 3600 <= int(expires) <= int(time.time()) + 3600
        assert relay["credential"] == turn.credential(TURN_SECRET, relay["username"])
        # another viewer's seat, other credentials
        assert _relay(other.json()["ice_servers"])["username"].endswith(f":{other.json()['participant_id']}")
        assert _relay(other.json()["ice_servers"])["credential"] != relay["credential"]
        # a reload keeps the seat and gets credentials for it again
        again = _seat(first, seat=body["seat"])
        assert again.json()["participant_id"] == body["participant_id"]
        assert _relay(again.json()["ice_servers"])["username"].endswith(f":{body['participant_id']}")
        # the secret reaches no page and no answer; the page itself holds no relay credentials
        page = first.get(f"/gallery/{KEY}")
        for text in (page.text, answer.text, other.text, again.text):
            assert TURN_SECRET not in text
        assert RELAY_URL not in page.text


def test_without_a_relay_the_seat_answer_has_only_the_configured_servers(gallery_app, hearing, settings):
    gallery_app.state.settings = settings.model_copy(update={"turn_urls": [], "turn_secret": ""})
    with _client(gallery_app) as client:
        answer = _seat(client)
    assert answer.status_code == 200, answer.text
    assert answer.json()["ice_servers"] == [STUN]
