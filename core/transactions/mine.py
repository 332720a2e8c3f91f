""""My transactions": every transaction registered under one national ID, for the one
who proves it is theirs, and their Citizen's Voice cases beside them.

The proof is the national ID and a one-time code sent by SMS to the mobile on the
applicant's newest transaction (``core.messaging.codes``, purpose ``my_transactions``,
subject the ID's keyed hash). Nothing else unlocks the list: not the ID alone, not a
mobile a page names. Asking for a code gets one answer, status and amount of database
work whether or not the ID has transactions (the same reads; the same counters
written), and takes the same time (``REQUEST_FLOOR_SECONDS``: the SMS's own write is
padded over), so an ID's transactions cannot be learnt without its code. Requests are
counted per ID and per origin, where every process sees them; a code that does not
unlock (wrong, expired, ended, another ID's or none at all) is one refusal, in one
wording, counted per ID and per origin.

By SMS the network authenticates the sender's SIM: the sender's mobile is the proof, and
lists the transactions registered with that mobile (``by_mobile``).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from core.directory.models import Agency, Department
from core.identity.national_id import InvalidNationalId, hash_national_id
from core.identity.phones import InvalidMobile, normalize_mobile
from core.messaging.codes import OneTimeCodes, Verified
from core.platform.db import Database
from core.platform.errors import CoreError, InvalidRequest, NotFound, TooMany
from core.platform.i18n import gettext_for, ngettext_for
from core.platform.ratelimit import DatabaseFailureCounts, FailureCounts, origin_group
from core.platform.settings import CoreSettings
from core.transactions.answer import Name, TransactionView
from core.transactions.models import Transaction

PURPOSE = "my_transactions"
# How many are shown at once (the newest); the rest are counted ("and N more").
SHOWN = 50
# A verified code proves the ID this long at most; a page signs out sooner when idle.
PROOF_LIFETIME = timedelta(minutes=30)

# The shared counters, an hour each: requests for a code per ID and per origin, codes
# that unlocked nothing per ID and per origin.
WINDOW = 3600
REQUESTS_PER_ID = 5
REQUESTS_PER_ORIGIN = 20
WRONG_PER_ID = 10
WRONG_PER_ORIGIN = 30
# Under the one-time codes' prefix: the upkeep keeps these counters for their window.
KEY_PREFIX = "code-m"
# Every request for a code takes at least this long: sending one (a write of the code
# and its SMS) takes about a millisecond more than sending none, and that difference
# must not say whether an ID has transactions. Well above the send's own time.
REQUEST_FLOOR_SECONDS = 0.05


class CitizenCases(Protocol):
    """What this needs of Citizen's Voice: a citizen's cases by ID hash or mobile."""

    def cases_of(self, *, national_id_hash: str | None, mobile: str | None,
                 limit: int) -> Sequence[CaseLine]: ...


class CaseLine(Protocol):
    """A case in the list (``core.voice.citizen_cases.CaseLine``)."""

    @property
    def tracking(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def received_at(self) -> datetime: ...


@dataclass(frozen=True)
class Line:
    """One transaction as its applicant sees it in the list."""

    number: str
    subject: str
    status: str
    registered_at: datetime
    department: Name | None
    outgoing_number: str | None
    destination_agency: Name | None
    issued_at: datetime | None
    reply_expected: bool

    def view(self) -> TransactionView:
        """The line as the renderers take a transaction (its stage in words)."""
        return TransactionView(number=self.number, status=self.status, subject=self.subject,
                               registered_at=self.registered_at, department=self.department,
                               outgoing_number=self.outgoing_number,
                               destination_agency=self.destination_agency,
                               issued_at=self.issued_at, reply_expected=self.reply_expected)


@dataclass(frozen=True)
class MyList:
    """The list: the newest ``SHOWN`` transactions, how many more there are, the cases."""

    transactions: list[Line]
    more: int
    cases: list[CaseLine]
    mobile: str  # the verified mobile (masked by whoever shows it)


@dataclass(frozen=True)
class Requested:
    """The answer to every request for a code: ``subject`` is what to verify a code
    against (the ID's keyed hash: the caller keeps it, server-side or signed)."""

    subject: str


def wrong_code() -> InvalidRequest:
    """The one refusal of a code that unlocks nothing, whatever the reason."""
    return InvalidRequest("the code is wrong or has expired; check it or ask for a new one",
                          code="wrong_code", field="code")


def signed_out() -> NotFound:
    return NotFound("not signed in, or signed out; start again with your national ID",
                    code="not_signed_in")


class MyTransactions:
    """The code step and the list, over one database."""

    def __init__(self, db: Database, config: CoreSettings, codes: OneTimeCodes,
                 cases: CitizenCases, *, counts: FailureCounts | None = None,
                 floor: float = REQUEST_FLOOR_SECONDS) -> None:
        self._db = db
        self._floor = floor
        self._codes = codes
        self._cases = cases
        self._key = config.national_id_key()
        self._secret = hashlib.sha256(b"my-transactions:" + self._key).digest()
        self._counts = counts or DatabaseFailureCounts(db, WINDOW)

    # --- the proof -------------------------------------------------------------------

    def request_code(self, national_id: str, *, origin: str | None) -> Requested:
        """Send a code to the mobile on the ID's newest transaction, if it has one. The
        answer is the same either way; ``InvalidRequest`` only for an ID that is not
        one (what was typed decides it), ``TooMany`` past the ID's or origin's share."""
        subject = self.subject(national_id)
        started = time.perf_counter()
        try:
            self._request_code(subject, origin)
        finally:
            # The same time with or without transactions (and a refusal alike).
            time.sleep(max(0.0, started + self._floor - time.perf_counter()))
        return Requested(subject)

    def _request_code(self, subject: str, origin: str | None) -> None:
        keys = self._keys("request", subject, origin)
        found = self._counts.counts(keys)
        if found.get(keys[0], 0) >= REQUESTS_PER_ID or any(
                found.get(key, 0) >= REQUESTS_PER_ORIGIN for key in keys[1:]):
            raise TooMany("too many codes asked for; please try later",
                          code="too_many_codes", retry_after=WINDOW)
        newest = self._newest_mobile(subject)
        self._counts.add(keys)
        if newest is not None:
            mobile, lang = newest
            # The mobile's own limits or cooldown are not told: that would say the ID has
            # transactions. The code sent before still works until it expires.
            with contextlib.suppress(TooMany, InvalidMobile):
                self._codes.send(PURPOSE, mobile, lang=lang, origin=origin, subject=subject)

    def verify(self, subject: str, typed: str, *, origin: str | None) -> int:
        """The verified code's id for the ID ``subject`` (keep it server-side: it is the
        proof, ``proven``). ``wrong_code`` for any code that does not unlock; counted."""
        keys = self._keys("wrong", subject, origin)
        found = self._counts.counts(keys)
        if found.get(keys[0], 0) >= WRONG_PER_ID or any(
                found.get(key, 0) >= WRONG_PER_ORIGIN for key in keys[1:]):
            raise TooMany("too many wrong codes; please try later", code="too_many_codes",
                          retry_after=WINDOW)
        newest = self._newest_mobile(subject)
        code_id = self._codes.live(PURPOSE, newest[0], subject) if newest else None
        if code_id is not None:
            try:
                return self._codes.verify(code_id, PURPOSE, typed, origin=origin).code_id
            except TooMany:
                raise
            except CoreError:
                pass
        self._counts.add(keys)
        raise wrong_code()

    def proven(self, code_id: int) -> Verified | None:
        """What the verified code ``code_id`` still proves (its ``subject`` the ID's hash,
        its ``mobile`` the one it reached); None when it proves nothing now."""
        proof = self._codes.verified(code_id, PURPOSE, within=PROOF_LIFETIME)
        return proof if proof is not None and proof.subject else None

    def subject(self, national_id: str) -> str:
        """The keyed hash of a typed national ID (digits of any script);
        ``InvalidRequest`` when it is not one."""
        try:
            return hash_national_id(national_id, self._key)
        except InvalidNationalId as exc:
            raise InvalidRequest(str(exc), code="invalid_field", field="national_id") from exc

    # --- the lists -------------------------------------------------------------------

    def listing(self, code_id: int) -> MyList:
        """The proven applicant's transactions, newest first, and their cases (by the
        ID's hash or the verified mobile). ``not_signed_in`` without a live proof."""
        proof = self.proven(code_id)
        if proof is None or proof.subject is None:
            raise signed_out()
        subject = proof.subject
        with self._db.read() as session:
            lines, total = _lines(session, Transaction.applicant_national_id_hash == subject)
        cases = list(self._cases.cases_of(national_id_hash=subject, mobile=proof.mobile,
                                          limit=SHOWN))
        return MyList(lines, total - len(lines), cases, proof.mobile)

    def by_mobile(self, mobile: str, *, limit: int = SHOWN) -> tuple[list[Line], int]:
        """The transactions registered with ``mobile`` (one the network authenticated),
        newest first, at most ``limit``, and how many more there are."""
        try:
            number = normalize_mobile(mobile)
        except InvalidMobile:
            return [], 0
        with self._db.read() as session:
            lines, total = _lines(session, Transaction.applicant_mobile == number, limit)
        return lines, total - len(lines)

    # --- helpers ---------------------------------------------------------------------

    def _newest_mobile(self, subject: str) -> tuple[str, str] | None:
        """The mobile (and language) on the ID's newest transaction that has one."""
        with self._db.read() as session:
            row = session.execute(
                select(Transaction.applicant_mobile, Transaction.applicant_language)
                .where(Transaction.applicant_national_id_hash == subject,
                       Transaction.applicant_mobile.is_not(None))
                .order_by(Transaction.registered_at.desc(), Transaction.id.desc())
                .limit(1)).first()
        if row is None or not row.applicant_mobile:
            return None
        return row.applicant_mobile, row.applicant_language or "ar"

    def _keys(self, kind: str, subject: str, origin: str | None) -> list[str]:
        keys = [self._hash(f"{kind}:id:{subject}")]
        if origin:
            keys.append(self._hash(f"{kind}:origin:{origin_group(origin)}"))
        return keys

    def _hash(self, value: str) -> str:
        return KEY_PREFIX + hashlib.blake2b(value.encode("utf-8", "surrogatepass"),
                                            key=self._secret, digest_size=28).hexdigest()


def _lines(session: Session, whose: ColumnElement[bool], limit: int = SHOWN
           ) -> tuple[list[Line], int]:
    """The newest ``limit`` transactions matching ``whose`` and how many match in all."""
    rows = session.scalars(
        select(Transaction).where(whose)
        .order_by(Transaction.registered_at.desc(), Transaction.id.desc()).limit(limit)).all()
    total = len(rows)
    if total == limit:
        total = int(session.scalar(select(func.count()).select_from(Transaction)
                                   .where(whose)) or 0)
    return [_line(row) for row in rows], total


def _name(entity: Department | Agency | None) -> Name | None:
    return Name(entity.name_ar, entity.name_en) if entity is not None else None


def _line(row: Transaction) -> Line:
    return Line(number=row.number, subject=row.subject, status=row.status,
                registered_at=row.registered_at, department=_name(row.department),
                outgoing_number=row.outgoing_number if row.issued_at else None,
                destination_agency=_name(row.destination_agency) if row.issued_at else None,
                issued_at=row.issued_at, reply_expected=row.reply_expected)


# --- words ---------------------------------------------------------------------------


def stage_word(status: str, lang: str) -> str:
    """The stage in one word, for the SMS list."""
    _ = gettext_for(lang)
    return {
        "registered": _("registered"), "referred": _("referred"),
        "assigned": _("in study"), "issued": _("issued"),
        "reply_received": _("replied"), "closed": _("completed"),
    }.get(status, status)


def sms_list(lines: Sequence[Line], more: int, lang: str) -> str:
    """The SMS answer to "my transactions": numbers and one-word stages, newest first,
    and how many more; or a text that says nothing about anyone's national ID."""
    _ = gettext_for(lang)
    if not lines:
        return _("No transactions are registered with this mobile number.")
    head = _("Your transactions:")
    body = "\n".join(f"{line.number} {stage_word(line.status, lang)}" for line in lines)
    text = f"{head}\n{body}"
    if more:
        text += "\n" + ngettext_for(lang)("and {n} more", "and {n} more", more).format(n=more)
    return text
