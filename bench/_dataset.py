"""The benchmark's data: a migrated database with N transactions, and the request mix.

Loading is data loading, not the lifecycle: SQLAlchemy Core ``insert()`` executemany in
big chunks, ids given explicitly so the events need no RETURNING. On SQLite the file is
throwaway, so the load runs with the journal and fsync off and a big page cache; the
journal goes back to WAL (what the gateway uses) when the load is done.

Every value is a function of the transaction's index ``i``, so the request mix and the
correctness checks can tell what the answer to any request must be.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, delete, event, insert
from sqlalchemy.engine import Engine, make_url

from core.directory.models import Agency, Department, Employee
from core.identity.national_id import hash_national_id, national_id_with_check_digit
from core.platform import migrate
from core.platform.db import Database
from core.platform.models import FailureCount
from core.schema import Base
from core.transactions.models import InquiryLog, Transaction, TransactionEvent

FIRST_NUMBER = 20_000_000  # transaction i has number FIRST_NUMBER + i
UNKNOWN_FIRST = 90_000_000  # numbers from here on do not exist
MAX_TRANSACTIONS = UNKNOWN_FIRST - FIRST_NUMBER
OWNERS = 5_000  # distinct applicants (national IDs); transaction i belongs to i % OWNERS
STRANGERS = 2_000  # valid national IDs that own nothing
DEPARTMENTS, AGENCIES, EMPLOYEES = 20, 12, 200
CHUNK = 50_000
BASE_TIME = datetime(2024, 1, 1, 6, 0, tzinfo=UTC)

# The request mix: ~90 % found, ~10 % not found (half unknown numbers, half not the
# requester's transaction: the same outcome to the citizen, a different path inside).
UNKNOWN_SHARE, NOT_OWNER_SHARE = 0.05, 0.05
# Other mixes (bench/inquiry_http.py --mix): every inquiry found (the path of nearly
# every citizen), or every one failing (a flood of guesses: each failure is written).
MIXES = {"usual": (UNKNOWN_SHARE, NOT_OWNER_SHARE), "found": (0.0, 0.0),
         "failed": (0.5, 0.5)}


def number(i: int) -> str:
    return str(FIRST_NUMBER + i)


def event_count(i: int) -> int:
    """1 to 3 timeline rows per transaction."""
    return 1 + (i * 7 + i // 11) % 3


def owner_id(i: int) -> str:
    return national_id_with_check_digit(f"1{(i % OWNERS) * 7919 % 10**8:08d}")


def stranger_id(j: int) -> str:
    return national_id_with_check_digit(f"2{(j % STRANGERS) * 104729 % 10**8:08d}")


@dataclass(frozen=True)
class Probe:
    """One request of the mix and what the gateway must answer."""

    number: str
    national_id: str
    found: bool  # the gateway's answer: the number exists and is the requester's
    exists: bool  # the bare baseline's answer: the number exists
    events: int  # timeline length when found

    def body(self) -> str:
        return json.dumps({"number": self.number, "national_id": self.national_id,
                           "lang": "ar"}, separators=(",", ":"))


def probes(transactions: int, count: int, seed: int, mix: str = "usual") -> list[Probe]:
    """``count`` requests in random order over the whole table, in the ``mix`` (MIXES)."""
    unknown_share, not_owner_share = MIXES[mix]
    rng = random.Random(seed)
    out: list[Probe] = []
    for _ in range(count):
        roll = rng.random()
        if roll < unknown_share:
            out.append(Probe(str(UNKNOWN_FIRST + rng.randrange(9_000_000)),
                             stranger_id(rng.randrange(STRANGERS)), False, False, 0))
            continue
        i = rng.randrange(transactions)
        if roll < unknown_share + not_owner_share:
            out.append(Probe(number(i), stranger_id(rng.randrange(STRANGERS)), False, True, 0))
        else:
            out.append(Probe(number(i), owner_id(i), True, True, event_count(i)))
    return out


@dataclass(frozen=True)
class Loaded:
    transactions: int
    events: int
    seconds: float


def prepare(url: str, transactions: int, key: bytes, *, log=print) -> Loaded:
    """Migrate a fresh database at ``url`` and load it; for PostgreSQL, empties it first."""
    if not 1 <= transactions <= MAX_TRANSACTIONS:
        raise ValueError(f"transactions: 1 to {MAX_TRANSACTIONS}")
    migrate_fresh(url)
    with loading(url) as engine:
        started = time.perf_counter()
        events = _load(engine, transactions, key, log)
    return Loaded(transactions, events, time.perf_counter() - started)


# --- what every benchmark's loader shares -----------------------------------------------

def migrate_fresh(url: str) -> None:
    """Migrate a fresh database at ``url``; for PostgreSQL, empties it first."""
    database = Database(url)
    try:
        if not database.is_sqlite:
            _drop_everything(database.engine)
        migrate.upgrade(database.engine)
    finally:
        database.dispose()


@contextmanager
def loading(url: str) -> Iterator[Engine]:
    """An engine for a bulk load into ``url``; after the block, the database is made
    ready to serve (SQLite's journal back to WAL, PostgreSQL's statistics)."""
    engine = _loading_engine(url)
    try:
        yield engine
    finally:
        _finish(engine)
        engine.dispose()


def insert_in_chunks(engine: Engine, table: type, count: int,
                     row: Callable[[int], dict]) -> None:
    """``row(i)`` for ``i`` in ``range(count)`` into ``table``, a transaction a chunk."""
    for first in range(0, count, CHUNK):
        with engine.begin() as conn:
            conn.execute(insert(table), [row(i) for i in range(first, min(first + CHUNK, count))])


def vacuum(url: str) -> None:
    """On PostgreSQL, ``VACUUM ANALYZE``: the tables as a database in service has them,
    where autovacuum has long since been by. Right after a bulk load the first reads would
    set every row's hint bits, a one-off cost that is not the one measured."""
    if make_url(url).get_backend_name() != "postgresql":
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        engine.dispose()


