"""The command line: `vreception serve | demo | db | nodes | users | keys | audit …`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vreception.cases.deadlines import use_time_zone
from vreception.config import InsecureConfiguration, Settings, get_settings
from vreception.db import Database
from vreception.errors import DomainError
from vreception.i18n import translate

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from vreception.models import Person


def _database(settings: Settings) -> Database:
    from vreception import audit

    db = Database(settings.effective_database_url)
    try:
        db.use_audit_key(audit.key_from_secret(settings.effective_secret_key()))
    except InsecureConfiguration:
        pass  # production without its secret yet (first setup): `serve` refuses to run until it is set
    return db


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from vreception.migrations import upgrade

    upgrade(settings.effective_database_url)
    print(f"database at head: {settings.effective_database_url}")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from vreception.app import create_app

    app = create_app(settings)
    if settings.is_production:
        from vreception import demo

        with app.state.db.transaction() as session:
            traces = demo.demo_traces(db=session)
        if traces:
            print("refusing to serve in production: the demo province or demo passwords are in this database: "
                  + ", ".join(traces), file=sys.stderr)
            return 2
    uvicorn.run(app, host=args.host or settings.host, port=args.port or settings.port, **server_options(settings))
    return 0


def cmd_media_worker(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    import uvloop  # installed with uvicorn[standard]; reads several datagrams per wakeup (issue 18's bench)

    from web.calls.worker import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.id:
        settings = settings.model_copy(update={"media_worker_id": args.id})
    return uvloop.run(serve(db=_database(settings), settings=settings))


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options: forwarded addresses only from configured proxies; tokens kept out of the access log."""
    from web.logfilter import ACCESS_LOG_CONFIG

    return {
        "log_config": ACCESS_LOG_CONFIG,
        # Signaling frames are at most 64 KiB; refuse anything much larger at the transport.
        "ws_max_size": 256 * 1024,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 by default: a client on the host could then pick the
        # address the lookup limiter counts. Only configured proxies are believed.
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": ",".join(settings.trusted_proxies) or None,
    }


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from vreception import demo
    from vreception.migrations import upgrade

    settings = settings.model_copy(update={"mode": "demo" if settings.is_production else settings.mode})
    upgrade(settings.effective_database_url)
    db = _database(settings)
    walk_in, hearing = demo_load(settings, db=db)
    with db.transaction() as session:
        users = demo.sign_ins(db=session)
    db.dispose()
    host, port = args.host or settings.host, args.port or settings.port
    print(f"\nvreception demo: http://{host}:{port}/  (password for every demo user: {demo.DEMO_PASSWORD})\n")
    if walk_in:
        print(f"a walk-in session for now: sign in as leader.county (agenda → call) and as room.township in a second\n"
              f"browser (kiosk → consent → call); the call page is http://{host}:{port}/calls/{walk_in}\n"
              f"it is marked a no-show if nobody opens it within {settings.no_show_grace_minutes} minutes: then sign in as "
              f"coord.county and book another with 现场接访 on the dashboard\n")
    if hearing:
        print("\n".join(hearing.lines(f"http://{host}:{port}")) + "\n")
    print(f"{'username':<18}{'role':<16}{'name':<10}where")
    for user in users:
        print(f"{user.username:<18}{user.role:<16}{user.name:<10}{user.where}")
    print()
    if args.no_serve:
        return 0
    args.host, args.port = host, port
    return cmd_serve(args, settings)


