"""Ten million transactions on PostgreSQL: loading them, and what the gateway's reads cost.

    .venv/bin/python bench/big.py --database-url URL [--transactions 10000000]
                                  [--reuse] [--import-rows 20000] [--http-seconds 10]
                                  [--candidates all|none|NAME,...] [--skip ...]

``URL`` names a throwaway PostgreSQL database: it is emptied first (all its tables
dropped), then migrated and loaded with bench/big_data.py's years of history (a gateway
registering 3,500 transactions a day; 10,000,000 span about eight years). ``--reuse``
measures the database a previous run loaded (its size is kept in the database's comment).

Measured, each beside a baseline from the same run:

1. **Import.** The bulk loader (COPY, bench/big_data.py) in rows/s, then ``gateway
   import`` as an operator runs it (a subprocess, ``--no-notify``) on ``--import-rows``
   rows of the same history, into the big table; its rows read back and compared with
   what the COPY loader writes for them.
2. **Inquiry.** In-process: the lookup statement alone and ``Core.inquire`` (kiosk
   shape), p50/p99 over transactions of the last 30 days and of the whole history, found
   and not found; over HTTP: ``gateway`` and the bare Flask floor from bench/_servers.py
   for ``--http-seconds`` each at 32 connections (bench/inquiry_http.py's own functions).
3. **Overdue scan**, as the scheduler's job runs it (``Core.upkeep.scan_overdue``): the
   first scan of the day, the next with nothing due, the reminder day; the bare SELECT of
   the due rows beside it.
4. **Dashboards**: ``Core.transaction_dashboard`` figures and lists, leadership and one
   department, 30 days and a year; "my transactions" by mobile (the SMS keyword).
5. **Candidates** (``--candidates``): an index or a partition each, created, the figures
   it should move measured again, its size and build time; then dropped, unless kept by
   the schema already (``--candidates none`` skips them).

The figures go to bench/out/big.json; the closing table is printed. The machine is
shared: the load average and "python speed" are printed beside each section.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(HERE), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import _dataset  # noqa: E402
import big_data  # noqa: E402
import inquiry_http  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from core.directory.models import Agency, Department, Employee  # noqa: E402
from core.platform import migrate  # noqa: E402

OUT = HERE / "out"
# Off while the schema before this version's migrations is measured (--baseline).
_CHECK_SCHEMA = True
KEY = "bench-big-national-id-key-not-secret"
RECENT_DAYS = 30
SAMPLES = 2_000


def main() -> int:
    args = _arguments()
    OUT.mkdir(exist_ok=True)
    url = args.database_url
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    results: dict = {"machine": _machine()}
    _say(f"== machine: {results['machine']}")
    if args.reuse:
        shape = big_data.Shape(**json.loads(_comment(dsn)))
        _say(f"== reusing {shape.transactions:,} transactions in {url.split('@')[-1]} "
             f"(schema {_revision(url)})")
        _forget_runs(dsn)
    else:
        shape = big_data.Shape(args.transactions)
        results["load"] = load(url, dsn, shape, args.baseline or "head")
    hashes = big_data.Hashes(shape, KEY.encode())
    results["sizes"] = sizes(dsn)
    check_payloads(shape, hashes)
    steps: dict[str, Callable[[], dict]] = {
        "import": lambda: import_csv(url, dsn, shape, hashes, args.import_rows),
        "inquiry": lambda: inquiries(url, shape),
        "http": lambda: http(url, shape, args.http_seconds),
        "overdue": lambda: overdue_scan(url),
        "dashboards": lambda: dashboards(url, shape),
    }
    statements = Statements(dsn)

    def measure(names: list[str], label: str) -> None:
        for name in names:
            if name in args.skip:
                continue
            statements.reset()
            results[f"{name}{label}"] = steps[name]()
            results[f"{name}{label}"]["statements"] = statements.top()
            _save(results)

    if _revision(url) != migrate.head_revision():
        # The schema before this version's migrations: the reads the core makes, measured
        # by a core that does not insist on its own schema (the import and the HTTP server
        # do: they come after the upgrade).
        _say(f"\n== before the upgrade: schema {_revision(url)}")
        global _CHECK_SCHEMA
        _CHECK_SCHEMA = False
        measure(["inquiry", "overdue", "dashboards"], " (before)")
        results["index_use (before)"] = index_use(dsn)
        run_candidates(url, dsn, shape, args, results)
        results["upgrade"] = upgrade(url)
        results["sizes (after)"] = sizes(dsn)
        _CHECK_SCHEMA = True
        measure(list(steps), "")
        results["index_use"] = index_use(dsn)
    else:
        measure(list(steps), "")
        # Before the candidates: they drop and rebuild indexes, which resets their counts.
        results["index_use"] = index_use(dsn)
        run_candidates(url, dsn, shape, args, results)
    _save(results)
    _say(f"\n   details: {OUT / 'big.json'}")
    return 0


def run_candidates(url: str, dsn: str, shape: big_data.Shape, args: argparse.Namespace,
                   results: dict) -> None:
    if args.candidates == "none":
        return
    import big_candidates

    results["candidates"] = big_candidates.run(url, dsn, shape, args.candidates, _core)
    _save(results)


def _revision(url: str) -> str | None:
    from core.platform.db import Database

    database = Database(url)
    try:
        return migrate.current_revision(database.engine)
    finally:
        database.dispose()


def upgrade(url: str) -> dict:
    """``gateway db upgrade``'s work on the loaded tables, timed."""
    from core.platform.db import Database

    before = _revision(url)
    _say(f"\n== upgrade from {before} to {migrate.head_revision()} on the loaded tables "
         f"({_machine()})")
    database = Database(url)
    started = time.perf_counter()
    try:
        migrate.upgrade(database.engine)
    finally:
        database.dispose()
    seconds = time.perf_counter() - started
    _say(f"   {seconds:,.1f} s")
    return {"from": before, "to": migrate.head_revision(), "seconds": round(seconds, 1)}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True,
                        help="a throwaway PostgreSQL database; ALL ITS TABLES ARE DROPPED")
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--baseline", metavar="REVISION",
                        help="load at this schema revision (e.g. the head of main before "
                             "this version's migrations), measure, upgrade (timed), measure "
                             "again")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the database a previous run loaded")
    parser.add_argument("--import-rows", type=int, default=20_000)
    parser.add_argument("--http-seconds", type=float, default=10.0)
    parser.add_argument("--candidates", default="all",
                        help="all, none, or names (bench/big_candidates.py)")
    parser.add_argument("--skip", default="",
                        help="comma-separated: import, inquiry, http, overdue, dashboards")
    args = parser.parse_args()
    if make_url(args.database_url).get_backend_name() != "postgresql":
        parser.error("--database-url: a PostgreSQL database (bash .ci/postgres.sh url)")
    args.skip = {name for name in args.skip.split(",") if name}
    return args


