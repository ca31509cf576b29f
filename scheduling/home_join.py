"""Joining a session from one's own phone (手机视频接访): the one-time SMS link, the SMS code, the seat it opens.

A coordinator who manages the session issues a link for one petitioner-side seat; it goes by SMS to the number the
petitioner registered. Opening it asks for a 6-digit code sent to that number; the right code binds the link to that
one browser (a signed credential in a cookie whose key only the database knows by its hash) and the browser then
asks join tokens for that seat like any other page. Only hashes of the link token, the code and the browser key are
stored. Every issue, open, code, verification and refusal is audited on the session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduling.access import can_manage
from scheduling.errors import NotJoinable
from scheduling.join import opens_at, require_open, sign_join_token
from scheduling.policy import Policy
from scheduling.states import JOINABLE
from signaling.roles import PETITIONER_SIDE
from vreception import audit
from vreception.auth import tokens
from vreception.auth.access import Principal
from vreception.cases.identity import Protector
from vreception.clock import now
from vreception.errors import DomainError, Forbidden, Invalid, NotFound, Unauthenticated
from vreception.i18n import DEFAULT_LANGUAGE, Msg, translate
from vreception.models import Matter, Petitioner
from vreception.models.home_join import ACTIVE_STATES, HomeLink, HomeLinkState
from vreception.models.scheduling import Participant, ReceptionSession
from vreception.models.sms import SmsMessage
from vreception.sms import outbox
from vreception.sms.codes import CODE_MINUTES, CODE_TTL, new_code, typed
from vreception.sms.settings import SmsSettings
from vreception.sms.texts import mobile_number

# The seats a link may be issued for: the petitioner's side, one person each (a room joins by its kiosk).
ELIGIBLE_ROLES = frozenset(PETITIONER_SIDE - {"room"})
MAX_FAILURES = 5  # wrong codes over the link's life, then it is locked
MAX_CODES = 5  # codes sent for one link
RESEND_AFTER = timedelta(seconds=60)
CREDENTIAL_PURPOSE = "home_call"
# The cookie that keeps the credential, sent only to the session's call page (/calls/{id}) and its token route.
COOKIE = "vr_home"
# The templates in the SMS outbox (their texts: vreception.sms.texts.KEYS).
LINK_TEMPLATE, CODE_TEMPLATE = "home_link", "home_code"


class HomeRefused(DomainError):
    """The link cannot be used: unknown, expired, replaced, locked, or already used from another browser."""

    code = "home_link_refused"
    status = 403
    STATUS = {"unknown": 404, "expired": 410, "revoked": 410, "locked": 403, "used": 403, "not_open": 409}

    def __init__(self, reason: str, **params: Any) -> None:
        super().__init__(f"home_join.refused.{reason}", **params)
        self.reason = reason
        self.status = self.STATUS.get(reason, 403)


class WrongCode(DomainError):
    """The SMS code does not match (the page says how many tries are left)."""

    code = "home_code_wrong"
    status = 422


class CodeExpired(DomainError):
    """No code was sent yet, or the last one is older than CODE_TTL."""

    code = "home_code_expired"
    status = 422


class CodeTooSoon(DomainError):
    """A new code was asked too soon after the last one, or too many were sent."""

    code = "rate_limited"
    status = 429


class NotEligible(Invalid):
    """A link only for a petitioner-side seat of a person with a registered mobile number."""

    code = "home_seat_not_eligible"


@dataclass(frozen=True)
class IssuedLink:
    link: HomeLink
    url: str
    message: SmsMessage


@dataclass(frozen=True)
class Opened:
    """A usable link and whether this browser already passed its code."""

    link: HomeLink
    booking: ReceptionSession
    participant: Participant
    bound: bool


def hash_token(token: str) -> str:
    """What is stored of a link token (256 random bits: a plain hash is enough)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _code_hash(secret: str, link: HomeLink, code: str) -> str:
    # Keyed and bound to the link: a stolen table does not give the 10^6 codes' hashes away.
    return hmac.new(secret.encode(), f"home-code:{link.id}:{code}".encode(), "sha256").hexdigest()


def _audit(link: HomeLink, action: str, actor_id: int | None = None, *, db: Session, **data: Any) -> None:
    audit.record(db=db, action=f"home_join.{action}", entity_type="session", entity_id=link.session_id,
                 actor_id=actor_id, data={"link_id": link.id, "participant_id": link.participant_id, **data})


