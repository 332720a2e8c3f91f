"""One-time SMS codes that prove a citizen holds a mobile: the portal's filing and its
tracking page's acts today, "my transactions" by national ID and code tomorrow.

A code is 6 random digits, sent by SMS and kept only as a keyed hash (HMAC with the
installation's secret and a salt of its own: six digits hashed without a key would be
read back by trying all million). It lives 5 minutes and dies after 5 wrong tries; a
(purpose, mobile) has one live code at most (the unique ``live_key``, on every machine):
a new one replaces the old, and a resend gives the same row a new code, not before a
cooldown. Its SMS is queued as an answer (``PRIORITY_ANSWER``): the citizen is waiting
for it, quiet hours do not hold it.

So that nobody can use the SMS to bother someone else, sending is counted where every
process sees it (``DatabaseFailureCounts``, like the filing limits): per mobile and per
origin (a web client's address, an IPv6 one by its /64). Wrong codes are counted per
origin too, so that one client cannot guess through many codes.

What a verified code proves is kept here, server-side: a caller holds the row's id (in a
signed session) and asks ``verified`` whether it still proves its mobile; it never
believes a mobile the client sends.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.identity.digits import normalize_digits
from core.identity.phones import normalize_mobile
from core.messaging import outbox
from core.messaging.models import OneTimeCode
from core.platform.clock import utcnow
from core.platform.db import Database
from core.platform.errors import InvalidRequest, NotFound, TooMany
from core.platform.i18n import gettext_for
from core.platform.ratelimit import DatabaseFailureCounts, FailureCounts, origin_group
from core.platform.settings import CoreSettings

DIGITS = 6
LIFETIME = timedelta(minutes=5)
MAX_ATTEMPTS = 5
# Between two SMS for the same (purpose, mobile); a row is sent at most MAX_SENDS times.
RESEND_AFTER = timedelta(seconds=60)
MAX_SENDS = 3
# How long a verified code proves its mobile to the one who typed it (the tracking
# page's acts after one code; a filing is made at once).
PROOF_LIFETIME = timedelta(minutes=30)
# Kept this long after they end (for the support desk's questions), then deleted.
KEPT_FOR = timedelta(days=1)

# The shared counters: SMS per mobile and per origin, wrong codes per origin, an hour.
WINDOW = 3600
SENDS_PER_MOBILE = 5
SENDS_PER_ORIGIN = 20
WRONG_PER_ORIGIN = 30
# The counters' keys share the failure table under their own prefix (see the upkeep).
KEY_PREFIX = "code-"
KIND = "code"


@dataclass(frozen=True)
class Sent:
    """A code on its way: its row, when it stops working, when another may be sent."""

    code_id: int
    mobile: str
    expires_at: datetime
    resend_at: datetime


@dataclass(frozen=True)
class Verified:
    """What a typed code proved: its holder has ``mobile`` (for ``subject``)."""

    code_id: int
    purpose: str
    subject: str | None
    mobile: str
    verified_at: datetime


def sms_text(code: str, lang: str, purpose: str = "") -> str:
    """The SMS carrying the code: who sends it and what it is for, so that a code asked
    for by someone else ("read me the code you just got") is seen for what it is; one
    UCS-2 segment in Arabic. ``purpose`` is the caller's (``send``'s): "voice_filing",
    "voice_case", "my_transactions"; another says only that it is a code."""
    _ = gettext_for(lang)
    texts = {
        "voice_filing": _("Emirate services: {code} is your code to file your request. "
                          "It works for 5 minutes; never give it to anyone."),
        "voice_case": _("Emirate services: {code} is your code to act on your request. "
                        "It works for 5 minutes; never give it to anyone."),
        "my_transactions": _("Emirate services: {code} is your code to see your "
                             "transactions. It works for 5 minutes; never give it to "
                             "anyone."),
    }
    fallback = _("Emirate services: your verification code is {code}. It works for 5 "
                 "minutes; never give it to anyone.")
    return texts.get(purpose, fallback).format(code=code)


class OneTimeCodes:
    """Codes over one database; the installation's secret keys their hashes."""

    def __init__(self, db: Database, config: CoreSettings, *,
                 clock: Callable[[], datetime] = utcnow,
                 counts: FailureCounts | None = None) -> None:
        self._db = db
        self._clock = clock
        self._secret = hashlib.sha256(b"one-time-codes:" + config.national_id_key()).digest()
        self._counts = counts or DatabaseFailureCounts(db, WINDOW)

    # --- sending -------------------------------------------------------------------------

    def check_send(self, mobile: str, origin: str | None) -> None:
        """Raise ``TooMany`` when this mobile or origin has been sent its share of codes
        within the hour (nothing is sent then)."""
        found = self._counts.counts([self._key("mobile", mobile),
                                     *self._origin_keys("send", origin)])
        if found.get(self._key("mobile", mobile), 0) >= SENDS_PER_MOBILE or any(
                found.get(key, 0) >= SENDS_PER_ORIGIN
                for key in self._origin_keys("send", origin)):
            raise TooMany("too many codes sent; please try later", code="too_many_codes",
                          retry_after=WINDOW)

    def count_send(self, mobile: str, origin: str | None) -> None:
        """One more code sent to ``mobile`` from ``origin`` (after its commit)."""
        self._counts.add([self._key("mobile", mobile), *self._origin_keys("send", origin)])

    def issue(self, session: Session, purpose: str, mobile: str, *, lang: str,
              subject: str | None = None) -> tuple[OneTimeCode, Sent]:
        """A new code for (``purpose``, ``mobile``) and its SMS, in ``session``'s
        transaction; a live one it replaces ends. ``TooMany`` when the live one was sent
        within the cooldown. The caller checks and counts the limits (``check_send``,
        ``count_send``): it may have more to commit with the code (a draft)."""
        now = self._clock()
        number = normalize_mobile(mobile)
        live_key = _live_key(purpose, number)
        earlier = session.scalar(select(OneTimeCode).where(OneTimeCode.live_key == live_key)
                                 .with_for_update())
        if earlier is not None:
            if earlier.expires_at > now and earlier.sent_at + RESEND_AFTER > now:
                raise _cooldown(earlier.sent_at + RESEND_AFTER - now)
            earlier.live_key = None
            earlier.ended_at = now
            session.flush()
        code = _new_code()
        row = OneTimeCode(purpose=purpose, subject=subject, mobile=number, live_key=live_key,
                          salt=secrets.token_hex(16), code_hash="", attempts=0, sends=1,
                          created_at=now, sent_at=now, expires_at=now + LIFETIME)
        row.code_hash = self._hash(row.salt, code)
        session.add(row)
        session.flush()
        self._queue_sms(session, row, code, lang)
        return row, _sent(row)

    def send(self, purpose: str, mobile: str, *, lang: str, origin: str | None,
             subject: str | None = None) -> Sent:
        """Check the limits, issue a code and queue its SMS, count it."""
        number = normalize_mobile(mobile)
        self.check_send(number, origin)
        try:
            with self._db.write.begin() as session:
                _row, sent = self.issue(session, purpose, number, lang=lang, subject=subject)
        except IntegrityError as exc:
            # Another process issued one for the same (purpose, mobile) at this instant.
            raise _cooldown(RESEND_AFTER) from exc
        self.count_send(number, origin)
        return sent

    def resend(self, code_id: int, purpose: str, *, lang: str, origin: str | None) -> Sent:
        """The same row, a new code (the old one stops working): not within the cooldown,
        at most ``MAX_SENDS`` times, within the limits."""
        now = self._clock()
        with self._db.read() as session:
            row = session.get(OneTimeCode, code_id)
            if row is None or row.purpose != purpose or row.live_key is None:
                raise _dead()
            mobile = row.mobile
        self.check_send(mobile, origin)
        with self._db.write.begin() as session:
            row = session.scalar(select(OneTimeCode).where(OneTimeCode.id == code_id)
                                 .with_for_update())
            if row is None or row.live_key is None:
                raise _dead()
            if row.sent_at + RESEND_AFTER > now:
                raise _cooldown(row.sent_at + RESEND_AFTER - now)
            if row.sends >= MAX_SENDS:
                raise TooMany("this code was sent as often as it may be; start again",
                              code="too_many_codes", retry_after=int(RESEND_AFTER.seconds))
            code = _new_code()
            row.salt = secrets.token_hex(16)
            row.code_hash = self._hash(row.salt, code)
            row.sends += 1
            row.attempts = 0
            row.sent_at = now
            row.expires_at = now + LIFETIME
            session.flush()
            self._queue_sms(session, row, code, lang)
            sent = _sent(row)
        self.count_send(mobile, origin)
        return sent

    def _queue_sms(self, session: Session, row: OneTimeCode, code: str, lang: str) -> None:
        outbox.enqueue(session, cause_key=f"{KIND}:{row.id}:{row.sends}", kind=KIND,
                       audience="citizen", recipient=row.mobile, language=lang,
                       body=sms_text(code, lang, row.purpose),
                       priority=outbox.PRIORITY_ANSWER)

    # --- checking ------------------------------------------------------------------------

    def verify(self, code_id: int, purpose: str, typed: str, *,
               origin: str | None) -> Verified:
        """Check the typed code (digits of any script, spaces ignored). Right: the row is
        verified (once; typing it again proves nothing more). Wrong: ``InvalidRequest``
        ``wrong_code``, one try used (the fifth ends the code: ``code_dead``); expired:
        ``code_expired``; ended, unknown or another purpose's: ``code_dead``; too many
        wrong codes from this origin: ``TooMany``."""
        origin_keys = self._origin_keys("wrong", origin)
        if origin_keys and self._counts.counts(origin_keys).get(origin_keys[0], 0) \
                >= WRONG_PER_ORIGIN:
            raise TooMany("too many wrong codes; please try later", code="too_many_codes",
                          retry_after=WINDOW)
        now = self._clock()
        digits = "".join(normalize_digits(typed).split())
        with self._db.write.begin() as session:
            row = session.scalar(select(OneTimeCode).where(OneTimeCode.id == code_id)
                                 .with_for_update())
            if row is None or row.purpose != purpose or row.live_key is None:
                raise _dead()
            if row.expires_at <= now:
                raise InvalidRequest("the code has expired; ask for a new one",
                                     code="code_expired", field="code")
            right = len(digits) == DIGITS and digits.isascii() and digits.isdigit() and \
                hmac.compare_digest(self._hash(row.salt, digits), row.code_hash)
            if right:
                row.verified_at = now
                row.live_key = None  # used: the next request for this mobile is new
                row.ended_at = now
                return _verified(row)
            row.attempts += 1
            if row.attempts >= MAX_ATTEMPTS:
                row.live_key = None
                row.ended_at = now
            left = MAX_ATTEMPTS - row.attempts
        if origin_keys:
            self._counts.add(origin_keys)
        if left <= 0:
            raise _dead()
        raise InvalidRequest(f"wrong code; {left} tries left", code="wrong_code",
                             field="code")

    def verified(self, code_id: int, purpose: str, *,
                 within: timedelta = PROOF_LIFETIME) -> Verified | None:
        """What the verified code ``code_id`` proves, if it was verified for ``purpose``
        within ``within``; None otherwise (never verified, another purpose, too old)."""
        with self._db.read() as session:
            row = session.get(OneTimeCode, code_id)
            if row is None or row.purpose != purpose or row.verified_at is None \
                    or row.verified_at + within <= self._clock():
                return None
            return _verified(row)

    def sent(self, code_id: int, purpose: str) -> Sent | None:
        """The live code ``code_id`` as sent (None when it ended): for the page asking
        for it."""
        with self._db.read() as session:
            row = session.get(OneTimeCode, code_id)
            if row is None or row.purpose != purpose or row.live_key is None:
                return None
            return _sent(row)

    def live(self, purpose: str, mobile: str, subject: str) -> int | None:
        """The live code for (``purpose``, ``mobile``) if it was sent for ``subject``: its
        id (one read by the unique ``live_key``); None otherwise."""
        with self._db.read() as session:
            row = session.execute(select(OneTimeCode.id, OneTimeCode.subject).where(
                OneTimeCode.live_key == _live_key(purpose, normalize_mobile(mobile)))).first()
        return int(row.id) if row is not None and row.subject == subject else None

    def forget_old(self, now: datetime) -> int:
        """Delete the codes ended or expired more than ``KEPT_FOR`` ago; how many."""
        horizon = now - KEPT_FOR
        with self._db.write.begin() as session:
            result = session.execute(delete(OneTimeCode).where(or_(
                OneTimeCode.ended_at <= horizon, OneTimeCode.expires_at <= horizon)))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def end(self, session: Session, code_id: int) -> None:
        """End a code in ``session``'s transaction (what it was for is done)."""
        session.execute(update(OneTimeCode).where(OneTimeCode.id == code_id,
                                                  OneTimeCode.ended_at.is_(None))
                        .values(live_key=None, ended_at=self._clock()))

    # --- keys ----------------------------------------------------------------------------

    def _hash(self, salt: str, code: str) -> str:
        return hmac.new(self._secret, f"{salt}:{code}".encode(), hashlib.sha256).hexdigest()

    def _key(self, kind: str, value: str) -> str:
        return KEY_PREFIX + hashlib.blake2b(f"{kind}:{value}".encode("utf-8", "surrogatepass"),
                                            key=self._secret, digest_size=28).hexdigest()

    def _origin_keys(self, kind: str, origin: str | None) -> Sequence[str]:
        return [self._key(kind, origin_group(origin))] if origin else []


def _live_key(purpose: str, mobile: str) -> str:
    return f"{purpose}:{mobile}"


def _new_code() -> str:
    return f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"


def _sent(row: OneTimeCode) -> Sent:
    return Sent(row.id, row.mobile, row.expires_at, row.sent_at + RESEND_AFTER)


def _verified(row: OneTimeCode) -> Verified:
    assert row.verified_at is not None
    return Verified(row.id, row.purpose, row.subject, row.mobile, row.verified_at)


def _dead() -> NotFound:
    return NotFound("this code no longer works; ask for a new one", code="code_dead",
                    field="code")


def _cooldown(wait: timedelta) -> TooMany:
    seconds = max(1, int(wait.total_seconds() + 0.999))
    return TooMany(f"a code was just sent; another in {seconds} s", code="code_cooldown",
                   retry_after=seconds)
