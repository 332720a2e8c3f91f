"""Failed-inquiry limits: counted per origin and per credential or number from that
origin, stepped up (not blocked) when many origins fail for one credential or number,
and kept in the database, so every process and every restart sees the same counts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from core.identity.national_id import _luhn_check_digit, hash_national_id
from core.platform.models import FailureCount
from core.platform.ratelimit import DatabaseFailureCounts
from core.transactions.answer import Answer, Outcome
from core.transactions.inquiry import InquiryRequest, InquiryService
from core.transactions.limits import PAIR_PREFIX, STEP_UP_FACTOR, origin_group
from gateway.bootstrap import build_core
from tests import factories as f
from tests.conftest import make_settings
from tests.core.test_inquiry import (  # noqa: F401  (transactions is a fixture)
    NUMBER,
    OTHERS_NUMBER,
    UNKNOWN_NUMBER,
    ask,
    log_rows,
    transactions,
)


def some_id(n: int) -> str:
    """The n-th well-formed national ID (check digit right) nobody has."""
    first9 = f"2{n:08d}"
    return first9 + str(_luhn_check_digit(first9))


@pytest.fixture
def limited(transactions, clock) -> InquiryService:  # noqa: F811
    """The inquiry service allowing 3 failures a minute, on a clock the test moves."""
    config = transactions.config.model_copy(update={"inquiry": transactions.config.inquiry
                                                    .model_copy(update={
                                                        "max_failures": 3,
                                                        "failure_window_seconds": 60})})
    return InquiryService(transactions.db, config, transactions.inquiry_log,
                          counts=DatabaseFailureCounts(transactions.db, 60, clock=clock))


# --- per origin, per credential from an origin ---------------------------------------


def test_a_requester_is_refused_after_too_many_failures_from_its_address(limited):
    for _ in range(3):
        assert ask(limited, UNKNOWN_NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1"
                   ).outcome is Outcome.NOT_FOUND

    assert ask(limited, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1") == Answer(
        Outcome.RATE_LIMITED)


def test_strangers_failures_with_my_national_id_do_not_refuse_me(limited):
    # Before: failures counted against the ID from anyone, so three strangers locked
    # the ID's owner out of every channel.
    for origin in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        ask(limited, UNKNOWN_NUMBER, national_id=f.NATIONAL_ID, origin=origin)

    assert ask(limited, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.4").found


def test_an_origin_is_refused_after_too_many_failures(limited):
    for someone in ("1000000008", "1000000016", "1000000024"):
        ask(limited, NUMBER, national_id=someone, origin="kiosk-7")

    assert ask(limited, NUMBER, national_id=f.NATIONAL_ID, origin="kiosk-7") == Answer(
        Outcome.RATE_LIMITED)
    assert ask(limited, NUMBER, national_id=f.NATIONAL_ID, origin="kiosk-8").found


def test_a_kiosk_is_counted_with_what_is_typed_not_as_a_requester(limited):
    # A kiosk serves a queue: three careless citizens do not close it for the fourth.
    for n in range(4):
        ask(limited, f"765432{n}", channel="kiosk", national_id=some_id(n), origin="k1")
    assert ask(limited, NUMBER, channel="kiosk", national_id=f.NATIONAL_ID, origin="k1").found
    # One ID at one kiosk is refused at the limit, and still answered at another kiosk.
    for n in range(3):
        ask(limited, f"765433{n}", channel="kiosk", national_id=f.NATIONAL_ID, origin="k1")
    assert ask(limited, NUMBER, channel="kiosk", national_id=f.NATIONAL_ID, origin="k1"
               ).outcome is Outcome.RATE_LIMITED
    assert ask(limited, NUMBER, channel="kiosk", national_id=f.NATIONAL_ID, origin="k2").found


def _key_before_the_prefix(service: InquiryService, target: str, place: str) -> str:
    """A pair counter's key as gateways before 5 December 2026 wrote it: the keyed hash
    of the target and the place alone (computed here apart from the code under test)."""
    secret = hashlib.sha256(b"inquiry-limits:" + service._config.national_id_key()).digest()
    return hashlib.blake2b(f"pair:{target}|{place}".encode(), key=secret,
                           digest_size=32).hexdigest()


def _write_counter(service: InquiryService, key: str, failures: int, since: float) -> None:
    with service._db.write.begin() as session:
        session.execute(insert(FailureCount).values(key=key, failures=failures, since=since))


def test_failures_counted_before_an_upgrade_still_refuse_after_it(limited, clock):
    # An origin that reached the limit under the old key format must not get a fresh
    # budget from an upgrade; its failures count until their window has passed.
    target = hash_national_id(f.NATIONAL_ID, limited._config.national_id_key())
    _write_counter(limited, _key_before_the_prefix(limited, target, "web:10.0.0.1"), 3,
                   clock.now)

    assert ask(limited, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1") == Answer(
        Outcome.RATE_LIMITED)
    assert ask(limited, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.2").found
    clock.now += 61
    assert ask(limited, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1").found


def test_failures_before_an_upgrade_and_after_it_add_up(limited, clock):
    target = hash_national_id(f.NATIONAL_ID, limited._config.national_id_key())
    _write_counter(limited, _key_before_the_prefix(limited, target, "web:10.0.0.1"), 2,
                   clock.now)

    assert ask(limited, UNKNOWN_NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1"
               ).outcome is Outcome.NOT_FOUND
    assert ask(limited, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1") == Answer(
        Outcome.RATE_LIMITED)


def test_a_pair_counter_sits_beside_its_targets_counter(limited):
    # One failure adds a credential's counter from anyone and from this origin: their
    # keys share a prefix, so SQLite writes them on one page of the key index.
    ask(limited, UNKNOWN_NUMBER, channel="kiosk", national_id=f.NATIONAL_ID, origin="k1")
    limited.flush()
    target = hash_national_id(f.NATIONAL_ID, limited._config.national_id_key())
    with limited._db.read() as session:
        keys = list(session.scalars(select(FailureCount.key)))
    beside = [key for key in keys if key[:PAIR_PREFIX] == target[:PAIR_PREFIX]]
    assert target in beside and len(beside) == 2 and all(len(key) == 64 for key in keys)
    assert len(keys) == 4  # the ID's and the number's, each from anyone and from k1


def test_failures_below_the_limit_are_not_refused(limited):
    for _ in range(2):
        ask(limited, UNKNOWN_NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1")

    assert ask(limited, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1").found


def test_answers_found_are_not_failures(limited):
    for _ in range(5):
        assert ask(limited, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1").found


def test_text_without_a_number_counts_as_a_failure(limited):
    for _ in range(3):
        assert ask(limited, "مرحبا", national_id=f.NATIONAL_ID).outcome is Outcome.INVALID

    assert ask(limited, NUMBER, national_id=f.NATIONAL_ID).outcome is Outcome.RATE_LIMITED


def test_the_refusal_ends_when_the_window_has_passed(limited, clock):
    for _ in range(3):
        ask(limited, UNKNOWN_NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1")
    clock.now += 30
    # Refused attempts inside the window do not prolong it.
    for _ in range(5):
        assert ask(limited, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1").outcome \
            is Outcome.RATE_LIMITED

    clock.now += 31

    assert ask(limited, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1").found


def test_without_credentials_a_failure_counts_once_against_the_origin(limited):
    for _ in range(2):
        assert ask(limited, NUMBER, origin="10.0.0.9").outcome is Outcome.NOT_FOUND

    assert ask(limited, NUMBER, origin="10.0.0.9").outcome is Outcome.NOT_FOUND
    assert ask(limited, NUMBER, origin="10.0.0.9").outcome is Outcome.RATE_LIMITED


def test_a_refused_inquiry_is_logged_as_rate_limited(limited, transactions):  # noqa: F811
    for _ in range(3):
        ask(limited, UNKNOWN_NUMBER, mobile=f.MOBILE, channel="sms")

    ask(limited, NUMBER, mobile=f.MOBILE, channel="sms")

    row = log_rows(transactions)[-1]
    assert (row.channel, row.outcome, row.transaction_id) == ("sms", "rate_limited", None)


def test_the_failure_limit_comes_from_the_settings(database_url, tmp_path,
                                                   transactions):  # noqa: F811
    settings = make_settings(database_url, tmp_path,
                             inquiry={"max_failures": 2, "failure_window_seconds": 60})
    strict = build_core(settings, background_log=False)
    try:
        for _ in range(2):
            assert ask(strict, UNKNOWN_NUMBER, national_id=f.NATIONAL_ID).outcome \
                is Outcome.NOT_FOUND
        assert ask(strict, NUMBER, national_id=f.NATIONAL_ID).outcome is Outcome.RATE_LIMITED
    finally:
        strict.close()


def test_an_inquiry_with_several_credentials_counts_one_failure_for_each(limited):
    for _ in range(2):
        ask(limited, UNKNOWN_NUMBER, mobile=f.OTHER_MOBILE, national_id=f.OTHER_NATIONAL_ID)
    # Two failures for each key: the third inquiry is still answered...
    assert ask(limited, UNKNOWN_NUMBER, mobile=f.OTHER_MOBILE).outcome is Outcome.NOT_FOUND
    # ...and it was the mobile's third failure, not the national ID's.
    assert ask(limited, NUMBER, mobile=f.OTHER_MOBILE).outcome is Outcome.RATE_LIMITED
    assert ask(limited, OTHERS_NUMBER, national_id=f.OTHER_NATIONAL_ID).found


# --- a first try, then more credentials (the IVR's caller ID, then the national ID) ----


def test_a_first_try_that_misses_is_not_logged_but_counts_against_the_limit(
        limited, transactions):  # noqa: F811
    before = len(log_rows(transactions))
    missed = ask(limited, NUMBER, channel="ivr", mobile=f.OTHER_MOBILE,
                 origin=f.OTHER_MOBILE, first_try=True)
    assert missed.outcome is Outcome.NOT_FOUND
    assert len(log_rows(transactions)) == before

    # The inquiry goes on with the national ID: logged once, as the credential that found.
    answer = ask(limited, NUMBER, channel="ivr", mobile=f.OTHER_MOBILE,
                 national_id=f.NATIONAL_ID, origin=f.OTHER_MOBILE)
    assert answer.found
    row = log_rows(transactions)[-1]
    assert len(log_rows(transactions)) == before + 1
    assert (row.channel, row.outcome, row.requester_kind) == ("ivr", "found", "national_id")

    # A forged caller ID gets no free tries: its misses add up to a refusal.
    for _ in range(3):
        ask(limited, UNKNOWN_NUMBER, channel="ivr", mobile=f.OTHER_MOBILE, first_try=True)
    refused = ask(limited, NUMBER, channel="ivr", mobile=f.OTHER_MOBILE, first_try=True)
    assert refused.outcome is Outcome.RATE_LIMITED


def test_a_first_try_that_finds_is_logged_as_usual(transactions):  # noqa: F811
    before = len(log_rows(transactions))

    assert ask(transactions, channel="ivr", mobile=f.MOBILE, first_try=True).found

    rows = log_rows(transactions)
    assert len(rows) == before + 1
    assert (rows[-1].outcome, rows[-1].requester_kind) == ("found", "mobile")


def test_a_refused_requester_is_refused_on_a_first_try_too(limited):
    for _ in range(3):
        ask(limited, UNKNOWN_NUMBER, mobile=f.OTHER_MOBILE, national_id=f.NATIONAL_ID)

    refused = ask(limited, NUMBER, mobile=f.OTHER_MOBILE, first_try=True)

    assert refused.outcome is Outcome.RATE_LIMITED


# --- many origins against one number or credential: a step up, not a block -----------


def test_guessing_the_national_id_of_one_number_is_stepped_up_to_one_try_per_origin(
        transactions):  # noqa: F811
    service, limit = transactions.inquiries, transactions.config.inquiry.max_failures
    # From one kiosk, guesses stop at the limit for this number there.
    for n in range(limit):
        assert ask(service, NUMBER, channel="kiosk", national_id=some_id(n), origin="k1"
                   ).outcome is Outcome.NOT_FOUND
    assert ask(service, NUMBER, channel="kiosk", national_id=some_id(99), origin="k1"
               ).outcome is Outcome.RATE_LIMITED
    # From many origins: past STEP_UP_FACTOR x the limit, one failure per origin.
    for n in range(limit, limit * STEP_UP_FACTOR):
        ask(service, NUMBER, national_id=some_id(n), origin=f"10.1.0.{n}")
    assert ask(service, NUMBER, national_id=some_id(500), origin="10.2.0.1"
               ).outcome is Outcome.NOT_FOUND
    assert ask(service, NUMBER, national_id=some_id(501), origin="10.2.0.1"
               ).outcome is Outcome.RATE_LIMITED
    # The owner, from their own address, is answered all the same.
    assert ask(service, NUMBER, national_id=f.NATIONAL_ID, origin="10.3.0.1").found
    assert ask(service, OTHERS_NUMBER, national_id=f.OTHER_NATIONAL_ID,
               origin="10.2.0.1").found  # other numbers are not affected


# --- shared by every process, kept across restarts, origins grouped ------------------


@pytest.fixture
def two_processes(database_url, tmp_path, transactions):  # noqa: F811
    """Two gateways on one database, as two `gateway web` processes or machines."""
    cores = [build_core(make_settings(database_url, tmp_path), background_log=False)
             for _ in range(2)]
    yield cores
    for core in cores:
        core.close()


def test_two_processes_share_the_limit(two_processes):
    # Before: each process counted its own, so the refusal came at twice the limit.
    first, second = two_processes
    limit = first.config.inquiry.max_failures
    for k in range(limit):
        assert ask(two_processes[k % 2], UNKNOWN_NUMBER, national_id=f.NATIONAL_ID,
                   origin="10.0.0.1").outcome is Outcome.NOT_FOUND
    for core in (first, second):
        assert ask(core, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1").outcome \
            is Outcome.RATE_LIMITED


def test_the_limit_survives_a_restart(two_processes):
    before, after = two_processes
    for _ in range(before.config.inquiry.max_failures):
        ask(before, UNKNOWN_NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1")
    before.close()  # the process stops; the next one starts on the same database

    assert ask(after, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1").outcome \
        is Outcome.RATE_LIMITED


def test_fresh_ipv6_addresses_of_one_64_are_one_origin(transactions):  # noqa: F811
    # Every address of a /64 is the subscriber's to take: a new one per try is no escape.
    service, limit = transactions.inquiries, transactions.config.inquiry.max_failures
    for n in range(limit):
        ask(service, UNKNOWN_NUMBER, national_id=some_id(n), origin=f"2001:db8:5:6::{n + 1:x}")

    assert ask(service, NUMBER, national_id=f.NATIONAL_ID,
               origin="2001:db8:5:6:ffff:1:2:3").outcome is Outcome.RATE_LIMITED
    assert ask(service, NUMBER, national_id=f.NATIONAL_ID, origin="2001:db8:5:7::1").found


def test_origins_are_grouped_as_counted():
    assert origin_group("2001:DB8::1") == origin_group("2001:db8::ffff:1") == "2001:db8::/64"
    assert origin_group("::ffff:10.0.0.1") == origin_group("10.0.0.1") == "10.0.0.1"
    assert origin_group("10.0.0.1") != origin_group("10.0.0.2")
    assert origin_group("Someone@Example.com ") == "someone@example.com"


def test_the_upkeep_forgets_counters_whose_window_has_passed(transactions):  # noqa: F811
    service = transactions.inquiries
    ask(service, UNKNOWN_NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1")
    service.flush()  # far from the limit, the failure may have been written behind
    window = transactions.config.inquiry.failure_window_seconds
    now = datetime.now(UTC)

    assert transactions.upkeep.forget_old_failures(now=now) == 0
    assert transactions.upkeep.forget_old_failures(
        now=datetime.fromtimestamp(now.timestamp() + window + 1, UTC)) > 0


def checkouts_of(service: InquiryService, monkeypatch, number: str, *,
                 outcome: Outcome = Outcome.FOUND, **request) -> int:
    """The pooled connections one inquiry takes: its round trips to the database."""
    from sqlalchemy import event

    engine = service._find._engine
    # The inquiry log (written in the request here; by a background thread in production)
    # is not the inquiry's own reading.
    monkeypatch.setattr(service._log, "write", lambda entry: None)
    checkouts: list[int] = []
    listener = lambda *_: checkouts.append(1)  # noqa: E731
    event.listen(engine, "checkout", listener)
    try:
        assert ask(service, number, **request).outcome is outcome
    finally:
        event.remove(engine, "checkout", listener)
    return len(checkouts)


def test_a_found_inquiry_costs_one_round_trip_with_failures_or_without(
        transactions, clock, monkeypatch):  # noqa: F811
    # A found inquiry costs one statement on one pooled connection, as before the limits
    # were shared (on PostgreSQL every round trip is a network one): its counters known to
    # have no failure are not read at all; the others ride along with the lookup.
    service = InquiryService(transactions.db, transactions.config, transactions.inquiry_log,
                             counts=DatabaseFailureCounts(transactions.db, 60, clock=clock,
                                                          delay=3600, refresh=3600))
    mine = {"national_id": f.NATIONAL_ID, "origin": "10.0.0.9"}
    ask(service, OTHERS_NUMBER, national_id=f.OTHER_NATIONAL_ID, origin="10.0.0.8")
    # (the first inquiry of a process reads the table's failures once: the filter)

    assert checkouts_of(service, monkeypatch, NUMBER, **mine) == 1  # no failure: lookup only
    assert ask(service, UNKNOWN_NUMBER, **mine).outcome is Outcome.NOT_FOUND
    service.flush()
    assert service.limits.counts.suspects(
        service.limits.counted("web", "10.0.0.9", [], None).keys)
    assert checkouts_of(service, monkeypatch, NUMBER, **mine) == 1  # counters ride along


def test_a_failing_inquiry_reads_its_counters_in_one_round_trip_number_or_none(
        transactions, clock, monkeypatch):  # noqa: F811
    # No such number, or not theirs: the lookup's statement brings the counters either
    # way (the joins start from the number asked, so it always has a row to carry them).
    service = InquiryService(transactions.db, transactions.config, transactions.inquiry_log,
                             counts=DatabaseFailureCounts(transactions.db, 60, clock=clock,
                                                          delay=3600, refresh=3600))
    mine = {"national_id": f.OTHER_NATIONAL_ID, "origin": "10.0.0.9"}
    ask(service, UNKNOWN_NUMBER, **mine)  # now its counters have failures: suspects
    service.flush()

    for number in (UNKNOWN_NUMBER, NUMBER):
        assert checkouts_of(service, monkeypatch, number, outcome=Outcome.NOT_FOUND,
                            **mine) == 1  # its failure waits to be written behind
        service.flush()
    # Counted all the same: the three failures so far.
    counted = service.limits.counted("web", "10.0.0.9", [], None)
    assert service.limits.counts.counts([counted.origin]) == {counted.origin: 3}


# --- the filter of counters with failures: how stale it may be ------------------------


def filtered(transactions, clock, max_failures: int = 3) -> InquiryService:  # noqa: F811
    """A process whose filter of counters with failures is refreshed only when asked
    (and whose failures are written behind only when asked, as ``never_written_behind``)."""
    config = transactions.config.model_copy(update={"inquiry": transactions.config.inquiry
                                                    .model_copy(update={
                                                        "max_failures": max_failures,
                                                        "failure_window_seconds": 60})})
    return InquiryService(transactions.db, config, transactions.inquiry_log,
                          counts=DatabaseFailureCounts(transactions.db, 60, clock=clock,
                                                       delay=3600, refresh=3600))


def test_a_process_refuses_what_it_read_in_the_table_when_it_started(
        transactions, clock):  # noqa: F811
    elsewhere = filtered(transactions, clock)
    for _ in range(3):
        ask(elsewhere, UNKNOWN_NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1")
    elsewhere.flush()

    started = filtered(transactions, clock)

    assert ask(started, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1").outcome \
        is Outcome.RATE_LIMITED
    assert ask(started, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.2").found


def test_a_stale_filter_answers_at_most_one_failing_inquiry_more_per_process(
        transactions, clock):  # noqa: F811
    # The bound of the filter (DatabaseFailureCounts.suspects): a process that has not
    # refreshed since a counter's failures elsewhere answers one inquiry more past the
    # limit; that one's failure makes the counter a suspect there, and it refuses.
    first, second = filtered(transactions, clock), filtered(transactions, clock)
    assert ask(second, OTHERS_NUMBER, national_id=f.OTHER_NATIONAL_ID, origin="10.9.9.9"
               ).found  # the second process has read the table: no failure yet
    for _ in range(3):
        ask(first, UNKNOWN_NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1")
    first.flush()
    assert ask(first, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1").outcome \
        is Outcome.RATE_LIMITED

    assert ask(second, UNKNOWN_NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1"
               ).outcome is Outcome.NOT_FOUND  # the one more
    for number in (UNKNOWN_NUMBER, NUMBER):  # refused alike, found or not
        assert ask(second, number, national_id=f.NATIONAL_ID, origin="10.0.0.1"
                   ).outcome is Outcome.RATE_LIMITED


def test_a_refreshed_filter_refuses_others_failures_at_once(transactions, clock):  # noqa: F811
    first, second = filtered(transactions, clock), filtered(transactions, clock)
    ask(second, OTHERS_NUMBER, national_id=f.OTHER_NATIONAL_ID, origin="10.9.9.9")
    for _ in range(3):
        ask(first, UNKNOWN_NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1")
    first.flush()

    second.limits.counts.refresh()  # every second in production (REFRESH)

    for number in (NUMBER, UNKNOWN_NUMBER):
        assert ask(second, number, national_id=f.NATIONAL_ID, origin="10.0.0.1").outcome \
            is Outcome.RATE_LIMITED


def test_a_failure_waiting_to_be_written_is_a_suspect_in_its_process(
        transactions, clock):  # noqa: F811
    process = never_written_behind(transactions, clock, 10)
    ask(process, OTHERS_NUMBER, national_id=f.OTHER_NATIONAL_ID, origin="10.9.9.9")
    ask(process, UNKNOWN_NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1")  # waits
    origin = process.limits.counted("web", "10.0.0.1", [], None).origin
    assert origin is not None

    assert DatabaseFailureCounts(transactions.db, 60, clock=clock).counts([origin]) == {}
    assert process.limits.counts.suspects([origin]) == [origin]


# --- failures written behind, far from the limits -------------------------------------


def never_written_behind(transactions, clock, max_failures: int) -> InquiryService:  # noqa: F811
    """A process whose failures written behind wait until asked (its writer never runs)."""
    config = transactions.config.model_copy(update={"inquiry": transactions.config.inquiry
                                                    .model_copy(update={
                                                        "max_failures": max_failures,
                                                        "failure_window_seconds": 60})})
    return InquiryService(transactions.db, config, transactions.inquiry_log,
                          counts=DatabaseFailureCounts(transactions.db, 60, clock=clock,
                                                       delay=3600))


def test_from_half_the_limit_a_failure_is_written_before_it_is_answered(
        transactions, clock):  # noqa: F811
    process = never_written_behind(transactions, clock, 10)
    elsewhere = DatabaseFailureCounts(transactions.db, 60, clock=clock)
    counted = process.limits.counted("web", "10.0.0.1", [], None)
    origin = counted.origin
    assert origin is not None

    for failures in range(1, 11):
        ask(process, UNKNOWN_NUMBER, origin="10.0.0.1")
        written = elsewhere.counts([origin]).get(origin, 0)
        # Below half the limit at most one waits; from half on, every one is written.
        assert written == failures if failures >= 5 else failures - written <= 1

    assert ask(process, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1").outcome \
        is Outcome.RATE_LIMITED


def test_another_process_answers_at_most_one_failure_more_per_process_writing_behind(
        transactions, clock):  # noqa: F811
    # The bound of writing behind: a process holding one unwritten failure of a counter
    # (it never holds more) lets another answer one failure past the limit, until it
    # writes it (within 50 ms in production); then every process refuses.
    first = never_written_behind(transactions, clock, 10)
    second = never_written_behind(transactions, clock, 10)
    assert ask(first, UNKNOWN_NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1"
               ).outcome is Outcome.NOT_FOUND

    answered = 0
    while ask(second, UNKNOWN_NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1"
              ).outcome is Outcome.NOT_FOUND:
        answered += 1
        assert answered <= 10

    assert answered == 10  # the first process's one is not seen yet
    assert ask(first, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1").outcome \
        is Outcome.RATE_LIMITED  # it sees its own
    first.flush()
    third = never_written_behind(transactions, clock, 10)
    assert ask(third, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.2").found


def test_a_crash_keeps_every_failure_that_led_to_a_refusal(transactions, clock):  # noqa: F811
    crashed = never_written_behind(transactions, clock, 3)
    for _ in range(3):
        ask(crashed, UNKNOWN_NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1")
    assert ask(crashed, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1").outcome \
        is Outcome.RATE_LIMITED
    # Killed: neither flushed nor closed. The next process sees the refusal all the same.
    restarted = never_written_behind(transactions, clock, 3)

    assert ask(restarted, NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1").outcome \
        is Outcome.RATE_LIMITED


def test_a_process_writes_what_waits_when_it_closes(transactions, clock):  # noqa: F811
    process = never_written_behind(transactions, clock, 10)
    ask(process, UNKNOWN_NUMBER, national_id=f.NATIONAL_ID, origin="10.0.0.1")
    counted = process.limits.counted("web", "10.0.0.1", [], None)
    elsewhere = DatabaseFailureCounts(transactions.db, 60, clock=clock)
    assert elsewhere.counts([counted.origin]) == {}

    process.close()

    assert elsewhere.counts([counted.origin]) == {counted.origin: 1}


# --- a burst (the SMS short code's): only the counters that may have failures -------------


def sms_from(mobile: str, number: str = UNKNOWN_NUMBER) -> InquiryRequest:
    """An SMS from ``mobile`` (+9665...), its only credential the sender's own mobile."""
    return InquiryRequest(channel="sms", number_text=number, mobile=mobile, origin=mobile)