# ---- who may issue --------------------------------------------------------------------------------------------------

def require_issuer(principal: Principal, booking: ReceptionSession) -> None:
    """Only a coordinator managing the session lets somebody join it from home."""
    if not can_manage(principal, booking):
        raise Forbidden()


# ---- the SMS -------------------------------------------------------------------------------------------------------

def _sms(*, db: Session, home: HomeLink, booking: ReceptionSession, template: str, protector: Protector,
         sms: SmsSettings, actor_id: int | None, **params: Any) -> SmsMessage:
    """Queue one of this module's templates in the outbox; its code or URL is shown masked."""
    return outbox.queue(db=db, template=template, phone_cipher=home.phone_cipher, phone_tail=home.phone_tail,
                        settings=sms, matter_id=booking.matter_id, session_id=booking.id,
                        petitioner_id=home.petitioner_id, protector=protector, actor_id=actor_id, **params)


def _local(policy: Policy, moment: datetime) -> str:
    local = moment.astimezone(policy.zone)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


# ---- issuing a link -------------------------------------------------------------------------------------------------

def _seat(booking: ReceptionSession, participant_id: int) -> Participant:
    participant = next((p for p in booking.participants if p.id == participant_id), None)
    if participant is None:
        raise NotFound("error.participant_not_found", field="participant_id", id=participant_id)
    if participant.role not in ELIGIBLE_ROLES or participant.room_id is not None or participant.person_id is not None:
        raise NotEligible("home_join.error.not_eligible", field="participant_id",
                          role=Msg(f"pages.participant.{participant.role}"))
    return participant


def _petitioner(booking: ReceptionSession, participant: Participant, petitioner_id: int | None,
                *, db: Session) -> Petitioner:
    """The petitioner record whose registered phone the seat's codes go to: the one named, else the one of the same
    name, among the session's matter's petitioners."""
    matter = db.get(Matter, booking.matter_id) if booking.matter_id is not None else None
    people = [link.petitioner for link in matter.petitioner_links] if matter is not None else []
    if petitioner_id is not None:
        chosen = [p for p in people if p.id == petitioner_id]
    else:
        chosen = [p for p in people if p.name == participant.name]
    if len(chosen) != 1:
        raise NotEligible("home_join.error.no_petitioner", field="petitioner_id", name=participant.name)
    return chosen[0]