def demo_load(settings: Settings, *, db: Database) -> tuple[int | None, Any]:
    """Load the demo into DB, adding only what is missing; today's walk-in session id and the demo hearing."""
    from recordings import demo_clips
    from recordings.storage import storage_from_settings
    from scheduling import demo_hearing, demo_history
    from scheduling.policy import policy_from
    from vreception import demo

    with db.transaction() as session:
        if demo.is_loaded(db=session):
            print("demo province already loaded: reusing it")
        else:
            print("loading the demo province …")
            demo.load(db=session)
    with db.transaction() as session:
        demo.load_matters(db=session, secret=settings.effective_secret_key())
    walk_in = _demo_walk_in(settings, db=db)
    with db.transaction() as session:
        hearing = demo_hearing.seed(db=session, policy=policy_from(settings), secret=settings.effective_secret_key(),
                                    decision_days=settings.hearing_decision_days)
    # The history comes after the walk-in and the hearing: their bookings keep the ids a first run gives them.
    with db.transaction() as session:
        history = demo_history.load(db=session, policy=policy_from(settings), secret=settings.effective_secret_key())
    with db.transaction() as session:
        clips = demo_clips.record_held(db=session, storage=storage_from_settings(settings))
    print(f"history: {history.plans} reception plans, {history.matters} matters, {history.sessions} sessions, "
          f"{clips} recordings added")
    return walk_in, hearing


WALK_IN_REASON = "演示：现场接访"


def _demo_walk_in(settings: Settings, *, db: Database) -> int | None:
    """Today's walk-in session of the demo county leader with the township room (booked if none)."""
    from datetime import timedelta

    from sqlalchemy import select

    from scheduling import booking
    from scheduling.policy import policy_from
    from scheduling.states import JOINABLE
    from vreception.clock import now
    from vreception.models import Matter, Person, Room
    from vreception.models.scheduling import Participant, ReceptionSession

    with db.transaction() as session:
        leader = session.scalar(select(Person).where(Person.username == "leader.county"))
        coordinator = session.scalar(select(Person).where(Person.username == "coord.county"))
        room = session.scalar(select(Room).where(Room.name == "东关街道视频接访室"))
        matter = session.scalar(select(Matter).order_by(Matter.id))
        if leader is None or coordinator is None or room is None or matter is None:
            return None
        # Only the walk-in itself: ad hoc, this leader, the township room, not over (never a history or hearing session).
        current = session.scalar(select(ReceptionSession.id).join(
            Participant, Participant.session_id == ReceptionSession.id).where(
            ReceptionSession.leader_id == leader.id, ReceptionSession.ends_at > now(), ReceptionSession.ad_hoc.is_(True),
            ReceptionSession.reason == WALK_IN_REASON, ReceptionSession.state.in_(JOINABLE),
            Participant.room_id == room.id).order_by(ReceptionSession.id.desc()).limit(1))
        if current:
            return current
        made = booking.book(db=session, policy=policy_from(settings), kind="reception", leader_id=leader.id,
                            room_ids=[room.id], matter_id=matter.id, starts_at=None, ends_at=None, ad_hoc=True,
                            reason=WALK_IN_REASON, coordinator=True, actor_id=coordinator.id)
        return made.id if made.ends_at - made.starts_at > timedelta(0) else None


def cmd_nodes_list(args: argparse.Namespace, settings: Settings) -> int:
    from vreception import org

    db = _database(settings)
    with db.transaction() as session:
        for node in org.list_nodes(db=session, level=args.level):
            print(f"{node.code}\t{node.level.value}\t{node.name}")
    return 0


def cmd_users_add(args: argparse.Namespace, settings: Settings) -> int:
    from vreception import org, people

    db = _database(settings)
    with db.transaction() as session:
        node = org.node_by_code(args.node, db=session)
        person = people.create_person(db=session, name=args.name or args.username, title=args.title or "",
                                      node_id=node.id, username=args.username, password=args.password)
        room_id = None
        if args.role == "room":
            from sqlalchemy import select

            from vreception.models import Room

            room_id = session.scalar(select(Room.id).where(Room.node_id == node.id).order_by(Room.id))
        people.assign_role(db=session, person=person, role=args.role, node_id=node.id, room_id=room_id)
        print(f"added {person.username} ({args.role} at {node.code} {node.name}) as person {person.id}")
    return 0


def _account(username: str, *, db: Session) -> Person | None:
    """The person signing in as USERNAME, or None after saying there is no such account."""
    from sqlalchemy import select

    from vreception.models import Person

    person = db.scalar(select(Person).where(Person.username == username.strip().lower()))
    if person is None:
        print(f"no account {username}", file=sys.stderr)
    return person


