"""One inquiry service for every channel: normalize, verify the requester, answer, log.

The requester proves the transaction is theirs by their mobile (SMS, IVR caller ID),
their e-mail address, or their national ID (web, kiosk, IVR). "No such transaction"
and "not yours" are one outcome, so numbers cannot be probed.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple, Protocol

from prometheus_client import Counter, Histogram
from sqlalchemy import Boolean, Connection, Engine, Select, bindparam, select

from core.directory.models import Agency, Department
from core.identity.addresses import mask_email
from core.identity.digits import extract_transaction_number
from core.identity.national_id import InvalidNationalId, has_valid_check_digit, hash_national_id
from core.identity.phones import InvalidMobile, mask_mobile, normalize_mobile
from core.platform.compiled import CompiledStatement, utc
from core.platform.db import Database, UTCDateTime
from core.platform.ratelimit import DatabaseFailureCounts, FailureCounts
from core.platform.settings import CoreSettings
from core.platform.telemetry import INQUIRIES, INQUIRY_SECONDS
from core.transactions.answer import Answer, Name, Outcome, Stage, TransactionView
from core.transactions.inquiry_log import InquiryLogWriter, LogEntry
from core.transactions.limits import Counted, Counters, Credential, InquiryLimits
from core.transactions.models import Transaction, TransactionEvent

CHANNELS = ("web", "api", "kiosk", "sms", "ivr", "email")


@dataclass(frozen=True)
class InquiryRequest:
    """What a channel learned from the requester. At least one credential is expected;
    several are one inquiry, answered when any of them is the applicant's."""

    channel: str
    number_text: str
    lang: str = "ar"
    mobile: str | None = None
    email: str | None = None
    national_id: str | None = None
    # Where the request came from, for rate limits: an IP address (the portal), the
    # sender's mobile (SMS) or mailbox (e-mail), the caller ID (IVR; None when withheld),
    # the kiosk's or desk's name (API). See core/transactions/limits.py.
    origin: str | None = None
    # A first try with what the channel knows without asking (the IVR's caller ID). When
    # it does not find, the channel asks for another credential and inquires again with
    # all of them: that inquiry is the one logged, so the first try's miss is not (found
    # and refused answers are logged as usual). The miss still counts against the rate
    # limits: caller ID can be forged, and a free try per call would let anyone probe
    # a mobile's transactions without end.
    first_try: bool = False


@dataclass(frozen=True)
class _Credential:
    kind: str
    key: str  # keyed hash, for the log and the rate limit
    masked: str
    mobile: str | None = None
    email: str | None = None
    national_id_hash: str | None = None