# --- the machine and the output ------------------------------------------------------


def _say(line: str) -> None:
    print(line, flush=True)


def _machine() -> str:
    load = "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    return (f"{len(os.sched_getaffinity(0))} cores, load average {load}, python speed "
            f"{inquiry_http.python_speed():.0f} ns/loop")


def _save(results: dict) -> None:
    (OUT / "big.json").write_text(json.dumps(results, indent=2, default=str) + "\n")


def _comment(dsn: str) -> str:
    import psycopg

    with psycopg.connect(dsn) as conn:
        found = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                             "WHERE datname = current_database()").fetchone()[0]
    if not found:
        raise SystemExit("--reuse: this database was not loaded by bench/big.py")
    return found


def _sql(dsn: str, statement: str, *, autocommit: bool = False) -> list[tuple]:
    import psycopg

    with psycopg.connect(dsn, autocommit=autocommit) as conn:
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description else []


class Statements:
    """The server's own account of a section (pg_stat_statements, when the server loads
    it: ``shared_preload_libraries``): the statements that took the most time."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        try:
            _sql(dsn, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements", autocommit=True)
            _sql(dsn, "SELECT count(*) FROM pg_stat_statements")
            self.available = True
        except Exception:  # noqa: BLE001 - not loaded: the sections go without it
            self.available = False

    def reset(self) -> None:
        if self.available:
            _sql(self.dsn, "SELECT pg_stat_statements_reset()", autocommit=True)

    def top(self, count: int = 6) -> list[dict]:
        if not self.available:
            return []
        rows = _sql(self.dsn, f"""
            SELECT calls, total_exec_time, mean_exec_time, rows, query
            FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database
                                                   WHERE datname = current_database())
            ORDER BY total_exec_time DESC LIMIT {count}""")
        _say("   the server's time (pg_stat_statements), most first:")
        out = []
        for calls, total, mean, found, query in rows:
            short = " ".join(query.split())
            _say(f"     {total / 1000:8.2f} s {calls:>8,} calls {mean:9.2f} ms  {short[:100]}")
            out.append({"calls": calls, "total_ms": round(total, 1), "mean_ms": round(mean, 3),
                        "rows": found, "query": short[:2000]})
        return out


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    pick = lambda p: ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000  # noqa: E731
    return {"n": len(ordered), "p50_ms": round(pick(0.50), 3), "p99_ms": round(pick(0.99), 3),
            "max_ms": round(ordered[-1] * 1000, 3)}


def timed(call: Callable[[], object], runs: int = 5) -> dict[str, float]:
    """Median and slowest of ``runs`` calls, in ms."""
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return {"median_ms": round(statistics.median(seconds) * 1000, 1),
            "slowest_ms": round(max(seconds) * 1000, 1)}


# --- 1. loading and importing ----------------------------------------------------------


def load(url: str, dsn: str, shape: big_data.Shape, revision: str = "head") -> dict:
    _say(f"\n== loading {shape.transactions:,} transactions ({shape.per_day:,} a day, "
         f"{shape.transactions / shape.per_day / 365.25:.1f} years to "
         f"{datetime.fromtimestamp(shape.end, UTC):%Y-%m-%d %H:%M})"
         f" into {url.split('@')[-1]} by COPY")
    started = time.perf_counter()
    _migrate_fresh(url, revision)
    with _dataset.loading(url) as engine, engine.begin() as conn:
        conn.execute(insert(Department), [_dataset._department(d)
                                          for d in range(1, big_data.DEPARTMENTS + 1)])
        conn.execute(insert(Agency), [_dataset._agency(a)
                                      for a in range(1, big_data.AGENCIES + 1)])
        conn.execute(insert(Employee), [_dataset._employee(e)
                                        for e in range(1, _dataset.EMPLOYEES + 1)])
    hashes = big_data.Hashes(shape, KEY.encode())
    loaded = big_data.load(dsn, shape, hashes, log=_say)
    copy_seconds = loaded.seconds
    vacuum_started = time.perf_counter()
    _dataset.vacuum(url)
    vacuum_seconds = time.perf_counter() - vacuum_started
    kept = {"transactions": shape.transactions, "per_day": shape.per_day, "end": shape.end}
    _sql(dsn, f"COMMENT ON DATABASE {make_url(url).database} IS '{json.dumps(kept)}'",
         autocommit=True)
    rows = loaded.transactions + loaded.events + loaded.inquiries
    figures = {"transactions": loaded.transactions, "events": loaded.events,
               "inquiries": loaded.inquiries, "copy_seconds": round(copy_seconds, 1),
               "transactions_per_second": round(loaded.transactions / copy_seconds),
               "rows_per_second": round(rows / copy_seconds),
               "vacuum_analyze_seconds": round(vacuum_seconds, 1),
               "total_seconds": round(time.perf_counter() - started, 1),
               "machine": _machine()}
    _say(f"   COPY: {loaded.transactions:,} transactions + {loaded.events:,} events + "
         f"{loaded.inquiries:,} inquiry log rows in {copy_seconds:,.0f} s: "
         f"{figures['transactions_per_second']:,} transactions/s "
         f"({figures['rows_per_second']:,} rows/s); VACUUM ANALYZE {vacuum_seconds:,.0f} s")
    return figures


def _migrate_fresh(url: str, revision: str) -> None:
    """bench/_dataset.py's ``migrate_fresh``, to ``revision``."""
    from core.platform.db import Database

    database = Database(url)
    try:
        _dataset._drop_everything(database.engine)
        migrate.upgrade(database.engine, revision)
    finally:
        database.dispose()