def reads_of(service: InquiryService, monkeypatch) -> list[list[str]]:
    """The keys of each read of the store's counters from now on."""
    store, reads = service.limits.counts, []
    real = store.counts

    def counting(keys):
        reads.append(list(keys))
        return real(keys)

    monkeypatch.setattr(store, "counts", counting)
    return reads


def test_a_burst_of_new_senders_reads_no_counter(transactions, clock, monkeypatch):  # noqa: F811
    # A flood of strangers, each from a mobile that never failed: nothing to read (their
    # counters have no row); their failures are written with the burst and counted next.
    service = filtered(transactions, clock)
    ask(service, OTHERS_NUMBER, national_id=f.OTHER_NATIONAL_ID, origin="10.9.9.9")
    reads = reads_of(service, monkeypatch)
    strangers = [sms_from(f"+96650000{k:04d}") for k in range(20)]

    burst = service.batch(strangers)
    assert [burst.inquire(r).outcome for r in strangers] == [Outcome.NOT_FOUND] * 20
    with transactions.db.write_engine.begin() as connection:
        burst.write(connection)

    assert reads == []
    again = service.batch(strangers[:1])  # now they may have failures: read
    assert again.inquire(strangers[0]).outcome is Outcome.NOT_FOUND
    assert reads and reads[0]


def test_a_burst_answers_at_most_one_failing_inquiry_more_on_a_stale_filter(
        transactions, clock):  # noqa: F811
    # The filter's bound holds for a burst: a sender whose failures elsewhere this
    # process has not seen yet is answered once more, then its counter is read and the
    # rest of the burst is refused.
    first, second = filtered(transactions, clock), filtered(transactions, clock)
    assert ask(second, OTHERS_NUMBER, national_id=f.OTHER_NATIONAL_ID, origin="10.9.9.9"
               ).found  # the second process has read the table: no failure yet
    sender = "+966500001234"
    for _ in range(3):
        assert first.inquire(sms_from(sender)).outcome is Outcome.NOT_FOUND
    first.flush()

    requests = [sms_from(sender, f"{UNKNOWN_NUMBER[:-1]}{k}") for k in range(4)]
    burst = second.batch(requests)

    assert [burst.inquire(r).outcome for r in requests] == [
        Outcome.NOT_FOUND, Outcome.RATE_LIMITED, Outcome.RATE_LIMITED, Outcome.RATE_LIMITED]
