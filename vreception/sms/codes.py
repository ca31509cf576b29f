"""SMS verification codes (短信验证码): six random digits, valid ten minutes, and the digits a person typed."""

from __future__ import annotations

import secrets
import unicodedata
from datetime import timedelta

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
CODE_MINUTES = int(CODE_TTL.total_seconds() // 60)  # as the text message states it


def new_code() -> str:
    """A fresh random code of CODE_DIGITS digits."""
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def typed(code: str | None) -> str | None:
    """The code in what was typed (spaces and dashes dropped, full-width digits read as digits), or None if it is
    not CODE_DIGITS digits."""
    # A phone's Chinese keyboard may type full-width digits (１２３): NFKC reads them as 123.
    digits = [ch for ch in unicodedata.normalize("NFKC", code or "") if not ch.isspace() and ch != "-"]
    if len(digits) != CODE_DIGITS or not all("0" <= ch <= "9" for ch in digits):
        return None
    return "".join(digits)