def sizes(dsn: str) -> dict:
    rows = _sql(dsn, """
        SELECT c.relname, c.relkind, pg_relation_size(c.oid), c.reltuples::bigint,
               coalesce(i.indrelid::regclass::text, '')
        FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i', 'p', 'I')
          AND pg_relation_size(c.oid) > 8 * 1024 * 1024
        ORDER BY pg_relation_size(c.oid) DESC""")
    total = _sql(dsn, "SELECT pg_database_size(current_database())")[0][0]
    _say(f"\n== sizes: database {total / 2**30:,.1f} GiB; tables and indexes over 8 MiB:")
    for name, kind, size, tuples, table in rows:
        what = f"index on {table}" if kind in ("i", "I") else f"table, {tuples:,} rows"
        _say(f"   {name:<48} {size / 2**20:>9,.0f} MiB  {what}")
    return {"database_bytes": total,
            "relations": {name: size for name, _kind, size, _tuples, _table in rows}}


def check_payloads(shape: big_data.Shape, hashes: big_data.Hashes) -> None:
    """The COPY loader's JSON, written directly, against the product's own functions."""
    rng = random.Random(19)
    checked = 0
    for i in rng.sample(range(shape.transactions), min(500, shape.transactions)):
        life = big_data.lifecycle(shape, i)
        for step in life.steps:
            fast = big_data.stored(life, step, hashes)
            slow = big_data.slow_stored(life, step, hashes.key)
            if json.loads(fast[0]) != json.loads(slow[0]) or fast[1] != slow[1]:
                raise SystemExit(f"payload of slot {i} {step.type}: {fast} != {slow}")
            checked += 1
    _say(f"\n== the loader's payloads and digests: {checked:,} events as the lifecycle "
         f"stores them")