class InquiryService:
    """Inquiries on every channel. Failures are counted in ``counts``: by default the
    database's, shared by every process of the installation (core/transactions/limits.py
    says against what); a memory store counts apart (unit tests, a training simulator)."""

    def __init__(self, db: Database, config: CoreSettings, log: InquiryLogWriter,
                 counts: FailureCounts | None = None) -> None:
        self._db = db
        self._find = CompiledLookup(db.lookup)
        self._config = config
        self._key = config.national_id_key()  # read once: every inquiry hashes with it
        self._log = log
        store = counts or DatabaseFailureCounts(db, config.inquiry.failure_window_seconds)
        self.limits = InquiryLimits(store, config.inquiry.max_failures, self._key)
        # The database's counters ride along with the lookup (CompiledLookup.with_counts).
        self._counts = store if isinstance(store, DatabaseFailureCounts) else None

    def inquire(self, request: InquiryRequest) -> Answer:
        started = time.perf_counter()
        return self._inquire(request, self._prepared(request), self.limits, started)

    def flush(self) -> None:
        """Write now the failures waiting to be written behind (core/transactions/limits.py
        says which may wait)."""
        if self._counts is not None:
            self._counts.flush()

    def close(self) -> None:
        """Write the failures still waiting and stop writing behind (on shutdown)."""
        if self._counts is not None:
            self._counts.close()

    def batch(self, requests: Iterable[InquiryRequest]) -> InquiryBatch:
        """Inquiries of one burst (``requests``, as they will be asked): their counters
        read in one statement now, their failures written by the caller, in the burst's
        own transaction (``InquiryBatch.write``). The same answers and refusals as
        asking them one by one."""
        return InquiryBatch(self, requests)

    def _prepared(self, request: InquiryRequest) -> _Prepared:
        """What the inquiry checks: its credentials, number and counters."""
        credentials = self._credentials(request)
        number = extract_transaction_number(request.number_text or "")
        counted = self.limits.counted(
            request.channel, request.origin,
            [Credential(c.key, c.mobile) for c in credentials if c.kind != "none"], number)
        return _Prepared(credentials, number, counted)

    def _inquire(self, request: InquiryRequest, prepared: _Prepared,
                 counters: Counters, started: float) -> Answer:
        credentials, number, counted = prepared
        credential = credentials[0]
        rows: list[LookupRow] | None = None
        seen: Mapping[str, int] | None = None
        if counters is self.limits:
            seen, rows = self._read(number, counted)
            refused = self.limits.refused_by(counted, seen)
        else:
            refused = counters.refused(counted)
        if refused:
            answer, txn_id = Answer(Outcome.RATE_LIMITED), None
        else:
            if number is None:
                answer, txn_id = Answer(Outcome.INVALID), None
            else:
                answer, txn_id, credential = self._lookup(number, credentials, rows)
                if answer.outcome is Outcome.NOT_FOUND and _mistyped(request.national_id):
                    answer = Answer(Outcome.NOT_FOUND, id_mistyped=True)
            if not answer.found:
                # Far from every limit, the failure may be written behind (limits.py).
                counters.failed(counted, seen)
                if request.first_try:
                    return answer  # the inquiry goes on with more credentials
        elapsed = time.perf_counter() - started
        _counter(request.channel, answer.outcome.value).inc()
        _histogram(request.channel).observe(elapsed)
        self._log.write(LogEntry(
            channel=request.channel, outcome=answer.outcome.value,
            requester_kind=credential.kind, requester_key=credential.key,
            requester_masked=credential.masked, transaction_id=txn_id,
            latency_ms=elapsed * 1000.0,
        ))
        return answer

    def _read(self, number: str | None, counted: Counted
              ) -> tuple[Mapping[str, int], list[LookupRow] | None]:
        """The failures of the inquiry's counters, and the lookup's rows when the read
        carried the lookup (None: not run yet).

        Only the counters that may have failures are read (``suspects``,
        core/platform/ratelimit.py: a filter in memory, and how stale it may be): most
        inquiries touch none, and pay for no read at all, as before the limits were
        shared. The others read theirs with the lookup, in its statement (one round
        trip, found or not). Found or not, a request is checked alike: a refusal never
        tells whether the number exists.
        """
        store = self._counts
        if store is None:
            return self.limits.read(counted), None
        suspects = store.suspects(counted.reads)
        if not suspects:
            return {}, None
        if number is not None:
            rows, values = self._find.with_counts(number, suspects, store)
            return values, rows
        return self.limits.counts.counts(suspects), None

    def _lookup(self, number: str, who: list[_Credential],
                rows: list[LookupRow] | None = None
                ) -> tuple[Answer, int | None, _Credential]:
        """The answer, the transaction's id when found, and the credential to log: the one
        that matched, else the strongest given (``rows``: the lookup's, when already run,
        on the primary with the counters).

        The lookup reads from the read replica while it is close behind the primary
        (``Database.replica_lookup``); what it does not find there is looked up again on
        the primary, so a transaction registered a moment ago, or whose applicant's
        details just changed, is still found. A found answer may be up to
        ``database.read_max_lag_seconds`` behind the primary.
        """
        found, on_replica = (rows, False) if rows is not None else \
            self._db.read_behind(lambda engine: self._find(number, engine))
        matched = _matching(found, who)
        if matched is None and on_replica:
            found = self._find(number)
            matched = _matching(found, who)
        if matched is None:
            return Answer(Outcome.NOT_FOUND), None, who[0]
        return Answer(Outcome.FOUND, _view(found)), found[0].id, matched

    def _credentials(self, request: InquiryRequest) -> list[_Credential]:
        """Every credential the requester gave, strongest first; never empty."""
        found: list[_Credential] = []
        if request.mobile:
            try:
                mobile = normalize_mobile(request.mobile, self._config.locale.phone_region)
            except InvalidMobile:
                mobile = None
            if mobile:
                found.append(_Credential("mobile", self._keyed("mobile", mobile),
                                         mask_mobile(mobile), mobile=mobile))
        if request.email and "@" in request.email:
            email = request.email.strip().lower()
            found.append(_Credential("email", self._keyed("email", email),
                                     _loggable(mask_email(email)), email=email))
        if request.national_id:
            try:
                hashed = hash_national_id(request.national_id, self._key)
            except InvalidNationalId:
                # A malformed ID belongs to nobody; still counted against the requester.
                found.append(_Credential("national_id",
                                         self._keyed("bad-id", request.national_id), ""))
            else:
                found.append(_Credential("national_id", hashed, "", national_id_hash=hashed))
        if not found:
            found.append(_Credential("none", self._keyed("origin", request.origin or "-"), ""))
        return found

    def _keyed(self, kind: str, value: str) -> str:
        # surrogatepass: whatever a channel decoded (even a lone surrogate) gets a key.
        return hmac.new(self._key,
                        f"{kind}:{value}".encode("utf-8", "surrogatepass"),
                        hashlib.sha256).hexdigest()