def _drop_everything(engine: Engine) -> None:
    # As tests/conftest.py does for GATEWAY_TEST_DATABASE_URL: the database is throwaway.
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def _loading_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url)
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _fast(dbapi_connection, _record) -> None:
        # A throwaway file: no rollback journal, no fsync, a big page cache.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=OFF")
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-1048576")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    return engine


def _finish(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def _load(engine: Engine, transactions: int, key: bytes, log) -> int:
    hashes = [hash_national_id(owner_id(i), key) for i in range(min(OWNERS, transactions))]
    with engine.begin() as conn:
        conn.execute(insert(Department), [_department(d) for d in range(1, DEPARTMENTS + 1)])
        conn.execute(insert(Agency), [_agency(a) for a in range(1, AGENCIES + 1)])
        conn.execute(insert(Employee), [_employee(e) for e in range(1, EMPLOYEES + 1)])
    events = 0
    started = time.perf_counter()
    for first in range(0, transactions, CHUNK):
        last = min(first + CHUNK, transactions)
        rows = [_transaction(i, hashes[i % OWNERS]) for i in range(first, last)]
        timeline = [row for i in range(first, last) for row in _events(i)]
        with engine.begin() as conn:
            conn.execute(insert(Transaction), rows)
            conn.execute(insert(TransactionEvent), timeline)
        events += len(timeline)
        if last % 200_000 == 0 or last == transactions:
            rate = last / (time.perf_counter() - started)
            log(f"   loaded {last:>9,} transactions, {events:>9,} events ({rate:,.0f} txn/s)")
    return events


def _department(d: int) -> dict:
    return {"id": d, "code": f"D{d:02d}", "name_ar": f"إدارة الشؤون {d}",
            "name_en": f"Affairs Department {d}", "manager_name": f"مدير {d}",
            "manager_mobile": f"+96650{d:07d}", "reply_days": 10, "updated_at": BASE_TIME}


def _agency(a: int) -> dict:
    return {"id": a, "code": f"A{a:02d}", "name_ar": f"وزارة الخدمات {a}",
            "name_en": f"Ministry of Services {a}", "updated_at": BASE_TIME}


def _employee(e: int) -> dict:
    return {"id": e, "code": f"E{e:03d}", "name": f"موظف {e}", "mobile": f"+96654{e:07d}",
            "department_id": 1 + e % DEPARTMENTS, "updated_at": BASE_TIME}


def _times(i: int) -> tuple[datetime, datetime, datetime]:
    registered = BASE_TIME + timedelta(minutes=i)
    return registered, registered + timedelta(days=1, hours=2), registered + timedelta(days=4)


def _status(i: int) -> str:
    return {1: "registered", 2: "referred"}.get(event_count(i)) or (
        "issued" if i % 2 else "assigned")


def _transaction(i: int, national_id_hash: str) -> dict:
    registered, referred, third = _times(i)
    status = _status(i)
    issued = status == "issued"
    department = 1 + i % DEPARTMENTS if status != "registered" else None
    last = {1: registered, 2: referred}.get(event_count(i), third)
    return {
        "id": i + 1, "number": number(i), "subject": "طلب إفادة عن معاملة",
        "status": status, "registered_at": registered, "applicant_name": "مقدم الطلب",
        "applicant_national_id_hash": national_id_hash,
        "applicant_mobile": f"+96655{i % 10**7:07d}", "applicant_email": None,
        "applicant_language": "ar", "department_id": department,
        "employee_id": 1 + i % EMPLOYEES if status in ("assigned", "issued") else None,
        "outgoing_number": f"OUT-{i}" if issued else None,
        "destination_agency_id": 1 + i % AGENCIES if issued else None,
        "issued_at": third if issued else None, "reply_expected": issued and i % 4 == 1,
        "reply_received_at": None, "closed_at": None, "last_event_at": last,
        "updated_at": last,
    }


def _events(i: int) -> Iterator[dict]:
    times = _times(i)
    kinds = ["registered", "referred", _status(i)][: event_count(i)]
    for k, kind in enumerate(kinds):
        issued = kind == "issued"
        payload = {"type": kind, "occurred_at": times[k].isoformat(),
                   "transaction": {"number": number(i)}}
        yield {
            "event_id": f"rec-{i:09d}-{k}", "transaction_id": i + 1, "type": kind,
            "occurred_at": times[k], "received_at": times[k], "payload": payload,
            "payload_digest": f"{i:064x}",
            "department_id": 1 + i % DEPARTMENTS if k and not issued else None,
            "agency_id": 1 + i % AGENCIES if issued else None,
        }


def forget_inquiries(url: str) -> int:
    """Empty the inquiry log and the failure counters a previous run filled, so a reused
    database starts as new."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(delete(FailureCount))
            return conn.execute(delete(InquiryLog)).rowcount
    finally:
        engine.dispose()


def write_bodies(path: Path, mix: list[Probe]) -> None:
    path.write_text("".join(probe.body() + "\n" for probe in mix), encoding="utf-8")