def _forget_runs(dsn: str) -> None:
    """What an earlier run wrote that would change this one's figures: the scan's
    messages, the failure counters and the inquiry log's rows beyond the loaded ones.
    (An earlier import stays: deleting transactions would check every table that refers
    to them, and the log has no index on ``transaction_id``; the next import takes the
    numbers after it.)"""
    _sql(dsn, f"""
        DELETE FROM notifications; DELETE FROM overdue_followups; DELETE FROM failure_counts;
        DELETE FROM inquiry_log WHERE at > '{big_data.NOW.isoformat()}'""")


def _first_import_number(dsn: str) -> int:
    """The import sample's first number: after any an earlier run imported."""
    found = _sql(dsn, f"""
        SELECT max(number) FROM transactions WHERE number >= '{big_data.IMPORT_FIRST}'
          AND number < '{big_data.IMPORT_FIRST + 10**7}'""")[0][0]
    return int(found) + 1 if found else big_data.IMPORT_FIRST


def import_csv(url: str, dsn: str, shape: big_data.Shape, hashes: big_data.Hashes,
               rows: int) -> dict:
    """``gateway import`` on ``rows`` transactions spread over the history (numbers from
    ``IMPORT_FIRST``), into the loaded table; then read back and checked."""
    _say(f"\n== gateway import of {rows:,} rows into the {shape.transactions:,}-row table "
         f"({_machine()})")
    slots = [k * shape.transactions // rows for k in range(rows)]
    first = _first_import_number(dsn)
    lives = [big_data.lifecycle(shape, slot, number=str(first + k),
                                assigned=False) for k, slot in enumerate(slots)]
    work = Path(tempfile.mkdtemp(prefix="bench-big-"))
    try:
        path = work / "transactions.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(big_data.csv_row(lives[0])))
            writer.writeheader()
            writer.writerows(big_data.csv_row(life) for life in lives)
        events = sum(len(life.steps) for life in lives)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "GATEWAY__DATABASE__URL": url,
               "GATEWAY__SECURITY__NATIONAL_ID_KEY": KEY, "GATEWAY_VAR_DIR": str(work),
               "GATEWAY__VAR_DIR": str(work)}
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", "from gateway.cli import main; main()",
                               "import", str(path), "--no-notify"], env=env, cwd=ROOT,
                              capture_output=True, text=True)
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if done.returncode != 0:
        raise SystemExit(f"gateway import failed ({done.returncode}):\n{done.stdout}\n"
                         f"{done.stderr[-3000:]}")
    _say(f"   {done.stdout.strip().splitlines()[0]}")
    _say(f"   {rows / seconds:,.0f} rows/s ({events / seconds:,.0f} events/s), the process "
         f"start included; 10,000,000 rows at this rate: {10**7 / (rows / seconds) / 3600:.1f} h")
    mismatched = _check_imported(dsn, lives, hashes)
    _say(f"   read back: {len(lives):,} transactions and {events:,} events as the COPY loader "
         f"writes them ({mismatched} differ)")
    if mismatched:
        raise SystemExit("the import and the COPY loader disagree: the data is not the "
                         "product's")
    return {"rows": rows, "events": events, "seconds": round(seconds, 1),
            "rows_per_second": round(rows / seconds),
            "events_per_second": round(events / seconds), "machine": _machine()}