class _Prepared(NamedTuple):
    credentials: list[_Credential]
    number: str | None
    counted: Counted


class InquiryBatch:
    """A burst's inquiries (``InquiryService.batch``): asked one by one as usual, their
    counters read once for the whole burst and their failures counted in memory, until
    ``write`` adds them in the caller's transaction."""

    def __init__(self, service: InquiryService, requests: Iterable[InquiryRequest]) -> None:
        self._service = service
        # Prepared once: the burst's reads need the counters, the inquiries everything.
        self._prepared = {request: service._prepared(request) for request in requests}
        self._counts = service.limits.burst(p.counted for p in self._prepared.values())

    def inquire(self, request: InquiryRequest) -> Answer:
        """The answer, as ``InquiryService.inquire`` gives it."""
        started = time.perf_counter()
        prepared = self._prepared.get(request) or self._service._prepared(request)
        return self._service._inquire(request, prepared, self._counts, started)

    def write(self, connection: Connection) -> None:
        """Add the failures counted so far to the shared counters, in ``connection``'s
        transaction (the one that stores the burst: no transaction of their own)."""
        self._counts.write(connection)


def _mistyped(national_id: str | None) -> bool:
    """A well-formed national ID whose check digit fails (a typo, most likely)."""
    if not national_id:
        return False
    try:
        return not has_valid_check_digit(national_id)
    except InvalidNationalId:
        return False


@cache
def _counter(channel: str, outcome: str) -> Counter:
    # Channels and outcomes are closed sets: the labelled children are looked up once.
    return INQUIRIES.labels(channel, outcome)


@cache
def _histogram(channel: str) -> Histogram:
    return INQUIRY_SECONDS.labels(channel)


def _loggable(masked: str) -> str:
    # The log column holds 64 characters and PostgreSQL refuses NUL: one address that does
    # not fit would otherwise lose the whole batch of log rows written with it.
    return masked.replace("\x00", "")[:64]


