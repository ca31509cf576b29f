"""Home links (手机视频接访), as services: who issues them, what is stored, the SMS code, locks, expiry, replay."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from scheduling import home_join
from scheduling.errors import NotJoinable
from scheduling.policy import Policy
from tests.factories import SH, build_scene, extend_org
from vreception import clock
from vreception.auth.access import principal_for
from vreception.cases.identity import Protector
from vreception.errors import DomainError, Forbidden
from vreception.models import AuditEvent, Person
from vreception.models.home_join import HomeLink, HomeLinkState
from vreception.models.scheduling import Participant, ReceptionSession
from vreception.models.sms import SmsMessage
from vreception.sms.settings import SmsSettings

POLICY = Policy()
SECRET = "t" * 48
BASE = "https://xf.example.gov.cn"
START = datetime(2026, 3, 4, 9, 0, tzinfo=SH)  # build_scene's session (30 minutes)


@pytest.fixture
def scene(db, org, settings):
    extend_org(db, org)
    return build_scene(db, org, settings)


def sms() -> SmsSettings:
    return SmsSettings(_env_file=None)


def protector() -> Protector:
    return Protector(SECRET)


def seat(tx, scene, role="petitioner") -> Participant:
    booking = tx.get(ReceptionSession, scene.session)
    return next(p for p in booking.participants if p.role == role)


def issue(db, org, scene, who="coord_county", role="petitioner"):
    with db.transaction() as tx:
        booking = tx.get(ReceptionSession, scene.session)
        issued = home_join.issue_link(db=tx, policy=POLICY, protector=protector(), sms=sms(),
                                      principal=principal_for(tx.get(Person, org.people[who].id)), booking=booking,
                                      participant_id=seat(tx, scene, role).id, base_url=BASE)
        text = protector().decrypt(issued.message.text_cipher)
        return issued.link.id, issued.url, issued.message.text, text


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def open_(db, token, credential=None):
    with db.transaction() as tx:
        opened = home_join.open_link(db=tx, policy=POLICY, secret=SECRET, token=token, credential=credential)
        return opened.link.id, opened.bound


def send_code(db, token) -> str:
    """Send a code and read it from the SMS as it goes to the phone."""
    with db.transaction() as tx:
        opened = home_join.open_link(db=tx, policy=POLICY, secret=SECRET, token=token, credential=None)
        message = home_join.send_code(db=tx, policy=POLICY, secret=SECRET, protector=protector(), sms=sms(),
                                      opened=opened)
        sent = protector().decrypt(message.text_cipher)
        assert re.search(r"\d{6}", message.text) is None  # the matter page shows it masked
        return re.search(r"验证码为(\d{6})", sent).group(1)


def verify(db, token, code) -> str:
    """Check CODE as the page does: a refusal's writes (the failure count, the lock, the audit) are committed."""
    with db.transaction() as tx:
        opened = home_join.open_link(db=tx, policy=POLICY, secret=SECRET, token=token, credential=None)
        try:
            return home_join.verify_code(db=tx, secret=SECRET, opened=opened, code=code)
        except DomainError as error:
            refused = error
    raise refused


def refusal(db, token, credential=None) -> str:
    """The reason the link is refused (the refusal's audit committed, as the page commits it)."""
    with db.transaction() as tx:
        try:
            home_join.open_link(db=tx, policy=POLICY, secret=SECRET, token=token, credential=credential)
        except home_join.HomeRefused as refused:
            return refused.reason
    raise AssertionError("the link was not refused")


def actions(db) -> list[str]:
    with db.transaction() as tx:
        return [e.action for e in tx.scalars(select(AuditEvent).where(AuditEvent.action.like("home_join.%"))
                                             .order_by(AuditEvent.seq))]


def test_a_coordinator_sends_a_one_time_link_and_only_its_hash_is_kept(db, org, scene):
    clock.travel_to(START - timedelta(days=1))
    link_id, url, shown, sent = issue(db, org, scene)
    token = token_of(url)
    assert url == f"{BASE}/home/{token}" and len(token) >= 40
    assert url in sent and sent.startswith("【信访】张三您好") and token not in shown
    with db.transaction() as tx:
        link = tx.get(HomeLink, link_id)
        stored = [str(getattr(link, c.key)) for c in HomeLink.__table__.columns]
        assert not any(token in value for value in stored)
        assert link.token_hash == home_join.hash_token(token) and link.phone_tail == "8000"
        assert link.valid_from == START - POLICY.call_open_lead and link.valid_until == START + timedelta(minutes=30)
        message = tx.scalars(select(SmsMessage).where(SmsMessage.template == "home_link")).one()
        assert message.session_id == scene.session and message.matter_id == scene.matter
    assert actions(db) == ["home_join.issued"]
    # Before the call opens the link only says when it opens; nothing is refused or audited for it.
    assert refusal(db, token) == "not_open"