def cmd_users_unlock(args: argparse.Namespace, settings: Settings) -> int:
    from vreception.auth import signins

    db = _database(settings)
    with db.transaction() as session:
        person = _account(args.username, db=session)
        if person is None:
            return 1
        was_locked = person.locked_at is not None
        signins.unlock(db=session, person=person, actor_id=None)
        print(f"unlocked {person.username}" if was_locked else f"{person.username} was not locked")
    return 0


def cmd_users_deactivate(args: argparse.Namespace, settings: Settings) -> int:
    from vreception.auth import accounts

    db = _database(settings)
    with db.transaction() as session:
        person = _account(args.username, db=session)
        if person is None:
            return 1
        if args.undo:
            accounts.reactivate(db=session, person=person, actor_id=None)
            print(f"reactivated {person.username}")
        else:
            ended = accounts.deactivate(db=session, person=person, actor_id=None)
            print(f"deactivated {person.username}; ended {ended} sign-ins")
    return 0


def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from vreception import audit, keys

    old_secret = (sys.stdin.read() if args.old_secret_file == "-" else Path(args.old_secret_file).read_text()).strip()
    new_secret = settings.effective_secret_key()
    db = _database(settings)
    try:
        with db.transaction() as session:
            done = keys.rotate(db=session, old_secret=old_secret, new_secret=new_secret,
                               checkpoint=audit_checkpoint_path(settings))
    except ValueError as exc:
        print(f"nothing changed: {exc}", file=sys.stderr)
        return 1
    with db.transaction() as session:
        seq = audit.write_checkpoint(audit_checkpoint_path(settings), db=session)
    print(f"re-encrypted {done.petitioners} petitioners; re-keyed {done.audit_events} audit events "
          f"(checkpoint at seq {seq})")
    if done.query_codes_left:
        print(f"{done.query_codes_left} matters' query codes (查询码) were hashed with the old key and cannot be "
              "re-keyed: the public lookup no longer finds them", file=sys.stderr)
    return 0


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    from vreception import audit

    db = _database(settings)
    if not db.has_audit_key:
        print("VRECEPTION_SECRET_KEY is needed: the audit chain is keyed with it", file=sys.stderr)
        return 2
    from vreception.audit import checkpoints

    with db.transaction() as session:
        report = checkpoints.verify(db=session, full=args.full)
        report.problems += audit.file_checkpoint_problems(audit_checkpoint_path(settings), db=session)
    if report.rejected_checkpoint is not None:
        print(f"problem: checkpoint {report.rejected_checkpoint} is not signed with this installation's key; "
              "verified from the genesis")
    for problem in report.problems:
        print(f"problem: {problem}")
    start = "the genesis (full)" if report.from_checkpoint is None else f"checkpoint seq {report.from_checkpoint}"
    ok = report.ok and not report.problems
    print(f"audit chain {'ok' if ok else 'BROKEN'}: {report.checked} events checked from {start} "
          f"in {report.seconds:.3f} s")
    return 0 if ok else 1


def audit_checkpoint_path(settings: Settings) -> Path:
    """Where the signed checkpoint of the audit chain's head is kept (outside the database)."""
    return Path(settings.data_dir) / "audit" / "checkpoint.json"


def cmd_audit_checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    from vreception import audit

    db = _database(settings)
    with db.transaction() as session:
        seq = audit.write_checkpoint(audit_checkpoint_path(settings), db=session)
    print(f"audit chain anchored at seq {seq}")
    return 0


