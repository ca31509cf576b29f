"""SMS verification codes: what a typed code reads as."""

from __future__ import annotations

import pytest

from vreception.sms.codes import CODE_DIGITS, new_code, typed


def test_new_codes_are_six_digits_and_vary():
    codes = {new_code() for _ in range(200)}
    assert all(len(c) == CODE_DIGITS and c.isascii() and c.isdigit() for c in codes) and len(codes) > 150


@pytest.mark.parametrize(("given", "read"), [
    ("042917", "042917"), (" 042 917 ", "042917"), ("042-917", "042917"),
    ("０４２９１７", "042917"),  # full-width digits from a Chinese phone keyboard
    ("04291", None), ("0429170", None), ("04291a", None), ("", None), (None, None), ("４２９１７٣", None),
])
def test_typed_codes_read_as_their_six_digits_or_nothing(given, read):
    assert typed(given) == read
