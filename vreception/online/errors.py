"""Errors of the online requests that a petitioner or a coordinator can hit."""

from vreception.errors import Conflict, DomainError


class CodeRejected(DomainError):
    """A wrong, expired, used or unknown SMS verification code (422 code_rejected)."""

    code = "code_rejected"
    status = 422


class AlreadyAnswered(Conflict):
    """The request was approved or refused already (409 already_answered)."""

    code = "already_answered"


class NoPhone(DomainError):
    """The matter has no mobile number to send a code to (422 no_phone)."""

    code = "no_phone"
    status = 422