def cmd_recordings_verify(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from sqlalchemy import select

    from recordings import manifest as manifests
    from recordings import service
    from recordings.storage import storage_from_settings
    from vreception.models.recordings import Recording

    db, storage = _database(settings), storage_from_settings(settings)
    failed = 0
    with db.transaction() as session:
        ids = [args.id] if args.id else list(session.scalars(select(Recording.id).order_by(Recording.id)))
        for recording_id in ids:
            report = service.verify(db=session, recording=service.get_recording(db=session,
                                                                                     recording_id=recording_id),
                                    storage=storage)
            print(f"recording {recording_id}: {'ok' if report.ok else 'PROBLEMS'}")
            for problem in report.problems:
                print(f"  {problem}")
            recording = service.get_recording(db=session, recording_id=recording_id)
            for line in manifests.missing(json.loads(recording.manifest)) if recording.manifest else ():
                print(f"  missing: {line}")
            for participant_id, seconds in sorted(report.missing.items()):
                print(f"  missing with a lost media worker: participant {participant_id}, {seconds} s in all")
            failed += not report.ok
    return 1 if failed else 0


def cmd_recordings_purge(args: argparse.Namespace, settings: Settings) -> int:
    from recordings import service
    from recordings.storage import storage_from_settings

    db, storage = _database(settings), storage_from_settings(settings)
    with db.transaction() as session:
        if args.expired:
            purged = service.purge_expired(db=session, storage=storage,
                                           retention_days=settings.recording_retention_days)
            print(f"purged {len(purged)} recordings past retention")
            return 0
        if args.id is None:
            print("name a recording id, or --expired", file=sys.stderr)
            return 2
        recording = service.get_recording(db=session, recording_id=args.id)
        service.purge(db=session, recording=recording, storage=storage, reason=args.reason or "")
        print(f"purged recording {args.id}")
    return 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from recordings.storage import storage_from_settings
    from vreception import backup

    try:
        done = backup.backup(settings, Path(args.dir), storage=storage_from_settings(settings))
    except backup.BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"backed up the {done.database} database (revision {done.revision}), {done.recording_files} recording "
          f"files and {done.data_files} data files, {done.bytes} bytes, into {args.dir}")
    for name in done.missing:
        print(f"missing (not in the backup): {name}", file=sys.stderr)
    return 1 if done.missing else 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from recordings.storage import storage_from_settings
    from vreception import backup

    try:
        done = backup.restore(settings, Path(args.dir), storage=storage_from_settings(settings))
    except backup.BackupError as exc:
        print(f"nothing restored: {exc}", file=sys.stderr)
        return 1
    print(f"restored the {done.database} database (revision {done.revision}), {done.recording_files} recording "
          f"files and {done.data_files} data files; next: vreception db upgrade, vreception audit verify, "
          "vreception recordings verify")
    return 0