def _matching(rows: Sequence[LookupRow], who: list[_Credential]) -> _Credential | None:
    """The first credential the transaction (``rows``, empty for none) belongs to."""
    return next((c for c in who if _belongs_to(rows[0], c)), None) if rows else None


def _belongs_to(txn: LookupRow, who: _Credential) -> bool:
    # compare_digest: the answer's timing does not tell how much of a credential matched.
    if who.mobile and txn.applicant_mobile:
        return hmac.compare_digest(who.mobile, txn.applicant_mobile)
    if who.email and txn.applicant_email:
        return hmac.compare_digest(who.email, txn.applicant_email)
    if who.national_id_hash and txn.applicant_national_id_hash:
        return hmac.compare_digest(who.national_id_hash, txn.applicant_national_id_hash)
    return False


def _name(name_ar: str | None, name_en: str | None) -> Name | None:
    return Name(name_ar, name_en or name_ar) if name_ar is not None else None


def _lookup_statement(*, always_a_row: bool = False) -> Select[*tuple[Any, ...]]:
    """The transaction, its current department and agency, and its history: one query.

    Built once; SQLAlchemy caches its compiled form. Plain rows, no ORM objects: this is
    the hot path of every channel. ``always_a_row``: the joins start from the number
    asked, so a number with no transaction still brings one row (every column None) to
    carry the columns another statement adds (``CompiledLookup.with_counts``).
    """
    txn, history = Transaction.__table__, TransactionEvent.__table__
    department, agency = Department.__table__.alias("d"), Agency.__table__.alias("a")
    stage_department = Department.__table__.alias("sd")
    stage_agency = Agency.__table__.alias("sa")
    asked = select(bindparam("number", type_=txn.c.number.type).label("number")
                   ).subquery("asked")
    start = asked.outerjoin(txn, txn.c.number == asked.c.number) if always_a_row else txn
    joins = (start.outerjoin(department, department.c.id == txn.c.department_id)
             .outerjoin(agency, agency.c.id == txn.c.destination_agency_id)
             .outerjoin(history, history.c.transaction_id == txn.c.id)
             .outerjoin(stage_department, stage_department.c.id == history.c.department_id)
             .outerjoin(stage_agency, stage_agency.c.id == history.c.agency_id))
    statement = select(
        txn.c.id, txn.c.number, txn.c.status, txn.c.subject, txn.c.registered_at,
        txn.c.applicant_mobile, txn.c.applicant_email, txn.c.applicant_national_id_hash,
        txn.c.outgoing_number, txn.c.issued_at, txn.c.reply_expected,
        txn.c.reply_received_at, txn.c.closed_at,
        department.c.name_ar.label("department_ar"),
        department.c.name_en.label("department_en"),
        agency.c.name_ar.label("agency_ar"), agency.c.name_en.label("agency_en"),
        history.c.type.label("stage"), history.c.occurred_at.label("stage_at"),
        stage_department.c.name_ar.label("stage_department_ar"),
        stage_department.c.name_en.label("stage_department_en"),
        stage_agency.c.name_ar.label("stage_agency_ar"),
        stage_agency.c.name_en.label("stage_agency_en"),
    ).select_from(joins).order_by(history.c.occurred_at, history.c.id)
    if always_a_row:
        return statement
    return statement.where(txn.c.number == bindparam("number"))


_LOOKUP = _lookup_statement()
_LOOKUP_WITH_A_ROW = _lookup_statement(always_a_row=True)


class LookupRow(Protocol):
    """A row of ``_LOOKUP``: the transaction, its names, one stage of its history (all
    None for a transaction with none). At run time a namedtuple of the statement's columns.
    """

    id: int
    number: str
    status: str
    subject: str
    registered_at: datetime
    applicant_mobile: str | None
    applicant_email: str | None
    applicant_national_id_hash: str | None
    outgoing_number: str | None
    issued_at: datetime | None
    reply_expected: bool | None
    reply_received_at: datetime | None
    closed_at: datetime | None
    department_ar: str | None
    department_en: str | None
    agency_ar: str | None
    agency_en: str | None
    stage: str | None
    stage_at: datetime  # set whenever ``stage`` is (the event's time)
    stage_department_ar: str | None
    stage_department_en: str | None
    stage_agency_ar: str | None
    stage_agency_en: str | None


