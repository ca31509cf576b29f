"""Petitioner identity: ID-number validation, encryption at rest, keyed lookup hashes, masking."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from datetime import date

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vreception.errors import DomainError, Invalid

_ID = re.compile(r"^\d{17}[\dX]$")
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK = "10X98765432"
_PHONE = re.compile(r"^[0-9+\-() ]{5,20}$")
# GB 32100-2015 统一社会信用代码: 31 characters (no I, O, Z, S, V), 17 weighted positions and a check character.
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
_CREDIT = re.compile(rf"^[{CREDIT_ALPHABET}]{{2}}\d{{6}}[{CREDIT_ALPHABET}]{{10}}$")
MAX_ADDRESS_CHARS = 200


def check_digit(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalize_id_number(raw: str, field: str = "id_number") -> str:
    """A valid 18-character resident ID number (upper-case X), or Invalid."""
    value = (raw or "").strip().upper()
    if not _ID.match(value):
        raise Invalid("error.id_number_format", field=field)
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise Invalid("error.id_number_birth", field=field) from None
    if check_digit(value[:17]) != value[17]:
        raise Invalid("error.id_number_check", field=field)
    return value


def credit_check_character(first17: str) -> str:
    """The GB 32100-2015 check character of the first 17 characters of a unified social credit code."""
    remainder = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True)) % 31
    return CREDIT_ALPHABET[(31 - remainder) % 31]


def normalize_credit_code(raw: str, field: str = "credit_code") -> str:
    """A valid 18-character unified social credit code (统一社会信用代码, upper case), or Invalid."""
    value = (raw or "").strip().upper()
    if not _CREDIT.match(value):
        raise Invalid("error.credit_code_format", field=field)
    if credit_check_character(value[:17]) != value[17]:
        raise Invalid("error.credit_code_check", field=field)
    return value


def credit_lookup_key(code: str) -> str:
    """What is hashed to find an organisation again: kept apart from ID numbers, which have the same length."""
    return f"uscc:{code}"


def normalize_address(raw: str | None, field: str = "address") -> str:
    """A postal address (for letters and replies) or empty."""
    value = " ".join((raw or "").split())
    if len(value) > MAX_ADDRESS_CHARS:
        raise Invalid("error.address_too_long", field=field, max=MAX_ADDRESS_CHARS)
    return value


def normalize_phone(raw: str | None, field: str = "phone") -> str:
    """A plausible phone number or empty."""
    value = (raw or "").strip()
    if value and not _PHONE.match(value):
        raise Invalid("error.phone_format", field=field)
    return value


def mask(tail: str, length: int = 18) -> str:
    """The masked form shown to roles that do not need the number: ************1234."""
    return "*" * (length - len(tail)) + tail if tail else ""


class KeyMismatch(DomainError):
    """Personal data stored under another secret key than the configured one (500 key_mismatch)."""

    code = "key_mismatch"
    status = 500


class Protector:
    """Encrypts personal numbers (AES-GCM) and hashes them for lookup (HMAC), keys derived from the secret."""

    def __init__(self, secret: str):
        self._aead = AESGCM(self._derive(secret, b"vreception pii encryption"))
        self._mac_key = self._derive(secret, b"vreception pii lookup")

    @staticmethod
    def _derive(secret: str, info: bytes) -> bytes:
        return HKDF(algorithm=SHA256(), length=32, salt=None, info=info).derive(secret.encode())

    def encrypt(self, value: str) -> str:
        if not value:
            return ""
        nonce = os.urandom(12)
        return base64.urlsafe_b64encode(nonce + self._aead.encrypt(nonce, value.encode(), None)).decode()

    def decrypt(self, token: str) -> str:
        if not token:
            return ""
        raw = base64.urlsafe_b64decode(token.encode())
        try:
            return self._aead.decrypt(raw[:12], raw[12:], None).decode()
        except InvalidTag:
            # Stored under another key (VRECEPTION_SECRET_KEY changed without re-encrypting): say so, once, clearly.
            raise KeyMismatch("error.key_mismatch") from None

    def lookup_hash(self, value: str) -> str:
        """A keyed hash: equal values match, the database alone cannot reverse it."""
        return hmac.new(self._mac_key, value.encode(), hashlib.sha256).hexdigest()
