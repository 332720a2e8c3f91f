"""The overdue scan against a big table: the time of one scan and enqueue.

    .venv/bin/python bench/overdue.py [--sizes 100000,1000000] [--overdue-share 0.01]
                                      [--database-url URL]

For each size it loads a fresh database (SQLite in a temp dir unless ``--database-url``,
which is emptied first) with that many transactions: ``--overdue-share`` of them overdue
(issued 15 to 60 days ago, reply expected, none yet), 4 % awaiting a reply not yet due,
the rest registered, assigned or closed, spread over 20 departments. Then it times, with
the scan's own code, at 12:00 Riyadh (past ``overdue_send_at``):

1. the first scan, which writes one follow-up row and one outbox message per overdue
   transaction (the figure the issue targets: under 1 s for 1,000,000 at 1 %), in a
   fresh process (the message catalog and the statements compiled on the way); then the
   same again twice, the rows forgotten in between, as a running scheduler does it;
2. a second scan at once, which finds nothing to send (the steady state between
   reminder days): what a scan costs when nothing is due;
3. three days later, the reminder day: every clock due, one reminder each;
4. the same-run baselines: the bare SELECT of the due rows (what any scan must read),
   and a count(*) of the whole table (what a scan that grew with the table would pay);
5. the biggest table again with a tenth of the overdue share, and a closing table: the
   scan's cost follows the number due, not the size of the table.

It also prints the query plan of the candidate query, which reads the
``(department_id, status, reply_expected, issued_at)`` index, not the table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, func, insert, select  # noqa: E402

from bench._dataset import insert_in_chunks, loading, migrate_fresh, vacuum  # noqa: E402
from core.directory.models import Agency, Department
from core.messaging.models import Notification
from core.platform.db import Database  # noqa: E402
from core.platform.settings import CoreSettings  # noqa: E402
from core.transactions import overdue  # noqa: E402
from core.transactions.models import OverdueFollowUp, Transaction
from core.transactions.overdue import scanning  # noqa: E402

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DEPARTMENTS, AGENCIES = 20, 12
CONFIG = CoreSettings(locale={"timezone": "Asia/Riyadh"}, security={"national_id_key": "bench"})


def _row(i: int, overdue_every: int) -> dict:
    registered = NOW - timedelta(days=90, minutes=i % 50_000)
    # By hundreds, so that the overdue (every 100th at 1 %) spread over the departments.
    kind = ("overdue" if i % overdue_every == 0 else
            "awaiting" if i % 25 == 1 else ("registered", "assigned", "closed")[i % 3])
    issued_at = {"overdue": NOW - timedelta(days=15 + i % 45, hours=i % 24),
                 "awaiting": NOW - timedelta(days=i % 9, hours=i % 24)}.get(kind)
    return {
        "id": i + 1, "number": str(30_000_000 + i), "subject": "", "registered_at": registered,
        "status": "issued" if issued_at else kind, "applicant_name": "",
        "applicant_language": "ar", "department_id": 1 + (i // 100) % DEPARTMENTS,
        "outgoing_number": f"9{i:07d}" if issued_at else None,
        "destination_agency_id": 1 + i % AGENCIES if issued_at else None,
        "issued_at": issued_at, "reply_expected": issued_at is not None,
        "last_event_at": issued_at or registered, "updated_at": registered,
    }


def load(url: str, size: int, share: float) -> int:
    migrate_fresh(url)
    every = max(1, round(1 / share))
    with loading(url) as engine:
        with engine.begin() as conn:
            conn.execute(insert(Department), [
                {"id": d, "code": f"D{d:02d}", "name_ar": f"إدارة {d}",
                 "name_en": f"Department {d}", "manager_name": f"مدير {d}",
                 "manager_mobile": f"+96650{d:07d}", "reply_days": 10, "updated_at": NOW}
                for d in range(1, DEPARTMENTS + 1)])
            conn.execute(insert(Agency), [
                {"id": a, "code": f"A{a:02d}", "name_ar": f"وزارة {a}",
                 "name_en": f"Ministry {a}", "updated_at": NOW}
                for a in range(1, AGENCIES + 1)])
        insert_in_chunks(engine, Transaction, size, lambda i: _row(i, every))
    vacuum(url)  # the overdue rows are weeks old: autovacuum has long since been by
    return len(range(0, size, every))


def timed_scan(db: Database, now: datetime = NOW) -> tuple[float, overdue.ScanResult]:
    started = time.perf_counter()
    result = overdue.scan(db, CONFIG, now=now)
    return time.perf_counter() - started, result


def timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    value = work()
    return time.perf_counter() - started, value


def forget(db: Database) -> None:
    with db.write.begin() as session:
        session.execute(delete(Notification))
        session.execute(delete(OverdueFollowUp))


def _rules(db: Database) -> list[overdue.Rule]:
    with db.read() as session:
        return overdue.load_rules(session, CONFIG)


def bare_select(db: Database) -> int:
    """The baseline: the overdue rows as the scan reads them (each department's index
    range), nothing written."""
    today = NOW.astimezone(CONFIG.tz).date()
    with db.read() as session:
        return sum(len(session.execute(
            select(Transaction.id, Transaction.outgoing_number, Transaction.issued_at,
                   Transaction.destination_agency_id)
            .where(*overdue.overdue_conditions(rule, today, CONFIG.tz))).all())
            for rule in _rules(db))


def whole_table(db: Database) -> int:
    """What a scan growing with the table would pay: one read of every row (no index
    answers the condition)."""
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Transaction)
                              .where(func.length(Transaction.subject) >= 0))


def plan(db: Database) -> str:
    with db.read() as session:
        rule = overdue.load_rules(session, CONFIG)[1]
        query = select(func.count()).select_from(scanning._candidates(
            rule, NOW.astimezone(CONFIG.tz).date(), CONFIG.tz).subquery())
        compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
        rows = session.connection().exec_driver_sql(prefix + str(compiled)).all()
    return "\n".join("      " + " ".join(str(c) for c in row) for row in rows)


def run(url: str, size: int, share: float) -> dict[str, float]:
    started = time.perf_counter()
    due = load(url, size, share)
    print(f"{size:>9,} transactions, {due:>6,} overdue ({share:.2%}); "
          f"loaded in {time.perf_counter() - started:.1f} s")
    db = Database(url)
    try:
        first, result = timed_scan(db)
        assert result.notified == due, (result.notified, due)
        print(f"   first scan: {result.notified:,} messages in {first:.3f} s (fresh process)")
        again = []
        for _ in range(2):
            forget(db)
            seconds, result = timed_scan(db)
            assert result.notified == due, (result.notified, due)
            again.append(seconds)
        print("   first scan again, rows forgotten in between: "
              + ", ".join(f"{s:.3f} s" for s in again))
        idle, result = timed_scan(db)
        assert result.notified == result.reminded == 0
        print(f"   next scan, nothing due: {idle:.3f} s")
        reminder_day = NOW + timedelta(days=CONFIG.scheduler.overdue_repeat_days)
        seconds, result = timed_scan(db, reminder_day)
        assert result.reminded == due, (result.reminded, due)
        print(f"   reminder day: {result.reminded:,} reminders (and {result.notified:,} "
              f"newly overdue told) in {seconds:.3f} s")
        selected_in, selected = timed(lambda: bare_select(db))
        counted_in, counted = timed(lambda: whole_table(db))
        print(f"   baseline, the bare SELECT of the {selected:,} due rows: {selected_in:.3f} s;"
              f" one full read of all {counted:,} transactions: {counted_in:.3f} s")
        print("   candidate query plan:\n" + plan(db))
    finally:
        db.dispose()
    return {"size": size, "due": due, "first": first, "warm": min(again), "idle": idle,
            "select": selected_in, "count": counted_in}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--overdue-share", type=float, default=0.01)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    runs = [(size, args.overdue_share) for size in sizes]
    runs.append((max(sizes), args.overdue_share / 10))
    with tempfile.TemporaryDirectory(prefix="bench-overdue-") as tmp:
        figures = [
            run(args.database_url or f"sqlite:///{Path(tmp) / f'gateway-{n}.db'}", size, share)
            for n, (size, share) in enumerate(runs)]
    print("\n   transactions     due   first scan  (again)  nothing due  bare SELECT"
          "  full read")
    for f in figures:
        print(f"   {f['size']:>12,}  {f['due']:>6,}  {f['first']:>9.3f} s  {f['warm']:.3f} s"
              f"  {f['idle']:>9.3f} s  {f['select']:>9.3f} s  {f['count']:>7.3f} s")
    for due in sorted({f["due"] for f in figures}):
        same = [f for f in figures if f["due"] == due]
        if len(same) > 1:
            print(f"   {due:,} due: first scan (again) "
                  + " vs ".join(f"{f['warm']:.3f} s with {f['size']:,}" for f in same)
                  + "; full read " + " vs ".join(f"{f['count']:.3f} s" for f in same))


if __name__ == "__main__":
    main()
