"""The Citizen's Voice alarm scan against a big table: its cost follows the cases due,
not the cases stored.

    .venv/bin/python bench/voice_alarms.py [--sizes 100000,1000000] [--due 100,1000,10000]
                                           [--database-url URL]

For each size it loads a fresh database (SQLite in a temp dir unless ``--database-url``,
which is emptied first) with that many cases over 24 agencies and the emirate, each with
a coordinator, a leader and five specialists, and two leadership users: 15 % open with
a running clock, their next alarm (the warning) days ahead; the rest answered or closed,
with none. Then, for each ``--due`` count, it makes that many open cases due (their
warning and breach both passed, a fresh set each time) and times ``alarms.scan`` at
09:00 on a Sunday in Riyadh, working time: the alarm rows, the cases' new escalation and
next alarm, and the messages (one per recipient and level per batch), committed. Beside
it, with the same run's database:

- the same scan with nothing due (the steady state between alarms);
- the baseline a scan without ``next_alarm_at`` would pay: one read of every case whose
  clock runs, to compute its levels (it grows with the open cases, so with the table).

It prints the plan of the scan's query, which reads the ``next_alarm_at`` index. The
issue's target: under 2 s at 1,000,000 cases, growing with the cases due.
``scan_figures(db, config, due)`` is the measuring function, for ``bench/voice.py``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, insert, select, update  # noqa: E402

from bench._dataset import insert_in_chunks, loading, migrate_fresh, vacuum  # noqa: E402
from core.access.actors import AGENCY_LEADER, COORDINATOR, LEADERSHIP, SPECIALIST  # noqa: E402
from core.access.models import StaffUser  # noqa: E402
from core.calendar import versions  # noqa: E402
from core.directory.models import Agency  # noqa: E402
from core.messaging.models import Notification  # noqa: E402
from core.platform.db import Database  # noqa: E402
from core.platform.settings import CoreSettings  # noqa: E402
from core.voice import alarms, states  # noqa: E402
from core.voice.models import CaseAlarm, DeadlinePolicy, VoiceCase  # noqa: E402

# Sunday 6 December 2026, 09:00 in Riyadh: working time.
NOW = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)
AGENCIES, SPECIALISTS = 25, 5  # agency 25 is the emirate
TARGET = timedelta(days=14)
TARGET_SECONDS = 2.0
CONFIG = CoreSettings(locale={"timezone": "Asia/Riyadh"}, security={"national_id_key": "bench"})


def _users() -> list[dict[str, Any]]:
    users = [{"login": f"{role}-{a}-{n}", "name": f"موظف {a}", "role": role, "agency_id": a,
              "mobile": f"+9665{a:02d}{n:02d}0000", "password_hash": "-",
              "must_change_password": False, "failed_logins": 0, "created_at": NOW}
             for a in range(1, AGENCIES + 1)
             for role, count in ((COORDINATOR, 1), (AGENCY_LEADER, 1), (SPECIALIST, SPECIALISTS))
             for n in range(count)]
    return users + [{"login": f"leadership-{n}", "name": "القيادة", "role": LEADERSHIP,
                     "agency_id": None, "mobile": f"+96659900000{n}", "password_hash": "-",
                     "must_change_password": False, "failed_logins": 0, "created_at": NOW}
                    for n in range(2)]


def _case(i: int) -> dict[str, Any]:
    open_ = i % 20 < 3  # 15 %
    received = NOW - timedelta(days=3) - timedelta(minutes=i % 10_000)
    if not open_:
        received -= timedelta(days=30 + i % 1000)
    agency = 1 + i % AGENCIES
    return {
        "tracking": f"{7_000_000_000 + i}", "case_type": "complaint",
        "state": states.IN_PROGRESS if open_ else states.CLOSED, "agency_id": agency,
        "about_own_staff": False, "channel": "sms", "language": "ar",
        "text": "بلاغ عن تأخر الخدمة في الحي", "cycle": 1, "policy_id": 1,
        "calendar_version": 1, "received_at": received, "cycle_started_at": received,
        # Users go in agency by agency (coordinator, leader, specialists): their ids.
        "assigned_user_id": (agency - 1) * (SPECIALISTS + 2) + 3 + i % SPECIALISTS,
        "answer_due": received + TARGET,
        "acknowledge_due": received + timedelta(days=1),
        "answered_at": None if open_ else received + TARGET / 2,
        "closed_at": None if open_ else received + TARGET / 2, "escalation": 0,
        "next_alarm_at": received + TARGET * 3 / 4 if open_ else None,
        "updated_at": received,
    }


def load(url: str, size: int) -> None:
    migrate_fresh(url)
    database = Database(url)
    try:
        with database.write.begin() as session:  # the calendar the clock reads: version 1
            versions.current(session, CONFIG)
    finally:
        database.dispose()
    with loading(url) as engine:
        with engine.begin() as conn:
            conn.execute(insert(Agency), [
                {"id": a, "code": "EMIRATE" if a == AGENCIES else f"AG{a:02d}",
                 "name_ar": f"جهة {a}", "name_en": f"Agency {a}", "updated_at": NOW}
                for a in range(1, AGENCIES + 1)])
            conn.execute(insert(StaffUser), _users())
            conn.execute(insert(DeadlinePolicy), [{
                "id": 1, "acknowledge_value": 1, "acknowledge_unit": "d", "answer_value": 10,
                "answer_unit": "d", "created_at": NOW}])
        insert_in_chunks(engine, VoiceCase, size, _case)
    vacuum(url)


def make_due(db: Database, count: int, after: int) -> int:
    """Make ``count`` open cases past their warning and breach (started 18 days ago, their
    target ten working days); the last id taken, for the next set to start after."""
    started = NOW - timedelta(days=18)
    with db.write.begin() as session:
        ids = list(session.scalars(
            select(VoiceCase.id).where(VoiceCase.state == states.IN_PROGRESS,
                                       VoiceCase.id > after)
            .order_by(VoiceCase.id).limit(count)))
        assert len(ids) == count, "not enough open cases left: a bigger --sizes"
        for first in range(0, count, 1000):  # SQLite's limit on parameters
            session.execute(update(VoiceCase).where(VoiceCase.id.in_(ids[first:first + 1000]))
                            .values(cycle_started_at=started, answer_due=started + TARGET,
                                    escalation=0, next_alarm_at=NOW - timedelta(minutes=1)))
    return ids[-1]


def scan_figures(db: Database, config: CoreSettings, due: int, now: datetime = NOW
                 ) -> tuple[float, alarms.ScanResult]:
    """One scan at ``now``, timed; it must raise the warning and breach of ``due`` cases."""
    started = time.perf_counter()
    result = alarms.scan(db, config, now=now)
    seconds = time.perf_counter() - started
    assert result.due == due and result.raised["breach"] == due, result
    return seconds, result


def running_clocks(db: Database) -> tuple[float, int]:
    """The baseline: read every case whose clock runs, as a scan computing each one's
    levels afresh would."""
    started = time.perf_counter()
    with db.read() as session:
        rows = session.execute(select(
            VoiceCase.id, VoiceCase.cycle_started_at, VoiceCase.answer_due,
            VoiceCase.escalation).where(VoiceCase.state.in_(states.CLOCK_RUNNING))).all()
    return time.perf_counter() - started, len(rows)


def plan(db: Database) -> str:
    query = alarms.due_cases(NOW, alarms.BATCH, locking=not db.is_sqlite)
    compiled = query.compile(db.engine)
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    with db.engine.connect() as conn:
        parameters: Any = (tuple(compiled.params[name] for name in compiled.positiontup or ())
                           if db.is_sqlite else compiled.params)
        if db.is_sqlite:  # the column keeps UTC without a zone there
            parameters = tuple(p.replace(tzinfo=None) if isinstance(p, datetime) else p
                               for p in parameters)
        rows = conn.exec_driver_sql(prefix + str(compiled), parameters).all()
    return "\n".join("      " + " ".join(str(c) for c in row) for row in rows)


def forget(db: Database) -> None:
    with db.write.begin() as session:
        session.execute(delete(Notification))
        session.execute(delete(CaseAlarm))


def run(url: str, size: int, dues: list[int]) -> list[tuple[int, int, float]]:
    started = time.perf_counter()
    load(url, size)
    print(f"{size:>9,} cases loaded in {time.perf_counter() - started:.1f} s")
    figures = []
    db = Database(url)
    try:
        after = 0
        for due in dues:
            after = make_due(db, due, after)
            seconds, result = scan_figures(db, CONFIG, due)
            figures.append((size, due, seconds))
            verdict = "PASS" if seconds < TARGET_SECONDS else "MISS"
            print(f"   {due:>6,} due: {seconds:.3f} s ({seconds / due * 1000:.2f} ms a case), "
                  f"{sum(result.raised.values()):,} alarms, {result.messages:,} messages "
                  f"(target < {TARGET_SECONDS:.0f} s: {verdict})")
            forget(db)
        idle = time.perf_counter()
        nothing = alarms.scan(db, CONFIG, now=NOW)
        assert nothing.due == 0, nothing
        print(f"   nothing due: {time.perf_counter() - idle:.4f} s")
        seconds, running = running_clocks(db)
        print(f"   baseline, one read of the {running:,} running clocks: {seconds:.3f} s")
        print("   the scan's query plan:\n" + plan(db))
    finally:
        db.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--due", default="100,1000,10000")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    dues = [int(d) for d in args.due.split(",")]
    figures = []
    for size in sizes:
        if args.database_url:
            figures += run(args.database_url, size, dues)
            continue
        with tempfile.TemporaryDirectory(prefix="bench-alarms-") as tmp:
            figures += run(f"sqlite:///{Path(tmp) / 'alarms.db'}", size, dues)
    print("\n   cases stored   cases due   scan")
    for size, due, seconds in figures:
        print(f"   {size:>12,} {due:>11,} {seconds:>8.3f} s")


if __name__ == "__main__":
    main()
