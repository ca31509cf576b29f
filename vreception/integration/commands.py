"""The feed's commands: `vreception export changes --since CURSOR|DATE [--out FILE]`, `vreception integration
backfill`. cli.py registers them; the work is done by feed.py and backfill.py."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from vreception.config import Settings
    from vreception.db import Database

Opener = Callable[["Settings"], "Database"]


def export_changes(*, db: Database, since: str, out: TextIO) -> tuple[int, int]:
    """Write every change after SINCE (a cursor or a day) to OUT as JSON lines: (lines, the cursor to resume)."""
    from vreception.integration import feed

    lines = 0
    with db.transaction(reads_only=True) as session:
        after = feed.since(since, db=session)
        cursor = max(after, feed.high_water(db=session))
        for change in feed.every(db=session, after=after):
            out.write(json.dumps(change.model_dump(mode="json"), ensure_ascii=False, sort_keys=True) + "\n")
            lines += 1
    return lines, cursor


def backfill(*, db: Database) -> tuple[int, int]:
    """Fill the feed of every matter that has none, a batch per transaction: (matters, changes)."""
    from vreception.integration.backfill import backfill_batch

    matters = changes = 0
    while True:
        with db.transaction() as session:
            filled, written = backfill_batch(db=session)
        if not filled:
            return matters, changes
        matters, changes = matters + filled, changes + written


def add_commands(sub: Any, opener: Opener) -> None:
    """Add `export changes` and `integration backfill` to the top-level subparsers SUB; OPENER opens the database."""

    def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
        db = opener(settings)
        if args.out:
            with Path(args.out).open("w", encoding="utf-8") as out:
                lines, cursor = export_changes(db=db, since=args.since, out=out)
        else:
            lines, cursor = export_changes(db=db, since=args.since, out=sys.stdout)
        db.dispose()
        print(f"exported {lines} changes; next cursor: {cursor}", file=sys.stderr)
        return 0

    def cmd_backfill(args: argparse.Namespace, settings: Settings) -> int:
        db = opener(settings)
        matters, changes = backfill(db=db)
        db.dispose()
        print(f"backfilled {changes} changes of {matters} matters")
        return 0

    export = sub.add_parser("export", help="exports").add_subparsers(dest="export_command", required=True)
    changes = export.add_parser("changes", help="the integration feed as JSON lines (for the provincial system)")
    changes.add_argument("--since", default="0", help="a cursor (the feed's id) or a day YYYY-MM-DD (changes "
                                                      "recorded from that day on); default: everything")
    changes.add_argument("--out", help="the file to write (default: standard output)")
    changes.set_defaults(func=cmd_export)
    integration = sub.add_parser("integration", help="the integration feed").add_subparsers(
        dest="integration_command", required=True)
    integration.add_parser("backfill", help="fill the feed of matters registered before it existed")\
        .set_defaults(func=cmd_backfill)