def _check_imported(dsn: str, lives: list[big_data.Lifecycle], hashes: big_data.Hashes
                    ) -> int:
    """How many imported transactions differ from the loader's rows for the same slot
    (the columns the lifecycle sets; ``updated_at`` and ``received_at`` are the time of
    writing)."""
    import psycopg

    want = {life.number: life for life in lives}
    bad = 0
    with psycopg.connect(dsn) as conn:
        found = conn.execute(
            f"SELECT {', '.join(big_data.TRANSACTION_COLUMNS[1:-1])}, id FROM transactions "
            "WHERE number = ANY(%s)", (list(want),)).fetchall()
        timelines: dict[int, list] = {}
        for row in conn.execute(
                "SELECT transaction_id, event_id, type, occurred_at, payload::text, "
                "payload_digest, department_id, agency_id FROM transaction_events "
                "WHERE transaction_id = ANY(%s) ORDER BY occurred_at, id",
                ([row[-1] for row in found],)):
            timelines.setdefault(row[0], []).append(row[1:])
    if len(found) != len(want):
        return len(want) - len(found) + 1
    for row in found:
        life = want[row[0]]
        expected = list(big_data.transaction_values(life, hashes, assigned=False)[1:])
        for k in (3, 13, 15, 16, 17):  # registered_at, issued_at, ..., last_event_at
            if expected[k] is not None:
                expected[k] = datetime.fromtimestamp(expected[k], UTC)
        if list(row[:-1]) != expected:
            bad += 1
            if bad <= 3:
                _say(f"   {life.number}: {list(row[:-1])} != {expected}")
            continue
        steps = [(f"import:{life.number}:{s.type}", s.type,
                  datetime.fromtimestamp(s.at, UTC), *big_data.stored(life, s, hashes),
                  s.department, s.agency) for s in life.steps]
        got = [(e, t, at, json.loads(p), d, dep, ag)
               for e, t, at, p, d, dep, ag in timelines.get(row[-1], [])]
        if got != [(e, t, at, json.loads(p), d, dep, ag) for e, t, at, p, d, dep, ag in steps]:
            bad += 1
            if bad <= 3:
                _say(f"   {life.number} timeline: {got} != {steps}")
    return bad


# --- 2. inquiries ----------------------------------------------------------------------


def _core(url: str, tmp: str):
    """The core as ``gateway run`` builds it (config.yaml and GATEWAY__* apply), with the
    bench's key; ``inquiry.max_failures`` lifted as bench/inquiry_http.py lifts it (the
    probes reuse the strangers' IDs)."""
    from gateway.bootstrap import build_core, check_schema
    from gateway.settings import load_settings

    settings = load_settings(None, database={"url": url}, security={"national_id_key": KEY},
                             gateway={"secret_key": "bench-not-secret"},
                             inquiry={"max_failures": 1_000_000_000}, var_dir=tmp)
    core = build_core(settings)
    problem = check_schema(core) if _CHECK_SCHEMA else None
    if problem:
        raise SystemExit(problem)
    return core


def probe_mix(shape: big_data.Shape, count: int, seed: int, *, recent: bool = False,
              mix: str = "usual") -> list[_dataset.Probe]:
    """``count`` inquiries: ~90 % found, ~5 % unknown numbers, ~5 % someone else's number
    (``_dataset.MIXES``), of the whole history or of the last ``RECENT_DAYS`` days."""
    unknown_share, not_owner_share = _dataset.MIXES[mix]
    rng = random.Random(seed)
    low = max(0, shape.transactions - RECENT_DAYS * shape.per_day) if recent else 0
    out = []
    for _ in range(count):
        roll = rng.random()
        if roll < unknown_share:
            out.append(_dataset.Probe(str(_dataset.UNKNOWN_FIRST + rng.randrange(9_000_000)),
                                      _dataset.stranger_id(rng.randrange(_dataset.STRANGERS)),
                                      False, False, 0))
            continue
        life = big_data.lifecycle(shape, rng.randrange(low, shape.transactions))
        if roll < unknown_share + not_owner_share:
            out.append(_dataset.Probe(life.number, _dataset.stranger_id(
                rng.randrange(_dataset.STRANGERS)), False, True, 0))
        else:
            out.append(_dataset.Probe(life.number, big_data.national_id(life.applicant),
                                      True, True, len(life.steps)))
    return out


