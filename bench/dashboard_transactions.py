"""The transactions' dashboard against a big table: the figures of a period and the
lists behind them, with the page's own code (``Core.transaction_dashboard``).

    .venv/bin/python bench/dashboard_transactions.py [--transactions 100000]
                                                     [--inquiries 200000]
                                                     [--database-url URL]

Loads a fresh database (SQLite in a temp dir unless ``--database-url``, which is emptied
first) with bench/_dataset.py's transactions (one registered a minute from 2024-01-01,
20 departments, half of those with three events issued, a quarter of those awaiting a
reply) and ``--inquiries`` inquiry-log rows over the same weeks; then times, as
leadership (every department) and as one department's staff, five runs each (the
median and the slowest printed): the figures of a 30-day period, of the whole year, and
the overdue list behind them. The page's targets (issue 18): under 2 s on SQLite with
100,000 rows, under 1 s on PostgreSQL at 1,000,000.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._dataset import BASE_TIME, insert_in_chunks, loading, prepare, vacuum  # noqa: E402
from core.access.actors import LEADERSHIP, SPECIALIST, Actor  # noqa: E402
from core.dashboards.transactions import Period, TransactionDashboard  # noqa: E402
from core.platform.db import Database  # noqa: E402
from core.platform.settings import CoreSettings  # noqa: E402
from core.transactions.models import InquiryLog  # noqa: E402

CHANNELS = ("sms", "ivr", "portal", "kiosk", "email")
RUNS = 5


def _inquiry(i: int) -> dict:
    return {"id": i + 1, "at": BASE_TIME + timedelta(seconds=i * 37),
            "channel": CHANNELS[i % len(CHANNELS)], "outcome": "found",
            "requester_kind": "mobile", "requester_key": f"{i % 5000:064d}",
            "requester_masked": "05xxxxx", "transaction_id": None, "latency_ms": 3.0}


def timed(label: str, call) -> None:
    seconds = []
    for _ in range(RUNS):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    print(f"{label:<55} median {statistics.median(seconds) * 1000:7.1f} ms"
          f"   slowest {max(seconds) * 1000:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--inquiries", type=int, default=200_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        loaded = prepare(url, args.transactions, b"bench-key" * 4, log=lambda *a: None)
        with loading(url) as engine:
            insert_in_chunks(engine, InquiryLog, args.inquiries, _inquiry)
        vacuum(url)
        print(f"loaded {loaded.transactions:,} transactions ({loaded.events:,} events) and "
              f"{args.inquiries:,} inquiries in {loaded.seconds:.0f} s")
        db = Database(url)
        board = TransactionDashboard(db, CoreSettings())
        leadership = Actor(1, "boss", "Boss", LEADERSHIP, None)
        staff = Actor(2, "clerk", "Clerk", SPECIALIST, 1, department_id=1)
        first = BASE_TIME.date()
        month = Period(first + timedelta(days=20), first + timedelta(days=49))
        year = Period(date(2024, 1, 1), date(2024, 12, 31))
        now = datetime(2024, 6, 1, 9, 0, tzinfo=BASE_TIME.tzinfo)
        for who, actor in (("leadership", leadership), ("one department", staff)):
            timed(f"{who}: figures of 30 days", lambda a=actor: board.figures(a, month, now=now))
            timed(f"{who}: figures of a year", lambda a=actor: board.figures(a, year, now=now))
            timed(f"{who}: the overdue list (500 newest)",
                  lambda a=actor: board.transaction_list(a, "overdue", year, now=now))
        db.dispose()


if __name__ == "__main__":
    main()
