"""Configuration: one settings object read from VRECEPTION_* variables and a .env file."""

from __future__ import annotations

import json
import math
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me"
# A production key must carry at least this much randomness (a 32-character hex key has about 118 bits).
MIN_SECRET_BITS = 100


def entropy_bits(key: str) -> float:
    """An estimate of a key's randomness: its length times the Shannon entropy of its characters."""
    if not key:
        return 0.0
    counts = [key.count(c) for c in set(key)]
    return -len(key) * sum(n / len(key) * math.log2(n / len(key)) for n in counts)


class InsecureConfiguration(RuntimeError):
    """The configuration is not safe to run in production."""


class Settings(BaseSettings):
    """Every setting of the platform; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="VRECEPTION_", env_file=".env", extra="ignore")

    mode: Literal["production", "demo", "dev"] = "production"
    data_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = PLACEHOLDER_SECRET
    host: str = "127.0.0.1"
    port: int = 8000
    time_zone: str = "Asia/Shanghai"
    default_language: Literal["zh-CN", "en"] = "zh-CN"
    token_ttl_minutes: int = Field(default=480, ge=1)
    join_token_ttl_minutes: int = Field(default=15, ge=1)
    # Parsed by the validators below (JSON, or a comma list for addresses), not by the env source.
    ice_servers: Annotated[list[dict[str, Any]], NoDecode] = Field(default_factory=list)
    media_host_addresses: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # A TURN relay (coturn, use-auth-secret) for rooms behind strict firewalls: comma list of turn:/turns: URLs,
    # the shared secret, and how long each participant's credentials last (12 h: the longest session allowed).
    turn_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    turn_secret: str = ""
    turn_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    # Reverse proxies whose X-Forwarded-For is believed (none: the socket's peer is the client).
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    redis_url: str | None = None
    # Every Redis key and channel starts with this (two deployments, or two tests, may share one Redis).
    redis_prefix: str = "vreception:"
    # Where the media of calls lives: "embedded" (this process, the default) or "workers" (`vreception
    # media-worker` processes announced in Redis; needs redis_url). A worker advertises its id and address.
    media_placement: Literal["embedded", "workers"] = "embedded"
    media_worker_id: str = ""  # default: host name and process id
    media_worker_capacity: int = Field(default=50, ge=1)  # sessions before placement prefers other workers
    media_worker_heartbeat_ms: int = Field(default=1000, ge=100)
    media_worker_ttl_ms: int = Field(default=3000, ge=300)  # a worker silent this long is lost
    # A worker's recording segments last at most this long: its open segments vanish with its disk, and 8 s plus
    # the key frame and the upload that close one keeps that loss under 10 s (deploy/SIZING.md "Failover").
    media_worker_segment_seconds: int = Field(default=8, ge=2, le=3600)
    # Whether a statutory deadline that ends on a holiday moves to the next working day.
    deadline_moves_off_holidays: bool = True
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    # The demand classification list (JSON); the built-in list when empty.
    categories_file: str = ""
    # Days after a reply is served during which the petitioner may rate it.
    rating_window_days: int = Field(default=30, ge=1)
    # Tasks: a reminder this many days before the due day, a warning on it, supervision after.
    task_reminder_days: int = Field(default=2, ge=0)
    # Public lookup: failed attempts allowed per matter number and per client in the window.
    lookup_failures_allowed: int = Field(default=5, ge=1)
    lookup_window_minutes: int = Field(default=15, ge=1)
    # Failed sign-ins allowed per client in the lookup window before 429; wrong passwords in a row that lock
    # an account until an administrator unlocks it.
    login_failures_per_client: int = Field(default=20, ge=1)
    login_failures_before_lock: int = Field(default=10, ge=1)
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_from: str = "vreception@localhost"
    # Seconds between runs of the in-process job loop (reminders, outbox); 0 turns it off.
    job_interval_seconds: int = Field(default=60, ge=0)
    cookie_secure: bool = False
    # Requests worked on at once; the worker threads and the database pool are sized from it
    # (vreception/app.py capacity), so that no request ever waits for a thread or a connection
    # that another request holds while waiting for it.
    max_concurrent_requests: int = Field(default=20, ge=1, le=1000)
    # Requests beyond those wait, at most this many and this long, then get 503 with Retry-After.
    max_queued_requests: int = Field(default=200, ge=0)
    queue_timeout_seconds: float = Field(default=10, gt=0, le=60)

    @field_validator("ice_servers", mode="before")
    @classmethod
    def _parse_ice(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return json.loads(value) if value else []
        return value

    @field_validator("media_host_addresses", "trusted_proxies", "turn_urls", mode="before")
    @classmethod
    def _parse_addresses(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                return json.loads(value)
            return [a.strip() for a in value.split(",") if a.strip()]
        return value

    @model_validator(mode="after")
    def _turn_needs_secret(self) -> Settings:
        if self.turn_urls and len(self.turn_secret) < 16:
            raise ValueError("VRECEPTION_TURN_URLS needs VRECEPTION_TURN_SECRET (coturn's static-auth-secret, "
                             "at least 16 characters)")
        return self

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'vreception.db').resolve()}"

    def check_production(self) -> None:
        """InsecureConfiguration unless the secret is random (by entropy, not length) and cookies are Secure."""
        problems = []
        if len(self.secret_key) < 32 or entropy_bits(self.secret_key) < MIN_SECRET_BITS:
            problems.append("VRECEPTION_SECRET_KEY must be a random value of at least 32 characters (e.g. "
                            "python -c \"import secrets; print(secrets.token_urlsafe(48))\")")
        if not self.cookie_secure:
            problems.append("VRECEPTION_COOKIE_SECURE must be true: production runs behind HTTPS")
        if problems:
            raise InsecureConfiguration("; ".join(problems) + " (or run with VRECEPTION_MODE=demo or dev).")

    @property
    def is_production(self) -> bool:
        return self.mode == "production"

    def effective_secret_key(self) -> str:
        """The signing key; outside production a placeholder becomes a per-install random key."""
        if self.is_production:
            self.check_production()
            return self.secret_key
        if self.secret_key != PLACEHOLDER_SECRET and len(self.secret_key) >= 32:
            return self.secret_key
        key_file = self.data_dir / "secret.key"
        if key_file.exists():
            return key_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key

    # Scheduling: bookings close at this local hour, this many days before the session's day.
    booking_cutoff_hour: int = Field(default=17, ge=0, le=24)
    booking_cutoff_days_before: int = Field(default=1, ge=0)
    # Claims hold resources in quanta of this many minutes; session times must fall on them.
    slot_quantum_minutes: int = Field(default=5, ge=1, le=60)
    max_session_minutes: int = Field(default=240, ge=5, le=720)  # overlap reads rely on sessions under a day
    # A booked session nobody opened this long after its start is marked no-show.
    no_show_grace_minutes: int = Field(default=15, ge=1)
    # A call opens (its page, join tokens) this many minutes before the session starts; before that nothing changes.
    call_open_lead_minutes: int = Field(default=30, ge=0)
    # Reminders to the leader, the room and the coordinator, this many minutes before a session.
    session_reminder_minutes: list[int] = Field(default_factory=lambda: [1440, 60])
    # Lifetime of the signed calendar-feed (ICS) URLs.
    feed_token_ttl_days: int = Field(default=365, ge=1)

    # Hearings (听证): the office decides on a request within this many days; notices go out this many days
    # before (unless the petitioner waived the period in writing); panels have one of these odd sizes; the
    # conclusion is issued within this many days of the hearing; a public hearing's gallery admits this many.
    hearing_decision_days: int = Field(default=15, ge=1)
    hearing_notice_days: int = Field(default=7, ge=0)
    hearing_panel_sizes: list[int] = Field(default_factory=lambda: [3, 5])
    hearing_conclusion_days: int = Field(default=15, ge=1)
    gallery_max_viewers: int = Field(default=50, ge=0, le=1000)

    # Recordings: a new segment file per participant this often (and on every rejoin).
    recording_segment_seconds: int = Field(default=60, ge=5, le=3600)
    # Longest WebM cluster; what a killed process can lose is about one cluster.
    recording_cluster_ms: int = Field(default=500, ge=100, le=1000)
    # Where finished files go: "local" (data_dir/recordings) or "s3" (any S3-compatible server).
    recording_storage: Literal["local", "s3"] = "local"
    recording_s3_endpoint: str = ""  # e.g. http://minio.internal:9000; empty: AWS itself
    recording_s3_bucket: str = ""
    recording_s3_access_key: str = ""
    recording_s3_secret_key: str = ""
    recording_s3_region: str = "us-east-1"
    recording_s3_prefix: str = ""
    # Days a recording is kept after its matter closed; none: kept with the case file (never purged by age).
    recording_retention_days: int | None = Field(default=None, ge=1)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