def inquiries(url: str, shape: big_data.Shape) -> dict:
    from core.transactions.inquiry import CompiledLookup, InquiryRequest

    _say(f"\n== inquiries in-process, kiosk shape, one thread ({_machine()})")
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        core = _core(url, tmp)
        lookup = CompiledLookup(core.db.lookup)
        try:
            for label, recent in (("last 30 days", True), ("whole history", False)):
                mix = probe_mix(shape, SAMPLES, seed=7 if recent else 8, recent=recent)
                for round_ in ("first", "again"):
                    spent: dict[str, list[float]] = {"lookup": [], "found": [],
                                                     "not found": []}
                    for probe in mix:
                        started = time.perf_counter()
                        rows = lookup(probe.number)
                        spent["lookup"].append(time.perf_counter() - started)
                        if bool(rows) != probe.exists:
                            raise SystemExit(f"lookup {probe.number}: {len(rows)} rows")
                    for probe in mix:
                        request = InquiryRequest(channel="kiosk", number_text=probe.number,
                                                 national_id=probe.national_id,
                                                 origin="bench-kiosk")
                        started = time.perf_counter()
                        answer = core.inquire(request)
                        spent["found" if probe.found else "not found"].append(
                            time.perf_counter() - started)
                        if answer.found is not probe.found or (
                                probe.found and len(answer.transaction.timeline)
                                != probe.events):
                            raise SystemExit(f"inquiry {probe.number}: {answer}")
                    for what, values in spent.items():
                        key = f"{label}, {what}, {round_}"
                        figures[key] = percentiles(values)
                        f = figures[key]
                        _say(f"   {key:<40} p50 {f['p50_ms']:7.3f} ms  p99 {f['p99_ms']:7.3f}"
                             f" ms  max {f['max_ms']:7.1f} ms  (n={f['n']:,})")
        finally:
            core.close()
    return figures


def http(url: str, shape: big_data.Shape, seconds: float) -> dict:
    """bench/inquiry_http.py's run on this table: ``gateway web`` (``gateway.workers``
    waitress workers, one per core) and the bare floor (gunicorn, a worker per core), in
    turn, ``seconds`` each at 32 connections, answers checked."""
    _say(f"\n== HTTP inquiries, 32 connections, {seconds:g} s each ({_machine()})")
    tool = inquiry_http._pick_load_generator("auto")
    args = SimpleNamespace(warmup=3.0, seconds=seconds, concurrency=32, database_url=url)
    mix = probe_mix(shape, 100_000, seed=74747)
    work = Path(tempfile.mkdtemp(prefix="bench-big-http-"))
    servers = []
    figures: dict = {}
    try:
        bodies = work / "bodies.jsonl"
        _dataset.write_bodies(bodies, mix)
        token = inquiry_http._kiosk_token(url)
        for kind in ("baseline", "gateway"):
            _say(f"   {kind}:")
            server = inquiry_http._start(kind, url, KEY, work, 0)  # 0: a worker per core
            servers.append(server)
            inquiry_http._check_sample(server, token, mix[:inquiry_http.SAMPLE_CHECKS])
            figures[kind] = inquiry_http._measure(server, tool, bodies, token, mix, args, 32)
            server.stop()
    except inquiry_http.BenchError as exc:
        raise SystemExit(f"HTTP run broken: {exc}") from exc
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    ratio = figures["gateway"]["rps"] / figures["baseline"]["rps"]
    _say(f"   gateway / baseline: {ratio:.1%}; gateway p99 {figures['gateway']['p99_ms']:.1f} ms")
    figures["ratio"] = round(ratio, 3)
    return figures


# --- 3. the overdue scan ---------------------------------------------------------------


