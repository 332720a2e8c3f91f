"""bench/big.py's candidates: what an index or a partition buys on the big tables.

Each candidate changes the schema (creates its index, or drops the ones it would
replace), measures again the figures it should move, and reports its build time and size
beside the figures without it, measured in the same run just before; then it puts the
schema back as the migrations left it. The partitions are measured on partitioned copies
of the tables (the same rows; the product's code does not know them), with the same SQL
on both sides.

Candidates (``--candidates`` names, or ``all``):

- ``mobile``: ``transactions (applicant_mobile)``: "my transactions" by mobile, the SMS
  keyword (without it, every such SMS reads the whole table).
- ``open_partial``: the overdue scan's index as a partial index over the transactions
  awaiting a reply only, ``(department_id, issued_at) WHERE status = 'issued' AND
  reply_expected``, in place of ``ix_transactions_awaiting_by_department`` and
  ``ix_transactions_awaiting_reply``.
- ``times_covering``: ``(department_id, issued_at, registered_at)`` in place of
  ``ix_transactions_department_issued``: the dashboard's registration-to-issue times
  from the index alone.
- ``log_brin``: BRIN on ``inquiry_log.at`` in place of the B-tree (the log is written in
  time order).
- ``log_covering``: ``inquiry_log (at, channel)`` in place of ``(at)``: the dashboard's
  counts by channel and by hour from the index alone.
- ``unused``: the indexes no path of the product reads (``requester_key`` on the log,
  ``status`` and ``(status, reply_expected, issued_at)`` on transactions): what writing
  the log and a transaction's status change cost without them, and the reads again.
- ``log_by_month``: the inquiry log partitioned by month: the dashboard's counts, and a
  month's rows removed (DELETE against dropping the partition).
- ``events_by_month``: the timeline partitioned by month (what the lookup reads per
  inquiry; only up to 2,000,000 transactions: the copy doubles the largest table).
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta

import big_data
from big import _machine, _say, _sql, percentiles, timed

NAMES = ("mobile", "open_partial", "times_covering", "log_brin", "log_covering", "unused",
         "log_by_month", "events_by_month")
EVENTS_COPY_LIMIT = 2_000_000


def run(url: str, dsn: str, shape: big_data.Shape, which: str,
        make_core: Callable[[str, str], object]) -> dict:
    """The candidates named by ``which``, with a core from ``make_core(url, var_dir)``
    (bench/big.py's: it knows whether to insist on the current schema)."""
    names = NAMES if which == "all" else tuple(which.split(","))
    unknown = set(names) - set(NAMES)
    if unknown:
        raise SystemExit(f"--candidates: unknown {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(NAMES)}")
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        core = make_core(url, tmp)
        try:
            probe = Probe(core, dsn, shape)
            for name in names:
                _say(f"\n== candidate {name} ({_machine()})")
                kept = IN_THE_SCHEMA.get(name)
                if kept and _exists(probe, kept[0]) != kept[1]:
                    _say(f"   in the schema already ({kept[2]}): measured with --baseline "
                         f"b4d8f2a6c931")
                    results[name] = {"in_the_schema": kept[2]}
                    continue
                results[name] = CANDIDATES[name](probe)
        finally:
            core.close()
    return results


class Probe:
    """The figures a candidate may move, each measured the way bench/big.py does."""

    def __init__(self, core, dsn: str, shape: big_data.Shape) -> None:
        self.core, self.dsn, self.shape = core, dsn, shape
        today = big_data.NOW.astimezone(core.config.tz).date()
        from core.dashboards.transactions import Period

        self.month = Period(today - timedelta(days=29), today)
        self.year = Period(today - timedelta(days=364), today)

    def sql(self, statement: str, *, autocommit: bool = True) -> list[tuple]:
        return _sql(self.dsn, statement, autocommit=autocommit)

    def build(self, statement: str) -> float:
        started = time.perf_counter()
        self.sql(statement)
        return round(time.perf_counter() - started, 1)

    def size(self, index: str) -> int:
        return self.sql(f"SELECT pg_relation_size('{index}')")[0][0]

    # --- the figures --------------------------------------------------------------

    def mine(self) -> dict:
        rng = random.Random(5)
        spent = []
        for _ in range(20):
            started = time.perf_counter()
            self.core.mine.by_mobile(big_data.mobile(rng.randrange(self.shape.applicants)))
            spent.append(time.perf_counter() - started)
        return {"my transactions by mobile": percentiles(spent)}

    def overdue(self) -> dict:
        import overdue as overdue_bench

        from core.platform.db import Database

        db = Database(self.core.db.engine.url.render_as_string(hide_password=False))
        try:
            overdue_bench.forget(db)
            figures = {}
            for label in ("first scan", "nothing due"):
                started = time.perf_counter()
                self.core.upkeep.scan_overdue(now=big_data.NOW)
                figures[label] = {"seconds": round(time.perf_counter() - started, 3)}
            seconds, count = overdue_bench.timed(lambda: overdue_bench.bare_select(db))
            figures["bare select"] = {"seconds": round(seconds, 3), "rows": count}
            overdue_bench.forget(db)
        finally:
            db.dispose()
        return figures

    def figures(self) -> dict:
        from core.access.actors import LEADERSHIP, SPECIALIST, Actor

        board = self.core.transaction_dashboard
        leadership = Actor(1, "boss", "Boss", LEADERSHIP, None)
        staff = Actor(2, "clerk", "Clerk", SPECIALIST, 1, department_id=1)
        return {
            "leadership: figures of 30 days": timed(lambda: board.figures(
                leadership, self.month, now=big_data.NOW)),
            "leadership: figures of a year": timed(lambda: board.figures(
                leadership, self.year, now=big_data.NOW)),
            "one department: figures of a year": timed(lambda: board.figures(
                staff, self.year, now=big_data.NOW)),
            "leadership: the awaiting list": timed(lambda: board.transaction_list(
                leadership, "awaiting", self.month, now=big_data.NOW)),
            "leadership: the overdue list": timed(lambda: board.transaction_list(
                leadership, "overdue", self.month, now=big_data.NOW)),
        }

    def log_counts(self, table: str = "inquiry_log") -> dict:
        """The dashboard's two inquiry queries (``_by_channel``, ``_by_hour``), as SQL."""
        out = {}
        for label, period in (("30 days", self.month), ("a year", self.year)):
            start, end = period.bounds(self.core.config)
            where = f"at >= '{start.isoformat()}' AND at < '{end.isoformat()}'"
            out[f"inquiries by channel, {label}"] = timed(lambda w=where: self.sql(
                f"SELECT channel, count(*) FROM {table} WHERE {w} GROUP BY channel "
                f"ORDER BY channel"))
            out[f"inquiries by hour, {label}"] = timed(lambda w=where: self.sql(
                f"SELECT date_trunc('hour', at), count(*) FROM {table} WHERE {w} "
                f"GROUP BY 1"))
        return out

    def transaction_writes(self, rows: int = 20_000) -> dict:
        """What a lifecycle event's UPDATE costs the server: ``rows`` transactions moved
        to another status (its index entries rewritten, as a status change does), one
        statement, rolled back; best of three."""
        rng = random.Random(17)
        spent = []
        for _ in range(3):
            ids = ",".join(str(rng.randrange(1, self.shape.transactions + 1))
                           for _ in range(rows))
            started = time.perf_counter()
            self.sql(f"BEGIN; UPDATE transactions SET status = 'closed', closed_at = now(), "
                     f"last_event_at = now() WHERE id IN ({ids}); ROLLBACK")
            spent.append(time.perf_counter() - started)
        return {"transaction updates per second (best of 3)": round(rows / min(spent))}

    def log_writes(self, rows: int = 50_000) -> dict:
        """What the inquiry log writer pays for ``rows`` rows (batches of 1,000)."""
        from core.transactions.inquiry_log import InquiryLogWriter, LogEntry

        writer = InquiryLogWriter(self.core.db.write_engine, background=False)
        spent = []
        for _ in range(3):
            # Keyed hashes, so random keys: each lands on its own page of the key's index.
            entries = [LogEntry("sms", "found", "mobile", os.urandom(32).hex(), "05xxxxx",
                                None, 3.0, big_data.NOW + timedelta(days=1, seconds=k))
                       for k in range(rows)]
            started = time.perf_counter()
            for first in range(0, rows, 1000):
                writer._insert(entries[first:first + 1000])
            spent.append(time.perf_counter() - started)
        self.sql(f"DELETE FROM inquiry_log WHERE at > '{big_data.NOW.isoformat()}'")
        best = min(spent)
        return {"inquiry log rows written per second (best of 3)": round(rows / best),
                "median_s": round(statistics.median(spent), 2)}


def _compare(probe: Probe, measure: Callable[[], dict], change: Callable[[], dict],
             undo: Callable[[], None]) -> dict:
    """The figures before, the change (its own figures: build time, size), the figures
    after, then the schema put back."""
    before = measure()
    changed = change()
    try:
        after = measure()
    finally:
        undo()
    for key in before:
        _say(f"   {key:<52} {_short(before[key]):>22}  ->  {_short(after[key]):>22}")
    for key, value in changed.items():
        _say(f"   {key}: {value}")
    return {"before": before, "change": changed, "after": after}


def _short(figure) -> str:
    if isinstance(figure, dict):
        for key in ("median_ms", "p50_ms"):
            if key in figure:
                return f"{figure[key]:,.1f} ms" + (
                    f" (p99 {figure['p99_ms']:,.1f})" if "p99_ms" in figure else "")
        if "seconds" in figure:
            return f"{figure['seconds']:.3f} s"
    return f"{figure:,}" if isinstance(figure, int | float) else str(figure)


# --- the candidates ---------------------------------------------------------------------


def mobile(probe: Probe) -> dict:
    def change() -> dict:
        seconds = probe.build("CREATE INDEX bench_mobile ON transactions (applicant_mobile)")
        return {"build_seconds": seconds, "bytes": probe.size("bench_mobile")}

    return _compare(probe, probe.mine, change,
                    lambda: probe.sql("DROP INDEX IF EXISTS bench_mobile"))


AWAITING = ("ix_transactions_awaiting_by_department",
            "CREATE INDEX ix_transactions_awaiting_by_department ON transactions "
            "(department_id, status, reply_expected, issued_at)")
AWAITING_REPLY = ("ix_transactions_awaiting_reply",
                  "CREATE INDEX ix_transactions_awaiting_reply ON transactions "
                  "(status, reply_expected, issued_at)")


def _exists(probe: Probe, index: str) -> bool:
    return bool(probe.sql(f"SELECT to_regclass('{index}')")[0][0])


def _replace(probe: Probe, old: list[tuple[str, str]], new: str, name: str
             ) -> tuple[Callable[[], dict], Callable[[], None]]:
    """A change that builds ``new`` and drops those of ``old`` the schema has; its undo
    rebuilds them."""
    old = [(index, create) for index, create in old if _exists(probe, index)]

    def change() -> dict:
        seconds = probe.build(new)
        sizes = {index: probe.size(index) for index, _ in old}
        for index, _ in old:
            probe.sql(f"DROP INDEX {index}")
        return {"build_seconds": seconds, "bytes": probe.size(name),
                "replaced_bytes": sizes}

    def undo() -> None:
        probe.sql(f"DROP INDEX IF EXISTS {name}")
        for index, create in old:
            if not probe.sql(f"SELECT to_regclass('{index}')")[0][0]:
                started = time.perf_counter()
                probe.sql(create)
                _say(f"   rebuilt {index} in {time.perf_counter() - started:.1f} s")
    return change, undo


def open_partial(probe: Probe) -> dict:
    change, undo = _replace(
        probe, [AWAITING, AWAITING_REPLY],
        "CREATE INDEX bench_awaiting ON transactions (department_id, issued_at) "
        "WHERE status = 'issued' AND reply_expected", "bench_awaiting")

    def changed() -> dict:
        figures = change()
        figures["plans"] = _awaiting_plans(probe)
        return figures

    return _compare(probe, lambda: {**probe.overdue(), **probe.figures()}, changed, undo)


def _awaiting_plans(probe: Probe) -> dict[str, str]:
    """Which index the overdue query's plan reads, with its status as a parameter: a
    custom plan (the value known) and a generic one (as a statement prepared by the
    driver may get after five runs), which cannot prove a partial index's predicate."""
    import psycopg

    plans = {}
    with psycopg.connect(probe.dsn, autocommit=True) as conn:
        conn.execute("PREPARE awaiting (text, bigint, timestamptz) AS SELECT count(*) "
                     "FROM transactions WHERE status = $1 AND reply_expected = true AND "
                     "department_id = $2 AND issued_at < $3")
        for mode in ("force_custom_plan", "force_generic_plan"):
            conn.execute(f"SET plan_cache_mode = {mode}")
            rows = conn.execute(f"EXPLAIN EXECUTE awaiting ('issued', 1, "
                                f"'{big_data.NOW.isoformat()}')").fetchall()
            plans[mode] = " / ".join(row[0].strip() for row in rows if "Scan" in row[0])
            _say(f"   {mode}: {plans[mode]}")
    return plans


def times_covering(probe: Probe) -> dict:
    change, undo = _replace(
        probe, [("ix_transactions_department_issued",
                 "CREATE INDEX ix_transactions_department_issued ON transactions "
                 "(department_id, issued_at)")],
        "CREATE INDEX bench_issued_times ON transactions "
        "(department_id, issued_at, registered_at)", "bench_issued_times")
    return _compare(probe, probe.figures, change, undo)


LOG_AT = ("ix_inquiry_log_at", "CREATE INDEX ix_inquiry_log_at ON inquiry_log (at)")
LOG_AT_CHANNEL = ("ix_inquiry_log_at_channel",
                  "CREATE INDEX ix_inquiry_log_at_channel ON inquiry_log (at, channel)")


def log_brin(probe: Probe) -> dict:
    change, undo = _replace(probe, [LOG_AT, LOG_AT_CHANNEL],
                            "CREATE INDEX bench_log_brin ON inquiry_log USING brin (at)",
                            "bench_log_brin")
    return _compare(probe, lambda: {**probe.log_counts(), **probe.log_writes()}, change, undo)


def log_covering(probe: Probe) -> dict:
    change, undo = _replace(probe, [LOG_AT],
                            "CREATE INDEX bench_log_at_channel ON inquiry_log (at, channel)",
                            "bench_log_at_channel")

    def measure() -> dict:
        probe.sql("VACUUM inquiry_log")  # index-only scans need the visibility map
        return probe.log_counts()

    return _compare(probe, measure, change, undo)


UNUSED = [("ix_inquiry_log_requester_key",
           "CREATE INDEX ix_inquiry_log_requester_key ON inquiry_log (requester_key)"),
          ("ix_transactions_status", "CREATE INDEX ix_transactions_status ON transactions "
                                     "(status)"),
          AWAITING_REPLY]


def unused(probe: Probe) -> dict:
    sizes = {index: probe.size(index) for index, _ in UNUSED}

    def change() -> dict:
        for index, _ in UNUSED:
            probe.sql(f"DROP INDEX {index}")
        return {"bytes": sizes}

    def undo() -> None:
        for index, create in UNUSED:
            if not probe.sql(f"SELECT to_regclass('{index}')")[0][0]:
                probe.sql(create)

    return _compare(probe, lambda: {**probe.log_writes(), **probe.transaction_writes(),
                                    **probe.overdue(), **probe.figures()}, change, undo)


def _month_partitions(probe: Probe, table: str, copy: str, column: str, columns: str,
                      keys: str, indexes: list[str]) -> dict:
    """``copy``: ``table``'s rows in a table partitioned by the month of ``column``."""
    low, high = probe.sql(f"SELECT min({column}), max({column}) FROM {table}")[0]
    started = time.perf_counter()
    probe.sql(f"DROP TABLE IF EXISTS {copy}")
    probe.sql(f"CREATE TABLE {copy} ({columns}, PRIMARY KEY ({keys})) "
              f"PARTITION BY RANGE ({column})")
    month = low.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    count = 0
    while month <= high:
        following = (month + timedelta(days=32)).replace(day=1)
        probe.sql(f"CREATE TABLE {copy}_{month:%Y%m} PARTITION OF {copy} FOR VALUES "
                  f"FROM ('{month.isoformat()}') TO ('{following.isoformat()}')")
        month, count = following, count + 1
    names = ", ".join(part.split()[0] for part in columns.split(", "))
    probe.sql(f"INSERT INTO {copy} ({names}) SELECT {names} FROM {table}")
    for index in indexes:
        probe.sql(index)
    probe.sql(f"VACUUM ANALYZE {copy}")
    return {"partitions": count, "copy_seconds": round(time.perf_counter() - started, 1),
            "bytes": probe.sql(f"SELECT sum(pg_total_relation_size(inhrelid)) FROM "
                               f"pg_inherits WHERE inhparent = '{copy}'::regclass")[0][0]}


def log_by_month(probe: Probe) -> dict:
    made = _month_partitions(
        probe, "inquiry_log", "bench_log_by_month", "at",
        "id bigint, at timestamptz NOT NULL, channel varchar(10), outcome varchar(16), "
        "requester_kind varchar(12), requester_key varchar(64), requester_masked "
        "varchar(64), transaction_id bigint, latency_ms double precision", "id, at",
        ["CREATE INDEX ON bench_log_by_month (at)"])
    try:
        probe.sql("VACUUM ANALYZE inquiry_log")
        plain, parted = probe.log_counts(), probe.log_counts("bench_log_by_month")
        oldest = probe.sql("SELECT min(at) FROM inquiry_log")[0][0]
        first = oldest.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        following = (first + timedelta(days=32)).replace(day=1)
        started = time.perf_counter()
        probe.sql("BEGIN; DELETE FROM inquiry_log WHERE at < "
                  f"'{following.isoformat()}'; ROLLBACK", autocommit=True)
        deleted = time.perf_counter() - started
        started = time.perf_counter()
        probe.sql(f"DROP TABLE bench_log_by_month_{first:%Y%m}")
        dropped = time.perf_counter() - started
    finally:
        probe.sql("DROP TABLE IF EXISTS bench_log_by_month")
    for key in plain:
        _say(f"   {key:<52} {_short(plain[key]):>22}  ->  {_short(parted[key]):>22}")
    _say(f"   {made}; the oldest month removed: DELETE {deleted:.2f} s (rolled back), "
         f"DROP TABLE of its partition {dropped:.3f} s")
    return {"plain": plain, "partitioned": parted, "made": made,
            "delete_month_seconds": round(deleted, 2), "drop_month_seconds": round(dropped, 3)}


def events_by_month(probe: Probe) -> dict:
    if probe.shape.transactions > EVENTS_COPY_LIMIT:
        _say(f"   skipped: {probe.shape.transactions:,} transactions (the copy is measured up "
             f"to {EVENTS_COPY_LIMIT:,})")
        return {"skipped": True}
    made = _month_partitions(
        probe, "transaction_events", "bench_events_by_month", "occurred_at",
        "id bigint, event_id varchar(128), transaction_id bigint, type varchar(20), "
        "occurred_at timestamptz NOT NULL, received_at timestamptz, payload json, "
        "payload_digest varchar(64), department_id bigint, agency_id bigint",
        "id, occurred_at", ["CREATE INDEX ON bench_events_by_month (transaction_id)"])
    try:
        rng = random.Random(3)
        ids = [rng.randrange(1, probe.shape.transactions + 1) for _ in range(2000)]
        figures = {}
        for table in ("transaction_events", "bench_events_by_month"):
            spent = []
            import psycopg

            with psycopg.connect(probe.dsn, autocommit=True) as conn:
                statement = (f"SELECT type, occurred_at, department_id, agency_id FROM {table} "
                             f"WHERE transaction_id = %s ORDER BY occurred_at, id")
                for tid in ids:
                    started = time.perf_counter()
                    conn.execute(statement, (tid,), prepare=True).fetchall()
                    spent.append(time.perf_counter() - started)
            figures[table] = percentiles(spent)
    finally:
        probe.sql("DROP TABLE IF EXISTS bench_events_by_month")
    _say(f"   a transaction's timeline: {_short(figures['transaction_events'])} plain, "
         f"{_short(figures['bench_events_by_month'])} by month ({made['partitions']} "
         f"partitions)")
    return {"timeline": figures, "made": made}


# The candidates the migrations took: (an index, whether it is there before them, the
# migration); measured on the schema before them.
IN_THE_SCHEMA = {
    "mobile": ("ix_transactions_applicant_mobile", False, "e7c4a9f2b316"),
    "times_covering": ("ix_transactions_department_issued", True, "e7c4a9f2b316"),
    "unused": ("ix_transactions_status", True, "c6e1a9d4f702, e7c4a9f2b316"),
    "log_covering": ("ix_inquiry_log_at", True, "a5d8e3c1f947"),
}

CANDIDATES: dict[str, Callable[[Probe], dict]] = {
    "mobile": mobile, "open_partial": open_partial, "times_covering": times_covering,
    "log_brin": log_brin, "log_covering": log_covering, "unused": unused,
    "log_by_month": log_by_month, "events_by_month": events_by_month}
