"""Deadline days are counted in VRECEPTION_TIME_ZONE, set once by the app factory and by the command line."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from vreception import cli
from vreception.cases import deadlines
from vreception.config import Settings

# 01:00 in Shanghai on 2 March is still 1 March in UTC.
EARLY = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)


@pytest.fixture
def restore_zone():
    before = deadlines.zone()
    yield
    deadlines.use_time_zone(before.key)


def test_the_default_zone_is_shanghai():
    assert deadlines.zone().key == "Asia/Shanghai"


def test_days_and_their_ends_follow_the_configured_zone(restore_zone):
    assert deadlines.local_day(EARLY) == date(2026, 3, 2)
    deadlines.use_time_zone("UTC")
    assert deadlines.local_day(EARLY) == date(2026, 3, 1)
    assert deadlines.end_of_day(date(2026, 3, 1)) == datetime(2026, 3, 2, tzinfo=UTC) - timedelta(microseconds=1)


def test_the_app_factory_sets_the_zone_of_its_settings(restore_zone, db, tmp_path):
    from vreception.app import create_app

    settings = Settings(mode="dev", database_url=db.url, data_dir=tmp_path, secret_key="t" * 48, time_zone="UTC",
                        job_interval_seconds=0)
    app = create_app(settings, db)
    assert deadlines.zone().key == "UTC"
    assert app.state.policy.zone.key == "UTC"


def test_the_command_line_sets_the_zone_of_its_settings(restore_zone, db, monkeypatch, capsys):
    monkeypatch.setattr(cli, "get_settings", lambda: Settings(database_url=db.url, time_zone="Asia/Urumqi"))
    assert cli.main(["nodes", "list"]) == 0
    assert deadlines.zone().key == "Asia/Urumqi"