def issue_link(*, db: Session, policy: Policy, protector: Protector, sms: SmsSettings, principal: Principal,
               booking: ReceptionSession, participant_id: int, petitioner_id: int | None = None,
               base_url: str) -> IssuedLink:
    """A fresh one-time link for one petitioner-side seat, sent by SMS to the petitioner's registered number; any
    earlier link of that seat stops working."""
    require_issuer(principal, booking)
    if booking.state not in JOINABLE or now() >= booking.ends_at:
        raise NotJoinable("error.not_joinable", field="session_id", state=Msg(f"session.state.{booking.state.value}"))
    participant = _seat(booking, participant_id)
    petitioner = _petitioner(booking, participant, petitioner_id, db=db)
    phone = mobile_number(protector.decrypt(petitioner.phone_cipher)) if petitioner.phone_cipher else None
    if phone is None:
        raise NotEligible("home_join.error.no_phone", field="petitioner_id", name=petitioner.name)
    for old in db.scalars(select(HomeLink).where(HomeLink.participant_id == participant.id,
                                                 HomeLink.state.in_(ACTIVE_STATES))):
        old.state = HomeLinkState.revoked
        _audit(old, "revoked", principal.person_id, db=db, reason="replaced")
    token = secrets.token_urlsafe(32)
    link = HomeLink(session_id=booking.id, participant_id=participant.id, petitioner_id=petitioner.id,
                    token_hash=hash_token(token), phone_cipher=protector.encrypt(phone), phone_tail=phone[-4:],
                    state=HomeLinkState.issued, valid_from=opens_at(policy, booking), valid_until=booking.ends_at,
                    codes_sent=0, failures=0, code_hash="", browser_hash="", issued_by=principal.person_id,
                    issued_at=now())
    db.add(link)
    db.flush()
    url = f"{base_url.rstrip('/')}/home/{token}"
    message = _sms(db=db, home=link, booking=booking, template=LINK_TEMPLATE, protector=protector,
                   sms=sms, actor_id=principal.person_id, name=participant.name, when=_local(policy, booking.starts_at),
                   link=url, minutes=int(policy.call_open_lead.total_seconds() // 60))
    _audit(link, "issued", principal.person_id, db=db, role=participant.role, phone_tail=link.phone_tail,
           sms_id=message.id, valid_from=link.valid_from.isoformat(), valid_until=link.valid_until.isoformat())
    return IssuedLink(link, url, message)


# ---- opening it -----------------------------------------------------------------------------------------------------

def find(token: str, *, db: Session) -> HomeLink | None:
    """The link of TOKEN, or None."""
    if not token or len(token) > 200:
        return None
    return db.scalars(select(HomeLink).where(HomeLink.token_hash == hash_token(token))).first()


def _refuse(link: HomeLink, reason: str, *, db: Session, **params: Any) -> HomeRefused:
    _audit(link, "refused", db=db, reason=reason)
    return HomeRefused(reason, **params)


def _usable(policy: Policy, link: HomeLink, *, db: Session) -> tuple[ReceptionSession, Participant]:
    """The session and seat of LINK while it may be used; HomeRefused (audited) otherwise."""
    booking = db.get(ReceptionSession, link.session_id)
    participant = db.get(Participant, link.participant_id)
    assert booking is not None and participant is not None  # foreign keys of the link
    if link.state is HomeLinkState.revoked:
        raise _refuse(link, "revoked", db=db)
    if link.state is HomeLinkState.locked:
        raise _refuse(link, "locked", db=db)
    at = now()
    if at >= link.valid_until or booking.state not in JOINABLE:
        raise _refuse(link, "expired", db=db)
    if at < link.valid_from:
        raise HomeRefused("not_open", opens=_local(policy, link.valid_from),
                          minutes=int(policy.call_open_lead.total_seconds() // 60))
    return booking, participant


def bound_to(secret: str, link: HomeLink, credential: str | None) -> bool:
    """Whether CREDENTIAL (the browser's cookie) is the one LINK was verified in."""
    if not credential or link.state is not HomeLinkState.verified or not link.browser_hash:
        return False
    try:
        claims = tokens.read(secret, credential, purpose=CREDENTIAL_PURPOSE)
    except Unauthenticated:
        return False
    key = str(claims.get("key", ""))
    return claims.get("link_id") == link.id and hmac.compare_digest(hash_token(key), link.browser_hash)


def open_link(*, db: Session, policy: Policy, secret: str, token: str, credential: str | None) -> Opened:
    """The link of TOKEN for the page: usable, and whether this browser passed its code already. A link passed in
    another browser is refused (a replayed or forwarded link); every refusal is audited."""
    link = find(token, db=db)
    if link is None:
        raise HomeRefused("unknown")
    booking, participant = _usable(policy, link, db=db)
    bound = bound_to(secret, link, credential)
    if link.state is HomeLinkState.verified and not bound:
        raise _refuse(link, "used", db=db)
    if link.opened_at is None:
        link.opened_at = now()
        _audit(link, "opened", db=db)
    return Opened(link, booking, participant, bound)


def send_code(*, db: Session, policy: Policy, secret: str, protector: Protector, sms: SmsSettings,
              opened: Opened) -> SmsMessage:
    """A fresh 6-digit code to the registered number (at most one a minute, MAX_CODES per link)."""
    link = opened.link
    if link.state is not HomeLinkState.issued:
        raise _refuse(link, "used", db=db)
    at = now()
    if link.codes_sent >= MAX_CODES or (link.code_sent_at is not None and at - link.code_sent_at < RESEND_AFTER):
        wait = 0 if link.code_sent_at is None else int((RESEND_AFTER - (at - link.code_sent_at)).total_seconds()) + 1
        raise CodeTooSoon("home_join.error.code_too_soon" if link.codes_sent < MAX_CODES
                          else "home_join.error.codes_used_up", seconds=max(wait, 1))
    code = new_code()
    link.code_hash, link.code_expires_at, link.code_sent_at = _code_hash(secret, link, code), at + CODE_TTL, at
    link.codes_sent += 1
    message = _sms(db=db, home=link, booking=opened.booking, template=CODE_TEMPLATE,
                   protector=protector, sms=sms, actor_id=None, code=code,
                   minutes=CODE_MINUTES)
    _audit(link, "code_sent", db=db, sms_id=message.id, codes_sent=link.codes_sent, phone_tail=link.phone_tail)
    return message


def verify_code(*, db: Session, secret: str, opened: Opened, code: str) -> str:
    """Check CODE; the right one binds the link to this browser and returns the credential its cookie keeps. A wrong
    one counts (MAX_FAILURES, then the link is locked)."""
    link = opened.link
    if link.state is not HomeLinkState.issued:
        raise _refuse(link, "used", db=db)
    at = now()
    if not link.code_hash or link.code_expires_at is None or at >= link.code_expires_at:
        _audit(link, "refused", db=db, reason="code_expired")
        raise CodeExpired("home_join.error.code_expired")
    given = typed(code)
    if given is None or not hmac.compare_digest(_code_hash(secret, link, given), link.code_hash):
        link.failures += 1
        if link.failures >= MAX_FAILURES:
            link.state, link.code_hash = HomeLinkState.locked, ""
            _audit(link, "locked", db=db, failures=link.failures)
            raise HomeRefused("locked")
        _audit(link, "refused", db=db, reason="wrong_code", failures=link.failures)
        raise WrongCode("home_join.error.wrong_code", left=MAX_FAILURES - link.failures)
    key = secrets.token_urlsafe(32)
    link.state, link.browser_hash, link.verified_at, link.code_hash = HomeLinkState.verified, hash_token(key), at, ""
    _audit(link, "verified", db=db, failures=link.failures)
    audit.record(db=db, action="session.recording_consent", entity_type="session", entity_id=link.session_id,
                 actor_id=None, data={"via": "home", "participant_id": link.participant_id})
    credential, _ = tokens.issue(secret, subject=str(link.id), purpose=CREDENTIAL_PURPOSE,
                                 ttl=max(link.valid_until - at, timedelta(minutes=1)), link_id=link.id, key=key)
    return credential


# ---- the seat it opens ----------------------------------------------------------------------------------------------

def seat_of(*, db: Session, policy: Policy, secret: str, session_id: int, credential: str | None) -> Opened | None:
    """The seat of SESSION_ID a phone's credential (its cookie, set when the code passed) takes, or None without a
    credential for this session; HomeRefused once its link is expired, replaced or over."""
    if not credential:
        return None
    try:
        claims = tokens.read(secret, credential, purpose=CREDENTIAL_PURPOSE)
    except Unauthenticated:
        return None
    link = db.get(HomeLink, int(claims.get("link_id") or 0))
    if link is None or link.session_id != session_id or not bound_to(secret, link, credential):
        return None
    booking, participant = _usable(policy, link, db=db)
    return Opened(link, booking, participant, True)


def join_token(*, db: Session, policy: Policy, secret: str, opened: Opened) -> tuple[str, datetime]:
    """A join token for the link's seat, the same short-lived ticket every page gets for its own seat."""
    require_open(policy, opened.booking)
    token, expires = sign_join_token(policy, secret, opened.booking, opened.participant)
    audit.record(db=db, action="session.join_token", entity_type="session", entity_id=opened.booking.id, actor_id=None,
                 data={"participant_id": opened.participant.id, "role": opened.participant.role, "via": "home",
                       "link_id": opened.link.id})
    return token, expires


# ---- how each seat joins ------------------------------------------------------------------------------------------

HOME = "home"  # a home link was issued and not yet passed
HOME_VERIFIED = "home_verified"  # joined (or joins) from home, SMS-verified


def join_modes(session_ids: list[int], *, db: Session) -> dict[int, str]:
    """Participant id → its home join mode, for the seats of SESSION_IDS that have a live home link."""
    if not session_ids:
        return {}
    rows = db.execute(select(HomeLink.participant_id, HomeLink.state).where(
        HomeLink.session_id.in_(session_ids), HomeLink.state.in_(ACTIVE_STATES)))
    return {pid: HOME_VERIFIED if state is HomeLinkState.verified else HOME for pid, state in rows}


def roster_labels(booking: ReceptionSession, language: str = DEFAULT_LANGUAGE, *, db: Session) -> dict[int, str]:
    """What the call's participant list says beside each seat joining from home (在家接入 · 已短信验证)."""
    return {pid: translate(f"home_join.mode.{mode}", language) for pid, mode in join_modes([booking.id], db=db).items()}


def links_of(booking: ReceptionSession, *, db: Session) -> list[HomeLink]:
    """Every home link of BOOKING, newest first."""
    return list(db.scalars(select(HomeLink).where(HomeLink.session_id == booking.id)
                           .order_by(HomeLink.id.desc())))
