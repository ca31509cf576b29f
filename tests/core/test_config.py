"""Settings: environment parsing, defaults, and the production secret rule."""

from __future__ import annotations

import secrets

import pytest

from vreception.config import InsecureConfiguration, Settings


def test_defaults_are_sqlite_under_data_dir(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'vreception.db'}"
    assert settings.time_zone == "Asia/Shanghai" and settings.ice_servers == []


def test_environment_is_read(monkeypatch):
    monkeypatch.setenv("VRECEPTION_ICE_SERVERS", '[{"urls": ["stun:10.1.1.1:3478"]}]')
    monkeypatch.setenv("VRECEPTION_MEDIA_HOST_ADDRESSES", "127.0.0.1, 10.0.0.5")
    monkeypatch.setenv("VRECEPTION_DATABASE_URL", "postgresql+psycopg://u@h/db")
    settings = Settings(_env_file=None)
    assert settings.ice_servers == [{"urls": ["stun:10.1.1.1:3478"]}]
    assert settings.media_host_addresses == ["127.0.0.1", "10.0.0.5"]
    assert settings.effective_database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("secret", ["change-me", "short", "k" * 40, "abcd" * 10, "ab" * 20])
def test_production_refuses_weak_secret(tmp_path, secret):
    # Long is not random: the key's entropy is what counts.
    with pytest.raises(InsecureConfiguration):
        Settings(_env_file=None, mode="production", secret_key=secret, cookie_secure=True,
                 data_dir=tmp_path).effective_secret_key()


def test_production_requires_secure_cookies(tmp_path):
    with pytest.raises(InsecureConfiguration, match="COOKIE_SECURE"):
        Settings(_env_file=None, mode="production", secret_key=secrets.token_urlsafe(48),
                 data_dir=tmp_path).effective_secret_key()


def test_demo_mode_makes_and_keeps_a_random_secret(tmp_path):
    settings = Settings(_env_file=None, mode="demo", data_dir=tmp_path)
    first = settings.effective_secret_key()
    assert len(first) >= 32 and first == settings.effective_secret_key()
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("key", ["UzDEGpw2y0PUbxPieCbdfszljO4QWpTatUmhxpzk-_9M-enmsf7OCNWGBQKCKkY-", "ecb957c2dee00abe53f58893f6f11880"])
def test_production_accepts_a_real_secret(tmp_path, key):
    assert Settings(_env_file=None, mode="production", secret_key=key, cookie_secure=True,
                    data_dir=tmp_path).effective_secret_key() == key
