"""SMS settings, read from VRECEPTION_SMS_* variables (the README lists them)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SmsSettings(BaseSettings):
    """Which gateway sends the outbox, how to reach it, and how messages are signed and retried."""

    model_config = SettingsConfigDict(env_prefix="VRECEPTION_SMS_", env_file=".env", extra="ignore")

    # none: messages are queued and shown on the matter page, nothing is sent.
    gateway: Literal["none", "smpp", "http"] = "none"
    # The 短信签名 the operator registered; mainland operators refuse unsigned messages.
    signature: str = Field(default="信访", max_length=12)
    # Where petitioners look a matter up (the public /lookup page), named in the messages.
    public_url: str = ""
    max_attempts: int = Field(default=8, ge=1, le=50)
    # First retry after this many seconds, doubling each time up to the cap.
    backoff_seconds: int = Field(default=60, ge=1)
    backoff_cap_seconds: int = Field(default=3600, ge=1)
    # A message found in `sending` this long after it was handed over is settled as outcome unknown.
    sending_timeout_seconds: int = Field(default=600, ge=30)
    batch: int = Field(default=50, ge=1, le=1000)
    smpp_host: str = ""
    smpp_port: int = 2775
    smpp_system_id: str = ""
    smpp_password: str = ""  # no default: a production gateway needs its own
    smpp_system_type: str = ""
    smpp_source_addr: str = ""  # the 短信端口号 (service number) messages come from
    smpp_timeout_seconds: float = Field(default=10, gt=0, le=120)
    http_url: str = ""
    http_token: str = ""  # no default: the bearer secret of the cloud SMS service
    http_timeout_seconds: float = Field(default=10, gt=0, le=120)


@lru_cache
def sms_settings() -> SmsSettings:
    """The process-wide SMS settings, read once."""
    return SmsSettings()
