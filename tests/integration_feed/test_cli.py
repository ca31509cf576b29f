"""`vreception export changes` writes the feed as JSON lines; `vreception integration backfill` rebuilds it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, select

from tests.factories import app_settings
from tests.integration_feed.test_records import run_matter
from vreception import cli
from vreception.cases.deadlines import local_day
from vreception.clock import now
from vreception.integration import feed
from vreception.integration.views import change_out
from vreception.models.integration import IntegrationChange, IntegrationHead


@pytest.fixture
def cli_settings(db, tmp_path, monkeypatch):
    settings = app_settings(db, tmp_path / "var")
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    return settings


def stored(db) -> list[dict]:
    with db.transaction() as s:
        rows = s.scalars(select(IntegrationChange).order_by(IntegrationChange.id))
        return [change_out(r).model_dump(mode="json") for r in rows]


def test_export_writes_json_lines_from_a_cursor_or_a_day(db, org, settings, cli_settings, tmp_path, capsys):
    run_matter(db, org, settings)
    everything = stored(db)
    out = tmp_path / "changes.jsonl"
    assert cli.main(["export", "changes", "--out", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == everything
    assert "登记" not in lines[0] and "registered_on" in lines[0]  # JSON keys; Chinese only in names
    assert f"next cursor: {everything[-1]['id']}" in capsys.readouterr().err

    assert cli.main(["export", "changes", "--since", str(everything[3]["id"])]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["id"] for line in printed] == [c["id"] for c in everything[4:]]

    today = local_day(now()).isoformat()
    assert cli.main(["export", "changes", "--since", today, "--out", str(out)]) == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == len(everything)
    assert cli.main(["export", "changes", "--since", "2999-01-01", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == ""
    assert cli.main(["export", "changes", "--since", "yesterday"]) == 2
    assert "--since" in capsys.readouterr().err


def test_backfill_rebuilds_the_feed_of_matters_from_before_it(db, org, settings, cli_settings, capsys):
    run_matter(db, org, settings)
    live = stored(db)
    with db.transaction() as s:  # an installation from before the feed: no change stored
        s.execute(delete(IntegrationChange))
        s.execute(delete(IntegrationHead))
    assert cli.main(["integration", "backfill"]) == 0
    assert capsys.readouterr().out.strip() == f"backfilled {len(live)} changes of 1 matters"
    rebuilt = stored(db)
    assert [c["id"] for c in rebuilt] == list(range(1, len(live) + 1)) and all(c["backfilled"] for c in rebuilt)

    def comparable(changes: list[dict]) -> list[tuple]:
        # Within one action the order of its document and its change of state, and the state a document shows,
        # are not kept by the history: compare everything else.
        return sorted((c["kind"], c["matter_number"], c["occurred_at"],
                       json.dumps({k: v for k, v in c["payload"].items() if k != "state"}, sort_keys=True))
                      for c in changes)

    assert comparable(rebuilt) == comparable(live)
    states = [c["payload"]["state"] for c in rebuilt if c["kind"].startswith("matter.")]
    assert states == [c["payload"]["state"] for c in live if c["kind"].startswith("matter.")]
    # Idempotent: a second run finds nothing to fill; a new matter's feed is written live.
    assert cli.main(["integration", "backfill"]) == 0
    assert capsys.readouterr().out.strip() == "backfilled 0 changes of 0 matters"
    assert stored(db) == rebuilt
    with db.transaction(reads_only=True) as s:
        assert feed.page(db=s, after=str(len(live))).items == []
