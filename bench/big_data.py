"""bench/big.py's data: years of transactions as a live gateway holds them, by COPY.

A gateway that has served for years holds mostly closed history and a small open set that
stays about the same size whatever the history's length: ``PER_DAY`` transactions
registered a day, each going through its lifecycle over a few weeks, so N transactions
span N / PER_DAY days ending at ``NOW`` (10,000,000 at 3,500 a day: about eight years).
bench/_dataset.py's rows (one a minute, every issued one still awaiting its reply) suit a
lookup benchmark, not a question about indexes for open transactions; its numbers,
probes and loading helpers are reused here.

Transaction ``i`` (its *slot*: when it was registered) has a lifecycle that is a function
of ``i`` alone, so the probes and the checks know every answer:

- registered, referred to a department a day later, assigned to one of its employees a
  day after that; then
- 45 % closed inside the department 5 to 25 days on;
- 30 % issued to an agency 2 to 18 days on with no reply expected, closed a day later;
- 25 % issued with a reply expected: 90 % answered in 1 to 9 days, 9 % late (10 to 40
  days: overdue meanwhile), 1 % never (closed unanswered after 180 days); closed 1 to 5
  days after the reply.

What has not happened by ``NOW`` has not happened. The events are the payloads the
product's own CSV import would have stored (``import:<number>:<type>``, the keyed digest,
the national ID as its hash; bench/big.py checks a sample against ``plan_row``, the
lifecycle's ``digest`` and ``stored_payload``, and imports a sample through
``gateway import``), except ``assigned``, which comes from the records system's API
(``api:<number>:assigned``) since a CSV has no employee column. Events go to the table in
the order they happened (sorted within each chunk of ``CHUNK`` transactions), as a live
table receives them, so a transaction's timeline is spread over the heap.

The inquiry log gets one row per transaction, in time order over the same years
(channels, outcomes and requesters mixed as they come).

Loading is PostgreSQL's COPY in text format, a transaction per chunk, the schema's
indexes and foreign keys in place; the sequences are set past the loaded ids at the end.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
for _path in (str(HERE), str(HERE.parent)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import _dataset  # noqa: E402

from core.identity.national_id import (  # noqa: E402
    hash_national_id,
    national_id_with_check_digit,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 12:00 in Riyadh, a Monday (overdue.py's)
PER_DAY = 3_500
CHUNK = 50_000
IMPORT_FIRST = 80_000_000  # the import sample's numbers (bench/_dataset.py: 90M+ unknown)
DEPARTMENTS, AGENCIES = _dataset.DEPARTMENTS, _dataset.AGENCIES
SUBJECTS = ("طلب إفادة", "طلب ترخيص محل تجاري", "اعتراض على مخالفة", "طلب تصريح بناء",
            "طلب نقل خدمات", "شكوى بلدية", "طلب تعويض", "طلب شهادة")
CHANNELS = (("sms", "mobile", 35), ("web", "national_id", 25), ("kiosk", "national_id", 15),
            ("ivr", "mobile", 15), ("email", "email", 5), ("api", "national_id", 5))
_MASK64 = (1 << 64) - 1
_NOW = int(NOW.timestamp())
DAY = 86_400


def _mix(i: int, salt: int) -> float:
    """A uniform number in [0, 1) that is a function of ``i`` and ``salt`` (splitmix64)."""
    return (_bits(i, salt) >> 11) / float(1 << 53)


def _uniforms(i: int) -> tuple[float, ...]:
    """Eight uniform numbers in [0, 1) (16 bits each) for slot ``i``: two splitmix64 draws,
    a quarter of the cost of eight."""
    x = (_bits(i, 21) << 64) | _bits(i, 22)
    return tuple(((x >> (16 * k)) & 0xFFFF) / 65536.0 for k in range(8))


def _bits(i: int, salt: int) -> int:
    x = (i * 0x9E3779B97F4A7C15 + salt * 0xD1B54A32D192ED03) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


@dataclass(frozen=True)
class Shape:
    """How many transactions, and so how many years they span, up to ``end`` (seconds
    since the epoch: ``NOW``, or the wall clock for a gateway that runs on it)."""

    transactions: int
    per_day: int = PER_DAY
    end: int = _NOW

    @property
    def applicants(self) -> int:
        # About four transactions an applicant over the years.
        return max(_dataset.OWNERS, self.transactions // 4)

    @property
    def start(self) -> int:
        """The first registration, in seconds since the epoch."""
        return self.end - (self.transactions * DAY) // self.per_day

    def registered(self, i: int) -> int:
        """Slot ``i``'s registration, in seconds: evenly through the days."""
        return self.start + (i * DAY) // self.per_day

    def applicant(self, i: int) -> int:
        return (i * 7919 + i // 3) % self.applicants


def national_id(applicant: int) -> str:
    return national_id_with_check_digit(f"1{applicant * 7919 % 10**8:08d}")


def mobile(applicant: int) -> str:
    return f"+96655{applicant % 10**7:07d}"


def email(applicant: int) -> str | None:
    return f"applicant{applicant}@mail.example.sa" if applicant % 10 == 0 else None


def language(applicant: int) -> str:
    return "en" if applicant % 7 == 0 else "ar"


class Step(NamedTuple):
    """One event of a transaction's lifecycle."""

    type: str
    at: int  # seconds since the epoch
    department: int | None = None  # transaction_events.department_id
    agency: int | None = None  # transaction_events.agency_id


class Lifecycle(NamedTuple):
    """Slot ``i``'s transaction up to ``NOW``: what happened, and where it stands."""

    i: int
    number: str
    applicant: int
    department: int
    employee: int
    agency: int
    reply_expected: bool
    steps: tuple[Step, ...]

    @property
    def status(self) -> str:
        return self.steps[-1].type

    def at(self, kind: str) -> int | None:
        for step in self.steps:
            if step.type == kind:
                return step.at
        return None

    @property
    def outgoing_number(self) -> str | None:
        return f"9{self.i:08d}" if self.at("issued") is not None else None


def lifecycle(shape: Shape, i: int, *, number: str | None = None, assigned: bool = True,
              now: int | None = None) -> Lifecycle:
    """Slot ``i``'s transaction as of ``now`` (the shape's end); ``assigned=False``: as a CSV
    import has it (no assignment)."""
    now = shape.end if now is None else now
    registered = shape.registered(i)
    u = _uniforms(i)
    department = 1 + int(u[0] * DEPARTMENTS)
    employee = department - 1 + DEPARTMENTS * (1 + int(u[1] * 9))
    agency = 1 + int(u[2] * AGENCIES)
    kind, later, reply = u[3], u[4], u[5]
    referred = registered + DAY + int(3 * 3600 * later)
    handed = referred + DAY + int(5 * 3600 * later)
    plan = [Step("registered", registered), Step("referred", referred, department)]
    if assigned:
        plan.append(Step("assigned", handed, department))
    expects = False
    if kind < 0.45:
        plan.append(Step("closed", handed + int((5 + 20 * later) * DAY)))
    else:
        issued = handed + int((2 + 16 * later) * DAY)
        plan.append(Step("issued", issued, department, agency))
        expects = kind >= 0.75
        if not expects:
            plan.append(Step("closed", issued + DAY))
        elif reply >= 0.99:
            plan.append(Step("closed", issued + 180 * DAY))
        else:
            days = 1 + 8 * u[6] if reply < 0.90 else 10 + 30 * u[6]
            answered = issued + int(days * DAY)
            plan.append(Step("reply_received", answered, None, agency))
            plan.append(Step("closed", answered + int((1 + 4 * u[7]) * DAY)))
    steps = tuple(step for step in plan if step.at <= now)
    return Lifecycle(i, number or _dataset.number(i), shape.applicant(i), department,
                     employee, agency, expects, steps)


# --- the events as the product stores them ------------------------------------------


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def csv_row(life: Lifecycle) -> dict[str, str]:
    """The transaction as a line of the records system's CSV export (importer.py)."""
    a = life.applicant
    issued = life.at("issued")
    row = {"number": life.number, "registered_at": iso(life.steps[0].at),
           "subject": SUBJECTS[life.i % len(SUBJECTS)], "applicant_name": f"مواطن {a}",
           "national_id": national_id(a), "mobile": mobile(a), "email": email(a) or "",
           "lang": language(a), "department": "", "referred_at": "", "outgoing_number": "",
           "destination_agency": "", "issued_at": "", "reply_expected": "",
           "reply_received_at": "", "closed_at": ""}
    if life.at("referred") is not None:
        row["department"] = f"D{life.department:02d}"
        row["referred_at"] = iso(life.at("referred") or 0)
    if issued is not None:
        row.update(outgoing_number=life.outgoing_number or "",
                   destination_agency=f"A{life.agency:02d}", issued_at=iso(issued),
                   reply_expected="yes" if life.reply_expected else "no")
    for kind in ("reply_received", "closed"):
        moment = life.at(kind)
        if moment is not None:
            row[f"{kind}_at"] = iso(moment)
    return row


def payload(life: Lifecycle, step: Step) -> dict:
    """The event as received: what ``import_rows.plan_row`` builds from ``csv_row`` (and,
    for ``assigned``, what the records system's API sends)."""
    if step.type == "assigned":
        return {"event_id": f"api:{life.number}:assigned", "type": "assigned",
                "occurred_at": iso(step.at), "transaction": {"number": life.number},
                "employee": f"E{life.employee:03d}"}
    body: dict = {"event_id": f"import:{life.number}:{step.type}", "type": step.type,
                  "occurred_at": iso(step.at), "transaction": {"number": life.number}}
    a = life.applicant
    if step.type == "registered":
        applicant = {"name": f"مواطن {a}", "national_id": national_id(a), "mobile": mobile(a)}
        if email(a):
            applicant["email"] = email(a)
        applicant["lang"] = language(a)
        body["transaction"].update(subject=SUBJECTS[life.i % len(SUBJECTS)],
                                   applicant=applicant)
    elif step.type == "referred":
        body["department"] = f"D{life.department:02d}"
    elif step.type == "issued":
        body.update(outgoing_number=life.outgoing_number,
                    destination_agency=f"A{life.agency:02d}",
                    reply_expected=life.reply_expected)
    return body


def _canonical(value: dict) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class Hashes:
    """Every applicant's national ID and its keyed hash, made once."""

    def __init__(self, shape: Shape, key: bytes) -> None:
        self.key = key
        self.ids = [national_id(a) for a in range(shape.applicants)]
        self.by_applicant = [hash_national_id(text, key) for text in self.ids]


def stored(life: Lifecycle, step: Step, hashes: Hashes) -> tuple[str, str]:
    """(the payload as stored, its digest), as ``lifecycle.stored_payload`` and
    ``digest`` make them from ``payload``: the JSON text written directly (keys in sorted
    order, as the digest has them), at a fifth of ``json.dumps``'s cost;
    ``check_payloads`` compares the two."""
    number, at = life.number, _iso(step.at)
    kind = step.type
    tail = f'"event_id":"{_EVENT_PREFIX[kind]}:{number}:{kind}","occurred_at":"{at}",'
    if kind == "registered":
        a = life.applicant
        mail = email(a)
        head = (f'{{{tail}"transaction":{{"applicant":{{'
                + (f'"email":"{mail}",' if mail else "")
                + f'"lang":"{language(a)}","mobile":"{mobile(a)}","name":"مواطن {a}",'
                f'"national_id":"')
        end = (f'"}},"number":"{number}","subject":"{SUBJECTS[life.i % len(SUBJECTS)]}"}},'
               f'"type":"registered"}}')
        text = f"{head}{hashes.ids[a]}{end}"
        digest = hmac.new(hashes.key, text.encode(), hashlib.sha256).hexdigest()
        return f"{head}hmac:{hashes.by_applicant[a]}{end}", digest
    rest = f'"transaction":{{"number":"{number}"}},"type":"{kind}"}}'
    if kind == "referred":
        text = f'{{"department":"D{life.department:02d}",{tail}{rest}'
    elif kind == "assigned":
        text = f'{{"employee":"E{life.employee:03d}",{tail}{rest}'
    elif kind == "issued":
        text = (f'{{"destination_agency":"A{life.agency:02d}",{tail}'
                f'"outgoing_number":"9{life.i:08d}",'
                f'"reply_expected":{"true" if life.reply_expected else "false"},{rest}')
    else:
        text = f"{{{tail}{rest}"
    return text, hmac.new(hashes.key, text.encode(), hashlib.sha256).hexdigest()


_EVENT_PREFIX = {"registered": "import", "referred": "import", "assigned": "api",
                 "issued": "import", "reply_received": "import", "closed": "import"}
_ISO_DAYS: dict[int, str] = {}


def _iso(seconds: int) -> str:
    """``iso`` without a datetime: "2026-11-23T09:00:00+00:00"."""
    day, second = divmod(seconds, DAY)
    date = _ISO_DAYS.get(day)
    if date is None:
        date = _ISO_DAYS[day] = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%dT")
    return f"{date}{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}+00:00"


def slow_stored(life: Lifecycle, step: Step, key: bytes) -> tuple[str, str]:
    """``stored``, by the product's own functions over ``payload`` (for the check)."""
    from core.transactions.lifecycle import digest, stored_payload

    body = payload(life, step)
    return _canonical(stored_payload(body, key)), digest(body, key)


# --- COPY rows ----------------------------------------------------------------------

TRANSACTION_COLUMNS = (
    "id", "number", "subject", "status", "registered_at", "applicant_name",
    "applicant_national_id_hash", "applicant_mobile", "applicant_email",
    "applicant_language", "department_id", "employee_id", "outgoing_number",
    "destination_agency_id", "issued_at", "reply_expected", "reply_received_at",
    "closed_at", "last_event_at", "updated_at")
EVENT_COLUMNS = ("id", "event_id", "transaction_id", "type", "occurred_at", "received_at",
                 "payload", "payload_digest", "department_id", "agency_id")
INQUIRY_COLUMNS = ("id", "at", "channel", "outcome", "requester_kind", "requester_key",
                   "requester_masked", "transaction_id", "latency_ms")
_N = "\\N"


_DAYS: dict[int, str] = {}


def _ts(seconds: int | None) -> str:
    """Epoch seconds as COPY reads a timestamptz ("2026-11-23 09:00:00+00"): a datetime
    per value would cost more than the whole COPY."""
    if seconds is None:
        return _N
    day, second = divmod(seconds, DAY)
    date = _DAYS.get(day)
    if date is None:
        date = _DAYS[day] = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%d ")
    return f"{date}{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}+00"


def _text(value: str | None) -> str:
    if value is None:
        return _N
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def transaction_values(life: Lifecycle, hashes: Hashes, *, assigned: bool = True
                       ) -> tuple:
    """The ``transactions`` row as the lifecycle leaves it (``TRANSACTION_COLUMNS`` less
    ``updated_at``, which is the time of writing)."""
    a = life.applicant
    referred = life.at("referred") is not None
    issued = life.at("issued")
    employee = life.employee if assigned and life.at("assigned") is not None else None
    return (life.i + 1, life.number, SUBJECTS[life.i % len(SUBJECTS)], life.status,
            life.steps[0].at, f"مواطن {a}", hashes.by_applicant[a], mobile(a), email(a),
            language(a), life.department if referred else None, employee,
            life.outgoing_number, life.agency if issued is not None else None, issued,
            life.reply_expected if issued is not None else False, life.at("reply_received"),
            life.at("closed"), life.steps[-1].at)


def _transaction_line(life: Lifecycle, hashes: Hashes) -> str:
    v = transaction_values(life, hashes)
    return "\t".join((
        str(v[0]), v[1], v[2], v[3], _ts(v[4]), v[5], v[6], v[7], _text(v[8]), v[9],
        _N if v[10] is None else str(v[10]), _N if v[11] is None else str(v[11]),
        _text(v[12]), _N if v[13] is None else str(v[13]), _ts(v[14]),
        "t" if v[15] else "f", _ts(v[16]), _ts(v[17]), _ts(v[18]), _ts(v[18]))) + "\n"


def _event_lines(life: Lifecycle, hashes: Hashes) -> Iterator[tuple[int, str]]:
    for step in life.steps:
        text, digest = stored(life, step, hashes)
        event_id = f"{_EVENT_PREFIX[step.type]}:{life.number}:{step.type}"
        yield step.at, "\t".join((
            event_id, str(life.i + 1), step.type, _ts(step.at), _ts(step.at), _text(text),
            digest, _N if step.department is None else str(step.department),
            _N if step.agency is None else str(step.agency)))


def _inquiry_line(shape: Shape, j: int) -> str:
    """Inquiry ``j``: made around slot ``j``'s registration, about a transaction of the
    days before it (found), a number that is not theirs or none (not found), or refused."""
    at = shape.registered(j) + int(_mix(j, 11) * DAY / shape.per_day * 50) % DAY
    roll = _mix(j, 12) * 100
    channel, kind = next((c, k) for c, k, share in _cumulative() if roll < share)
    outcome_roll = _mix(j, 13)
    outcome = ("found" if outcome_roll < 0.88 else "not_found" if outcome_roll < 0.98
               else "invalid" if outcome_roll < 0.99 else "rate_limited")
    target = max(0, j - int(_mix(j, 14) * 20 * shape.per_day))
    requester = hashlib.blake2b(f"{kind}:{shape.applicant(target)}".encode(),
                                digest_size=32).hexdigest()
    masked = {"mobile": "05xxxxx" + f"{j % 1000:03d}", "email": "a***@mail.example.sa",
              "national_id": f"1xxxxxxx{j % 100:02d}"}[kind]
    return "\t".join((
        str(j + 1), _ts(at), channel, outcome, kind, requester, masked,
        str(target + 1) if outcome == "found" else _N, f"{1 + _mix(j, 15) * 20:.2f}")) + "\n"


_SHARES: list[tuple[str, str, float]] = []


def _cumulative() -> list[tuple[str, str, float]]:
    if not _SHARES:
        total = 0.0
        for channel, kind, share in CHANNELS:
            total += share
            _SHARES.append((channel, kind, total))
    return _SHARES


@dataclass
class Loaded:
    transactions: int = 0
    events: int = 0
    inquiries: int = 0
    seconds: float = 0.0


def load(dsn: str, shape: Shape, hashes: Hashes, *, inquiries: bool = True,
         workers: int = 2, log: Callable[[str], None] = print) -> Loaded:
    """COPY every slot of ``shape`` (and its events and inquiry log rows) into the
    migrated database at ``dsn`` (a psycopg connection string).

    ``workers`` processes (forked: they share ``hashes``) write the chunks' text while
    this one COPYs the previous chunks, in order, at most two chunks ahead of it. The
    events and the log rows take their ids from their sequences, in the order they are
    copied, as the product's inserts do."""
    import multiprocessing

    import psycopg

    global _WORK
    _WORK = (shape, hashes, inquiries)
    loaded = Loaded()
    started = time.perf_counter()
    chunks = [(low, min(low + CHUNK, shape.transactions))
              for low in range(0, shape.transactions, CHUNK)]
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool, psycopg.connect(dsn) as conn:
        pending = deque(pool.apply_async(_chunk_text, chunk) for chunk in chunks[:workers + 2])
        for n, (_low, high) in enumerate(chunks):
            transactions, events, count, log_rows = pending.popleft().get()
            if n + workers + 2 < len(chunks):
                pending.append(pool.apply_async(_chunk_text, chunks[n + workers + 2]))
            _copy_text(conn, "transactions", TRANSACTION_COLUMNS, transactions)
            _copy_text(conn, "transaction_events", EVENT_COLUMNS[1:], events)
            if log_rows:
                _copy_text(conn, "inquiry_log", INQUIRY_COLUMNS[1:], log_rows)
            conn.commit()
            loaded.transactions = high
            loaded.events += count
            loaded.inquiries = high if inquiries else 0
            if high % 1_000_000 == 0 or high == shape.transactions:
                seconds = time.perf_counter() - started
                log(f"   {high:>11,} transactions, {loaded.events:>11,} events, "
                    f"{loaded.inquiries:>11,} inquiries in {seconds:,.0f} s "
                    f"({loaded.transactions / seconds:,.0f} transactions/s)")
        conn.execute("SELECT setval(pg_get_serial_sequence('transactions', 'id'), "
                     "(SELECT coalesce(max(id), 0) + 1 FROM transactions), false)")
        conn.commit()
    loaded.seconds = time.perf_counter() - started
    return loaded


_WORK: tuple[Shape, Hashes, bool] | None = None


def _chunk_text(low: int, high: int) -> tuple[str, str, int, str]:
    """Slots ``low`` .. ``high - 1`` as COPY text: the transactions, their events in the
    order they happened (no id), how many events, the inquiry log rows (no id)."""
    assert _WORK is not None
    shape, hashes, inquiries = _WORK
    lives = [lifecycle(shape, i) for i in range(low, high)]
    transactions = "".join(_transaction_line(life, hashes) for life in lives)
    timeline = sorted((pair for life in lives for pair in _event_lines(life, hashes)),
                      key=lambda pair: pair[0])
    events = "".join(f"{line}\n" for _, line in timeline)
    log_rows = ("".join(_inquiry_line(shape, j).split("\t", 1)[1] for j in range(low, high))
                if inquiries else "")
    return transactions, events, len(timeline), log_rows


def _copy_text(conn, table: str, columns: tuple[str, ...], text: str) -> None:
    """COPY ``text`` (lines of tab-separated values) into ``table``."""
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for first in range(0, len(text), 1 << 22):
            copy.write(text[first:first + (1 << 22)])
