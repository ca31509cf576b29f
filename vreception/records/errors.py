"""Errors of the reception record and its signing."""

from __future__ import annotations

from vreception.errors import DomainError


class TooLarge(DomainError):
    """An upload over its size limit (413 too_large)."""

    code = "too_large"
    status = 413