class CompiledLookup:
    """The lookup statement, compiled once for the engine's dialect, run on a pooled DBAPI
    connection (core/platform/compiled.py).

    Every inquiry on every channel runs it: going around SQLAlchemy's per-statement
    machinery (cache key, execution context, result processors) halves its cost. Only the
    two kinds of value the drivers return differently are converted here.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._statement = CompiledStatement(_LOOKUP, engine.dialect)
        columns = self._columns = list(_LOOKUP.selected_columns)
        self._with_counts: dict[int, CompiledStatement] = {}
        # A namedtuple of the columns, known at run time: mypy types only literal fields,
        # so ``LookupRow`` says what it holds.
        keys = [str(column.key) for column in columns]
        self._row: Callable[..., LookupRow] = namedtuple(  # type: ignore[misc,assignment]
            "LookupRow", keys)
        self._datetimes = [i for i, column in enumerate(columns)
                           if isinstance(column.type, UTCDateTime)]
        self._booleans = [i for i, column in enumerate(columns)
                          if isinstance(column.type, Boolean)]

    def __call__(self, number: str, engine: Engine | None = None) -> list[LookupRow]:
        """The number's rows, read on ``engine`` (a replica's: the same dialect), by
        default the primary's."""
        fetched = self._statement.fetchall(engine or self._engine, {"number": number})
        return [self._convert(row) for row in fetched]

    def with_counts(self, number: str, keys: Sequence[str], counts: DatabaseFailureCounts
                    ) -> tuple[list[LookupRow], dict[str, int]]:
        """The lookup and, in the same statement, the failure counts of ``keys``: one
        round trip, whether the number has a transaction or not."""
        statement = self._with_counts.get(len(keys))
        if statement is None:
            statement = self._with_counts[len(keys)] = CompiledStatement(
                _LOOKUP_WITH_A_ROW.add_columns(*counts.columns(len(keys))),
                self._engine.dialect)
        values = counts.parameters(keys)
        values["number"] = number
        unwritten = counts.unwritten(keys)  # before the statement (DatabaseFailureCounts)
        fetched = statement.fetchall(self._engine, values)
        width = len(self._columns)
        found = counts.from_columns(keys, fetched[0][width:], unwritten)
        if fetched[0][0] is None:  # no such number: the one row only carries the counts
            return [], found
        return [self._convert(row[:width]) for row in fetched], found

    def _convert(self, row: Sequence[Any]) -> LookupRow:
        values = list(row)
        for i in self._datetimes:
            values[i] = utc(values[i])
        for i in self._booleans:
            if values[i] is not None:
                values[i] = bool(values[i])
        return self._row(*values)


def _view(rows: Sequence[LookupRow]) -> TransactionView:
    txn = rows[0]
    timeline = tuple(
        Stage(type=row.stage, occurred_at=row.stage_at,
              department=_name(row.stage_department_ar, row.stage_department_en),
              agency=_name(row.stage_agency_ar, row.stage_agency_en))
        for row in rows if row.stage is not None
    )
    return TransactionView(
        number=txn.number, status=txn.status, subject=txn.subject,
        registered_at=txn.registered_at, department=_name(txn.department_ar, txn.department_en),
        outgoing_number=txn.outgoing_number,
        destination_agency=_name(txn.agency_ar, txn.agency_en),
        issued_at=txn.issued_at, reply_expected=bool(txn.reply_expected),
        reply_received_at=txn.reply_received_at, closed_at=txn.closed_at, timeline=timeline,
    )