def test_only_a_coordinator_managing_the_session_issues_links(db, org, scene):
    clock.travel_to(START - timedelta(hours=1))
    for who in ("leader_county", "coord_county2", "handler", "room_township"):
        with pytest.raises(Forbidden):
            issue(db, org, scene, who=who)
    issue(db, org, scene, who="coord_city")  # over the county: manages the session too


def test_only_a_petitioner_side_seat_of_a_registered_phone_gets_a_link(db, org, scene):
    clock.travel_to(START - timedelta(hours=1))
    for role in ("leader", "room"):
        with pytest.raises(home_join.NotEligible):
            issue(db, org, scene, role=role)
    with db.transaction() as tx:
        seat(tx, scene).name = "李四"  # no petitioner of the matter by that name
    with pytest.raises(home_join.NotEligible):
        issue(db, org, scene)


def test_the_right_code_binds_the_link_to_one_browser_and_a_replay_is_refused(db, org, scene):
    clock.travel_to(START - timedelta(minutes=20))
    _, url, _, _ = issue(db, org, scene)
    token = token_of(url)
    code = send_code(db, token)
    credential = verify(db, token, code)
    assert open_(db, token, credential)[1] is True  # the same phone comes back to its call
    assert refusal(db, token) == "used"  # another browser with the same link
    with db.transaction() as tx:
        opened = home_join.seat_of(db=tx, policy=POLICY, secret=SECRET, session_id=scene.session, credential=credential)
        assert opened is not None and opened.participant.role == "petitioner"
        join, _ = home_join.join_token(db=tx, policy=POLICY, secret=SECRET, opened=opened)
        # The credential of this session's seat opens no other session.
        assert home_join.seat_of(db=tx, policy=POLICY, secret=SECRET, session_id=scene.session + 1,
                                 credential=credential) is None
    from vreception.auth import tokens

    claims = tokens.read(SECRET, join, purpose="join")
    assert (claims["session_id"], claims["participant_id"], claims["role"]) == (scene.session, opened.participant.id,
                                                                                "petitioner")
    assert actions(db) == ["home_join.issued", "home_join.opened", "home_join.code_sent", "home_join.verified",
                           "home_join.refused"]
    with db.transaction() as tx:
        assert home_join.join_modes([scene.session], db=tx) == {opened.participant.id: home_join.HOME_VERIFIED}
        booking = tx.get(ReceptionSession, scene.session)
        assert home_join.roster_labels(booking, db=tx) == {opened.participant.id: "在家接入 · 已短信验证"}


def test_five_wrong_codes_lock_the_link(db, org, scene):
    clock.travel_to(START - timedelta(minutes=20))
    _, url, _, _ = issue(db, org, scene)
    token = token_of(url)
    code = send_code(db, token)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for left in (4, 3, 2, 1):
        with pytest.raises(home_join.WrongCode) as caught:
            verify(db, token, wrong)
        assert caught.value.params["left"] == left
    with pytest.raises(home_join.HomeRefused) as locked:
        verify(db, token, wrong)
    assert locked.value.reason == "locked"
    # Locked for good: even the right code and a fresh one are refused.
    assert refusal(db, token) == "locked"
    with db.transaction() as tx:
        assert tx.get(HomeLink, 1).state is HomeLinkState.locked
    assert actions(db).count("home_join.locked") == 1


def test_codes_expire_after_ten_minutes_and_come_at_most_once_a_minute(db, org, scene):
    clock.travel_to(START - timedelta(minutes=25))
    _, url, _, _ = issue(db, org, scene)
    token = token_of(url)
    with pytest.raises(home_join.CodeExpired):  # no code sent yet
        verify(db, token, "123456")
    code = send_code(db, token)
    with pytest.raises(home_join.CodeTooSoon):
        send_code(db, token)
    clock.travel_to(START - timedelta(minutes=25) + home_join.CODE_TTL + timedelta(seconds=1))
    with pytest.raises(home_join.CodeExpired):
        verify(db, token, code)
    fresh = send_code(db, token)
    assert verify(db, token, fresh)


def test_a_link_expires_with_the_session_and_a_new_link_replaces_the_old(db, org, scene):
    clock.travel_to(START - timedelta(minutes=20))
    _, first_url, _, _ = issue(db, org, scene)
    _, second_url, _, _ = issue(db, org, scene)
    assert refusal(db, token_of(first_url)) == "revoked"
    assert open_(db, token_of(second_url))[1] is False
    clock.travel_to(START + timedelta(minutes=30))
    assert refusal(db, token_of(second_url)) == "expired"
    assert refusal(db, "no-such-token") == "unknown"
    with pytest.raises(NotJoinable):  # nobody issues a link for a session that is over
        issue(db, org, scene)