def overdue_scan(url: str) -> dict:
    import overdue as overdue_bench

    from core.platform.db import Database

    _say(f"\n== the overdue scan (Core.upkeep.scan_overdue at {big_data.NOW:%Y-%m-%d %H:%M} "
         f"UTC, 12:00 in Riyadh; {_machine()})")
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        core = _core(url, tmp)
        db = Database(url)
        try:
            overdue_bench.forget(db)

            def scan(now: datetime):
                started = time.perf_counter()
                result = core.upkeep.scan_overdue(now=now)
                return time.perf_counter() - started, result

            first, result = scan(big_data.NOW)
            figures["first"] = {"seconds": round(first, 3), "messages": result.notified}
            idle, again = scan(big_data.NOW)
            figures["nothing_due"] = {"seconds": round(idle, 3)}
            reminder, later = scan(big_data.NOW + timedelta(days=3))
            figures["reminder_day"] = {"seconds": round(reminder, 3),
                                       "reminders": later.reminded,
                                       "newly_overdue": later.notified}
            selected, count = overdue_bench.timed(lambda: overdue_bench.bare_select(db))
            figures["bare_select"] = {"seconds": round(selected, 3), "rows": count}
            figures["plan"] = overdue_bench.plan(db)
            overdue_bench.forget(db)
        finally:
            db.dispose()
            core.close()
    _say(f"   first scan {first:.3f} s ({result.notified:,} messages); nothing due "
         f"{idle:.3f} s; reminder day {reminder:.3f} s ({later.reminded:,} reminders, "
         f"{later.notified:,} newly overdue); bare SELECT of the due rows {selected:.3f} s "
         f"({count:,} rows)")
    _say("   candidate query plan:\n" + figures["plan"])
    return figures


# --- 4. dashboards and my transactions ------------------------------------------------


def dashboards(url: str, shape: big_data.Shape) -> dict:
    from core.access.actors import LEADERSHIP, SPECIALIST, Actor
    from core.dashboards.transactions import Period

    _say(f"\n== transactions dashboard (Core.transaction_dashboard), five runs each "
         f"({_machine()})")
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        core = _core(url, tmp)
        board = core.transaction_dashboard
        try:
            today = big_data.NOW.astimezone(core.config.tz).date()
            month = Period(today - timedelta(days=29), today)
            year = Period(today - timedelta(days=364), today)
            leadership = Actor(1, "boss", "Boss", LEADERSHIP, None)
            staff = Actor(2, "clerk", "Clerk", SPECIALIST, 1, department_id=1)
            for who, actor in (("leadership", leadership), ("one department", staff)):
                for label, period in (("30 days", month), ("a year", year)):
                    key = f"{who}: figures of {label}"
                    figures[key] = timed(lambda a=actor, p=period: board.figures(
                        a, p, now=big_data.NOW))
                    _report(key, figures[key])
                for which in ("received", "issued", "awaiting", "overdue"):
                    key = f"{who}: the {which} list of 30 days"
                    figures[key] = timed(lambda a=actor, w=which: board.transaction_list(
                        a, w, month, now=big_data.NOW))
                    _report(key, figures[key])
            figures.update(my_transactions(core, shape))
        finally:
            core.close()
    return figures


def my_transactions(core, shape: big_data.Shape) -> dict:
    """``Core.mine.by_mobile``, the SMS keyword's list (an applicant's mobile)."""
    rng = random.Random(5)
    spent = []
    for _ in range(20):
        applicant = rng.randrange(shape.applicants)
        started = time.perf_counter()
        lines, more = core.mine.by_mobile(big_data.mobile(applicant))
        spent.append(time.perf_counter() - started)
        if not lines and applicant < shape.transactions:
            raise SystemExit(f"my transactions: nothing for applicant {applicant}")
    figures = {"my transactions by mobile": percentiles(spent)}
    f = figures["my transactions by mobile"]
    _say(f"   {'my transactions by mobile (SMS keyword)':<48} p50 {f['p50_ms']:8.1f} ms"
         f"   max {f['max_ms']:8.1f} ms  (n={f['n']})")
    return figures


def _report(key: str, figure: dict) -> None:
    _say(f"   {key:<48} median {figure['median_ms']:8.1f} ms   slowest "
         f"{figure['slowest_ms']:8.1f} ms")


def index_use(dsn: str) -> dict:
    """Every index of the three big tables and how often this run used it."""
    rows = _sql(dsn, """
        SELECT relname, indexrelname, idx_scan, pg_relation_size(indexrelid)
        FROM pg_stat_user_indexes
        WHERE relname IN ('transactions', 'transaction_events', 'inquiry_log')
        ORDER BY relname, idx_scan""")
    _say("\n== index use during this run (pg_stat_user_indexes.idx_scan):")
    for table, index, scans, size in rows:
        _say(f"   {table:<20} {index:<48} {scans:>10,} scans  {size / 2**20:>8,.0f} MiB")
    return {index: {"scans": scans, "bytes": size} for _t, index, scans, size in rows}


if __name__ == "__main__":
    sys.exit(main())
