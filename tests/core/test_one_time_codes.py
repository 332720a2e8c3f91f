"""One-time SMS codes (core.messaging.codes): six digits kept only as a keyed hash, five
minutes, five tries, one live code per (purpose, mobile) with a resend cooldown, the SMS
queued as an answer, and sending counted per mobile and per origin on every process."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.messaging import outbox
from core.messaging.codes import (
    MAX_ATTEMPTS,
    MAX_SENDS,
    SENDS_PER_MOBILE,
    SENDS_PER_ORIGIN,
    WRONG_PER_ORIGIN,
    OneTimeCodes,
    sms_text,
)
from core.messaging.models import Notification, OneTimeCode
from core.platform.errors import InvalidRequest, NotFound, TooMany
from core.platform.models import FailureCount
from core.transactions.mine import PURPOSE as MINE_PURPOSE
from core.voice.citizen_access import PURPOSE as CASE_PURPOSE
from core.voice.drafts import PURPOSE as FILING_PURPOSE
from tests import factories as f

T0 = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
E164 = "+966551234567"
PURPOSE = "test_purpose"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def move(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def codes(core, clock) -> OneTimeCodes:
    return OneTimeCodes(core.db, core.config, clock=clock)


def sms(core, recipient: str = E164) -> list[Notification]:
    with core.db.read() as session:
        return list(session.scalars(select(Notification).where(
            Notification.recipient == recipient, Notification.kind == "code")
            .order_by(Notification.id)))


def last_code(core, recipient: str = E164) -> str:
    """The code as the SMS carries it (the only place it exists in clear)."""
    match = re.search(r"\d{6}", sms(core, recipient)[-1].body)
    assert match
    return match.group(0)


def row(core, code_id: int) -> OneTimeCode:
    with core.db.read() as session:
        found = session.get(OneTimeCode, code_id)
        assert found is not None
        return found


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_the_code_goes_by_sms_as_an_answer_and_only_its_keyed_hash_is_kept(core, codes):
    sent = codes.send(PURPOSE, f.MOBILE, lang="ar", origin="10.0.0.1")
    code = last_code(core)
    message = sms(core)[-1]
    assert (message.priority, message.audience, message.channel) == (
        outbox.PRIORITY_ANSWER, "citizen", "sms")  # not held by quiet hours
    stored = row(core, sent.code_id)
    columns = [str(getattr(stored, c.key)) for c in OneTimeCode.__table__.columns]
    assert not any(code in value for value in columns)
    assert stored.code_hash not in (hashlib.sha256(code.encode()).hexdigest(),
                                    hashlib.sha256(f"{stored.salt}:{code}".encode()).hexdigest())
    proof = codes.verify(sent.code_id, PURPOSE, code, origin="10.0.0.1")
    assert (proof.mobile, proof.purpose) == (E164, PURPOSE)


def test_arabic_indic_digits_and_spaces_are_accepted(core, codes):
    sent = codes.send(PURPOSE, "٠٥٥١٢٣٤٥٦٧", lang="ar", origin=None)
    typed = " ".join(last_code(core)).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert codes.verify(sent.code_id, PURPOSE, typed, origin=None).mobile == E164


def test_a_code_expires_after_five_minutes(core, codes, clock):
    sent = codes.send(PURPOSE, f.MOBILE, lang="en", origin=None)
    clock.move(minutes=5, seconds=1)
    with pytest.raises(InvalidRequest) as refused:
        codes.verify(sent.code_id, PURPOSE, last_code(core), origin=None)
    assert refused.value.code == "code_expired"
    assert codes.verified(sent.code_id, PURPOSE) is None


def test_the_fifth_wrong_code_kills_it_and_the_right_one_no_longer_works(core, codes):
    sent = codes.send(PURPOSE, f.MOBILE, lang="en", origin=None)
    code = last_code(core)
    for attempt in range(1, MAX_ATTEMPTS):
        with pytest.raises(InvalidRequest) as refused:
            codes.verify(sent.code_id, PURPOSE, wrong(code), origin=None)
        assert refused.value.code == "wrong_code"
        assert row(core, sent.code_id).attempts == attempt
    with pytest.raises(NotFound) as dead:
        codes.verify(sent.code_id, PURPOSE, wrong(code), origin=None)
    assert dead.value.code == "code_dead"
    with pytest.raises(NotFound):
        codes.verify(sent.code_id, PURPOSE, code, origin=None)


def test_a_code_proves_once_and_for_its_purpose_only(core, codes, clock):
    sent = codes.send(PURPOSE, f.MOBILE, lang="en", origin=None)
    code = last_code(core)
    with pytest.raises(NotFound):
        codes.verify(sent.code_id, "another_purpose", code, origin=None)
    codes.verify(sent.code_id, PURPOSE, code, origin=None)
    with pytest.raises(NotFound):
        codes.verify(sent.code_id, PURPOSE, code, origin=None)
    assert codes.verified(sent.code_id, "another_purpose") is None
    assert codes.verified(sent.code_id, PURPOSE).mobile == E164
    clock.move(minutes=31)
    assert codes.verified(sent.code_id, PURPOSE) is None


def test_one_live_code_per_mobile_with_a_cooldown_between_them(core, codes, clock):
    first = codes.send(PURPOSE, f.MOBILE, lang="en", origin=None)
    first_code = last_code(core)
    with pytest.raises(TooMany) as cooldown:
        codes.send(PURPOSE, f.MOBILE, lang="en", origin=None)
    assert cooldown.value.code == "code_cooldown" and cooldown.value.retry_after == 60
    assert len(sms(core)) == 1
    clock.move(seconds=61)
    second = codes.send(PURPOSE, f.MOBILE, lang="en", origin=None)
    assert second.code_id != first.code_id
    with pytest.raises(NotFound):  # replaced
        codes.verify(first.code_id, PURPOSE, first_code, origin=None)
    # Another purpose has a code of its own at once.
    codes.send("other_purpose", f.MOBILE, lang="en", origin=None)


def test_a_resend_replaces_the_code_on_the_same_row_after_the_cooldown(core, codes, clock):
    sent = codes.send(PURPOSE, f.MOBILE, lang="en", origin=None)
    old = last_code(core)
    with pytest.raises(TooMany):
        codes.resend(sent.code_id, PURPOSE, lang="en", origin=None)
    for _ in range(MAX_SENDS - 1):
        clock.move(seconds=61)
        again = codes.resend(sent.code_id, PURPOSE, lang="en", origin=None)
        assert again.code_id == sent.code_id
    clock.move(seconds=61)
    with pytest.raises(TooMany):
        codes.resend(sent.code_id, PURPOSE, lang="en", origin=None)
    new = last_code(core)
    if new != old:
        with pytest.raises(InvalidRequest):
            codes.verify(sent.code_id, PURPOSE, old, origin=None)
    assert codes.verify(sent.code_id, PURPOSE, new, origin=None).code_id == sent.code_id


def test_a_mobile_gets_a_limited_number_of_codes_an_hour_whatever_the_origin(core, codes,
                                                                             clock):
    for n in range(SENDS_PER_MOBILE):
        codes.send(PURPOSE, f.MOBILE, lang="en", origin=f"10.0.0.{n}")
        clock.move(seconds=61)
    with pytest.raises(TooMany) as refused:
        codes.send(PURPOSE, f.MOBILE, lang="en", origin="10.9.9.9")
    assert refused.value.code == "too_many_codes"
    assert len(sms(core)) == SENDS_PER_MOBILE


def test_an_origin_gets_a_limited_number_of_codes_an_hour_whatever_the_mobile(core, codes):
    mobiles = [f"05{n:08d}" for n in range(40000000, 40000000 + SENDS_PER_ORIGIN + 1)]
    for mobile in mobiles[:SENDS_PER_ORIGIN]:
        codes.send(PURPOSE, mobile, lang="en", origin="2001:db8::1")
    with pytest.raises(TooMany):  # the same /64
        codes.send(PURPOSE, mobiles[-1], lang="en", origin="2001:db8::2")
    codes.send(PURPOSE, mobiles[-1], lang="en", origin="10.0.0.1")
    with core.db.read() as session:  # the counters' keys fit their column (PostgreSQL)
        assert max(len(key) for key in session.scalars(select(FailureCount.key))) <= 64


def test_the_counters_are_shared_with_every_process(core, codes, clock):
    for _ in range(SENDS_PER_MOBILE):
        codes.send(PURPOSE, f.MOBILE, lang="en", origin=None)
        clock.move(seconds=61)
    another_process = OneTimeCodes(core.db, core.config, clock=clock)
    with pytest.raises(TooMany):
        another_process.send(PURPOSE, f.MOBILE, lang="en", origin=None)


def test_old_codes_are_forgotten(core, codes, clock):
    sent = codes.send(PURPOSE, f.MOBILE, lang="en", origin=None)
    assert codes.forget_old(clock.now) == 0
    assert codes.forget_old(clock.now + timedelta(days=1, minutes=6)) == 1
    assert codes.sent(sent.code_id, PURPOSE) is None


def test_one_origin_cannot_guess_through_many_codes(core, codes):
    attempts = 0
    for n in range(WRONG_PER_ORIGIN // MAX_ATTEMPTS):
        mobile = f"0550000{n:03d}"
        sent = codes.send(PURPOSE, mobile, lang="en", origin=None)
        code = last_code(core, "+966" + mobile[1:])
        for _ in range(MAX_ATTEMPTS):
            with pytest.raises((InvalidRequest, NotFound)):
                codes.verify(sent.code_id, PURPOSE, wrong(code), origin="10.0.0.7")
            attempts += 1
    assert attempts == WRONG_PER_ORIGIN
    sent = codes.send(PURPOSE, f.MOBILE, lang="en", origin=None)
    with pytest.raises(TooMany):  # even the right code, from there, for the hour
        codes.verify(sent.code_id, PURPOSE, last_code(core), origin="10.0.0.7")
    assert codes.verify(sent.code_id, PURPOSE, last_code(core), origin="10.0.0.8")


@pytest.mark.parametrize(("purpose", "says_ar", "says_en"), [
    (FILING_PURPOSE, "رمز تقديم طلبك", "to file your request"),
    (CASE_PURPOSE, "رمز إجرائك على طلبك", "to act on your request"),
    (MINE_PURPOSE, "رمز عرض معاملاتك", "to see your transactions"),
])
def test_the_code_sms_names_its_sender_and_purpose_in_one_segment(core, codes, purpose,
                                                                   says_ar, says_en):
    """A citizen told "read me the code you just got" sees who sent it and what it
    unlocks; an Arabic code still costs one UCS-2 segment (70 characters)."""
    codes.send(purpose, f.MOBILE, lang="ar", origin="10.0.0.1")
    arabic = sms(core)[-1].body
    assert arabic.startswith("خدمات الإمارة:") and says_ar in arabic
    assert "لا تعطه لأحد" in arabic and len(arabic) <= 70, arabic
    english = sms_text("123456", "en", purpose)
    assert english.startswith("Emirate services:") and says_en in english
    assert "never give it to anyone" in english and len(english) <= 160