def cmd_calendar_load(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from vreception.cases.deadlines import recompute_provisional
    from vreception.workdays import load_year_file

    db = _database(settings)
    with db.transaction() as session:
        year = load_year_file(Path(args.file), db=session)
        changed = recompute_provisional(db=session, moves_off_holidays=settings.deadline_moves_off_holidays)
    print(f"loaded the official calendar of {year.year}; recomputed {changed} provisional deadlines")
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    top = argparse.ArgumentParser(prog="vreception", description="信访视频接访平台 (video petition reception)")
    sub = top.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("media-worker", help="hold the media of the calls placed on this process (needs Redis)")
    worker.add_argument("--id", help="this worker's id (default VRECEPTION_MEDIA_WORKER_ID, else host and pid)")
    worker.set_defaults(func=cmd_media_worker)

    demo = sub.add_parser("demo", help="migrate, load the demo province, print its users and serve")
    demo.add_argument("--host")
    demo.add_argument("--port", type=int)
    demo.add_argument("--no-serve", action="store_true", help="set up and print the users, then exit")
    demo.set_defaults(func=cmd_demo)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="run the migrations up to head").set_defaults(func=cmd_db_upgrade)

    nodes = sub.add_parser("nodes", help="the organisation").add_subparsers(dest="nodes_command", required=True)
    nodes_list = nodes.add_parser("list", help="print CODE<TAB>LEVEL<TAB>NAME lines")
    nodes_list.add_argument("--level", choices=["province", "city", "county", "township"])
    nodes_list.set_defaults(func=cmd_nodes_list)

    users = sub.add_parser("users", help="accounts").add_subparsers(dest="users_command", required=True)
    add = users.add_parser("add", help="add a person who can sign in")
    add.add_argument("--username", required=True)
    add.add_argument("--password", required=True)
    add.add_argument("--role", required=True, choices=["coordinator", "leader", "handler", "hearing_member", "room", "admin"])
    add.add_argument("--node", required=True, help="the administrative code of the node the role covers")
    add.add_argument("--name")
    add.add_argument("--title")
    add.set_defaults(func=cmd_users_add)
    unlock = users.add_parser("unlock", help="unlock an account locked after repeated wrong passwords")
    unlock.add_argument("username")
    unlock.set_defaults(func=cmd_users_unlock)
    deactivate = users.add_parser("deactivate", help="stop an account signing in and end all its sign-ins")
    deactivate.add_argument("username")
    deactivate.add_argument("--undo", action="store_true", help="let a deactivated account sign in again")
    deactivate.set_defaults(func=cmd_users_deactivate)

    keys = sub.add_parser("keys", help="the secret key").add_subparsers(dest="keys_command", required=True)
    rotate = keys.add_parser("rotate", help="move personal data, lookup hashes and the audit chain from the old "
                                            "secret key to VRECEPTION_SECRET_KEY (server stopped)")
    rotate.add_argument("--old-secret-file", required=True, help="a file holding the old key, or - for stdin")
    rotate.set_defaults(func=cmd_keys_rotate)

    audit = sub.add_parser("audit", help="the audit log").add_subparsers(dest="audit_command", required=True)
    audit_verify = audit.add_parser("verify", help="recompute the hash chain from its newest signed checkpoint "
                                                   "and check it against the checkpoint file")
    audit_verify.add_argument("--full", action="store_true", help="recompute every event from the genesis")
    audit_verify.set_defaults(func=cmd_audit_verify)
    audit.add_parser("checkpoint", help="anchor the chain's head in a signed file outside the database")\
        .set_defaults(func=cmd_audit_checkpoint)
    recordings = sub.add_parser("recordings", help="recorded sessions").add_subparsers(dest="rec_command",
                                                                                      required=True)
    verify = recordings.add_parser("verify", help="recompute every hash and check the audit chain")
    verify.add_argument("id", nargs="?", type=int, help="one recording (all when omitted)")
    verify.set_defaults(func=cmd_recordings_verify)
    purge = recordings.add_parser("purge", help="delete a recording (refused while its matter is open)")
    purge.add_argument("id", nargs="?", type=int)
    purge.add_argument("--expired", action="store_true", help="every recording past VRECEPTION_RECORDING_RETENTION_DAYS")
    purge.add_argument("--reason")
    purge.set_defaults(func=cmd_recordings_purge)

    backup_cmd = sub.add_parser("backup", help="copy the database, the recordings' files and the data files into "
                                               "a new directory (not the secret key)")
    backup_cmd.add_argument("dir")
    backup_cmd.set_defaults(func=cmd_backup)
    restore_cmd = sub.add_parser("restore", help="bring a backup back onto an empty database and fresh storage")
    restore_cmd.add_argument("dir")
    restore_cmd.set_defaults(func=cmd_restore)

    from vreception.integration.commands import add_commands as add_integration_commands

    add_integration_commands(sub, _database)  # export changes, integration backfill

    calendar = sub.add_parser("calendar", help="the official working-day calendar").add_subparsers(
        dest="calendar_command", required=True)
    load = calendar.add_parser("load", help="load a year's official holidays and make-up workdays (JSON)")
    load.add_argument("file")
    load.set_defaults(func=cmd_calendar_load)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `vreception` console script."""
    args = parser().parse_args(argv)
    settings = get_settings()
    use_time_zone(settings.time_zone)
    try:
        code: int = args.func(args, settings)  # one of the cmd_* functions above
        return code
    except DomainError as exc:
        print(f"error ({exc.code}): {translate(exc.message_key, settings.default_language, **exc.params)}", file=sys.stderr)
        return 2
    except InsecureConfiguration as exc:
        print(f"refusing to start: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
