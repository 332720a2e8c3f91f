"""The overdue rule with a controlled clock: the right day, reminders, a reply stops them,
exactly once under concurrent scans and restarts.

Runs on SQLite and, with GATEWAY_TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update

from core.calendar import holidays
from core.calendar.workdays import DayCount
from core.messaging import outbox
from core.messaging.models import Notification
from core.platform.db import Database, utcnow
from core.platform.settings import CoreSettings
from core.service import Core
from core.transactions import overdue
from core.transactions.answer import Name
from core.transactions.demo import NOT_SENT, load_demo
from core.transactions.models import OverdueFollowUp, Transaction
from core.transactions.overdue_report import overdue_by_agency, overdue_counts, overdue_items
from tests import factories as f
from tests.core.database_checks import at_once

RIYADH = ZoneInfo("Asia/Riyadh")
MANAGER = "+966501112233"  # factories.department()'s manager, normalized


def local(day: str, clock: str = "09:00") -> datetime:
    """A moment in Riyadh, as the scan's ``now``."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=RIYADH)


@pytest.fixture
def reference(core):
    core.upsert_department("RIGHTS", f.department(reply_days=10))
    core.upsert_agency("MOI", f.agency())
    return core


def issue(core: Core, number: str, on: str, department: str = "RIGHTS",
          reply_expected: bool = True) -> int:
    """Register, refer and issue a transaction on day ``on`` (10:00 Riyadh); its id."""
    for payload in (
        f.registered(number, f"{on}T08:00:00+03:00"),
        f.event("referred", number, f"{on}T09:00:00+03:00", department=department),
        f.event("issued", number, f"{on}T10:00:00+03:00", outgoing_number=f"9{number}",
                destination_agency="MOI", reply_expected=reply_expected),
    ):
        core.record_event(payload)
    with core.db.read() as session:
        return session.scalar(select(Transaction.id).where(Transaction.number == number))


def overdue_messages(core: Core) -> list[Notification]:
    with core.db.read() as session:
        return list(session.scalars(select(Notification).where(Notification.kind == "overdue")
                                    .order_by(Notification.id)))


def scan(core: Core, day: str, clock: str = "09:00") -> overdue.ScanResult:
    return overdue.scan(core.db, core.config, now=local(day, clock))


# --- counting days --------------------------------------------------------------------


def test_working_days_skip_friday_saturday_and_holidays():
    wednesday = date(2026, 11, 4)
    assert DayCount.named("calendar").add(wednesday, 3) == date(2026, 11, 7)
    assert DayCount.named("working").add(wednesday, 3) == date(2026, 11, 9)  # Thu, Sun, Mon
    with_holiday = DayCount.named("working", [date(2026, 11, 8)])
    assert with_holiday.add(wednesday, 3) == date(2026, 11, 10)


@pytest.mark.parametrize("name", ["calendar", "working"])
@pytest.mark.parametrize("days", [1, 3, 10])
def test_latest_start_is_the_last_start_whose_period_has_run_out(name, days):
    count = DayCount.named(name, [date(2026, 11, 16)])
    for offset in range(20):
        today = date(2026, 11, 10 + offset)
        start = count.latest_start(today, days)
        assert count.add(start, days) <= today
        assert count.add(date.fromordinal(start.toordinal() + 1), days) > today


# --- the first message ----------------------------------------------------------------


def test_the_manager_is_told_the_day_after_a_ten_calendar_day_period(reference):
    txn = issue(reference, "4470001", "2026-11-01")  # a Sunday

    assert scan(reference, "2026-11-11", "23:59").notified == 0
    result = scan(reference, "2026-11-12", "08:00")

    assert result.notified == 1
    [message] = overdue_messages(reference)
    assert message.cause_key == f"overdue:{txn}:1"
    assert (message.recipient, message.audience, message.language) == (MANAGER, "staff", "ar")
    assert (message.transaction_id, message.status, message.priority, message.channel) == (
        txn, "pending", 5, "sms")
    assert message.not_before == message.created_at  # due at once: it is 08:00
    assert "94470001" in message.body
    assert "وزارة الداخلية" in message.body
    assert "1448/05/21هـ (2026/11/01م)" in message.body  # Hijri with Gregorian
    # The seed's words (DOMAIN.md §1): "has not been answered to date; follow up".
    assert message.body.endswith("لم يتم الرد عليها حتى تاريخه فيجب المتابعة.")


def test_the_english_message_keeps_the_seeds_meaning():
    body = overdue.overdue_sms("94470001", local("2026-11-01", "10:00"),
                               Name("وزارة الداخلية", "Ministry of Interior"), "en", RIYADH)
    assert body.startswith("The outgoing transaction number 94470001, dated ")
    assert body.endswith("to Ministry of Interior has not been answered to date; "
                         "please follow up.")


def test_messages_wait_for_the_start_of_the_working_day(reference):
    """Managers are staff: not told at the first scan after midnight, but from 08:00."""
    txn = issue(reference, "4470014", "2026-11-01")

    for clock in ("00:05", "03:00", "07:59"):
        assert scan(reference, "2026-11-12", clock).notified == 0
    assert overdue_messages(reference) == []
    assert scan(reference, "2026-11-12", "08:00").notified == 1

    # The reminder, three days on, is due at 08:00 too, not at midnight.
    with reference.db.read() as session:
        clock = session.get(OverdueFollowUp, txn)
    assert clock.next_reminder_at == local("2026-11-15", "08:00")
    assert scan(reference, "2026-11-15", "00:05").reminded == 0
    assert scan(reference, "2026-11-15", "07:59").reminded == 0
    assert scan(reference, "2026-11-15", "08:01").reminded == 1
    assert [m.cause_key for m in overdue_messages(reference)] == [
        f"overdue:{txn}:1", f"overdue:{txn}:2"]


def test_a_reply_in_the_night_stops_the_mornings_message(reference):
    issue(reference, "4470015", "2026-11-01")
    scan(reference, "2026-11-12", "00:05")
    reference.record_event(f.event("reply_received", "4470015", "2026-11-12T02:00:00+03:00"))

    assert scan(reference, "2026-11-12", "08:00").notified == 0
    assert overdue_messages(reference) == []


def test_a_reminder_overdue_since_midnight_still_waits_for_the_morning(reference):
    """A clock due at midnight (queued so by an older scheduler, or a day missed) is not
    reminded in the night either."""
    txn = issue(reference, "4470016", "2026-11-01")
    scan(reference, "2026-11-12")
    with reference.db.write.begin() as session:
        session.get(OverdueFollowUp, txn).next_reminder_at = local("2026-11-15", "00:00")

    assert scan(reference, "2026-11-15", "00:05").reminded == 0
    assert scan(reference, "2026-11-15", "08:00").reminded == 1


def test_the_send_time_is_configurable(core, settings):
    config = settings.model_copy(update={
        "scheduler": settings.scheduler.model_copy(update={
            "overdue_send_at": time(0, 0)})})
    core.upsert_department("RIGHTS", f.department(reply_days=10))
    core.upsert_agency("MOI", f.agency())
    issue(core, "4470017", "2026-11-01")

    assert overdue.scan(core.db, config, now=local("2026-11-11", "23:59")).notified == 0
    assert overdue.scan(core.db, config, now=local("2026-11-12", "00:01")).notified == 1


def test_working_day_period_skips_the_weekend(core):
    core.upsert_department("RIGHTS", f.department(reply_days=3, reply_day_count="working"))
    core.upsert_agency("MOI", f.agency())
    issue(core, "4470002", "2026-11-04")  # Wednesday: due Thu, Sun, Mon

    assert scan(core, "2026-11-07").notified == 0  # three calendar days, a Saturday
    assert scan(core, "2026-11-09").notified == 0  # the last day of the period
    assert scan(core, "2026-11-10").notified == 1


def test_working_day_period_skips_a_declared_holiday(core):
    core.upsert_department("RIGHTS", f.department(reply_days=3, reply_day_count="working"))
    core.upsert_agency("MOI", f.agency())
    holidays.add(core.db, holidays.days_between(date(2026, 11, 8)), "يوم التأسيس")
    issue(core, "4470003", "2026-11-04")

    assert scan(core, "2026-11-10").notified == 0
    assert scan(core, "2026-11-11").notified == 1


def test_a_working_day_department_is_not_told_on_a_weekend_or_a_holiday(core):
    """Found overdue on a Friday (the scheduler was down on Thursday): Sunday, or Monday
    when Sunday is declared a holiday; a calendar department is told on Friday."""
    core.upsert_department("RIGHTS", f.department(reply_days=3, reply_day_count="working"))
    core.upsert_department("CIVIL", f.department(reply_days=3))
    core.upsert_agency("MOI", f.agency())
    issue(core, "4470019", "2026-10-28")  # Wednesday: overdue from Tuesday 2026-11-03
    issue(core, "4470020", "2026-10-28", department="CIVIL")
    holidays.add(core.db, holidays.days_between(date(2026, 11, 8)), "يوم التأسيس")
    issue(core, "4470021", "2026-11-02")  # Monday: due Tue, Wed, Thu; overdue Sunday

    assert scan(core, "2026-11-06").notified == 1  # Friday: the calendar department only
    assert scan(core, "2026-11-07").notified == 0  # Saturday
    assert scan(core, "2026-11-08").notified == 0  # Sunday, a holiday
    assert scan(core, "2026-11-09").notified == 2  # Monday


def test_a_working_day_reminder_falling_on_a_new_holiday_waits_for_the_next_day(core):
    core.upsert_department("RIGHTS", f.department(reply_days=3, reply_day_count="working"))
    core.upsert_agency("MOI", f.agency())
    issue(core, "4470022", "2026-11-01")  # Sunday: overdue Thursday 2026-11-05
    assert scan(core, "2026-11-05").notified == 1  # reminder due Tuesday 2026-11-10
    holidays.add(core.db, holidays.days_between(date(2026, 11, 10)), "يوم وطني")

    assert scan(core, "2026-11-10").reminded == 0
    assert scan(core, "2026-11-11").reminded == 1


def test_a_changed_reply_period_applies_at_the_next_scan(reference):
    issue(reference, "4470004", "2026-11-01")
    assert scan(reference, "2026-11-08").notified == 0

    reference.upsert_department("RIGHTS", f.department(reply_days=5))

    assert scan(reference, "2026-11-08").notified == 1


def test_no_reply_expected_means_no_clock(reference):
    issue(reference, "4470005", "2026-11-01", reply_expected=False)
    assert scan(reference, "2026-12-30").notified == 0
    assert overdue_messages(reference) == []


# --- reminders and stopping -----------------------------------------------------------


def test_reminders_every_three_days_after_the_last_until_the_reply(reference):
    txn = issue(reference, "4470006", "2026-11-01")
    sent = {day: scan(reference, day) for day in (
        "2026-11-12", "2026-11-13", "2026-11-14", "2026-11-15", "2026-11-17", "2026-11-18")}
    assert [(r.notified, r.reminded) for r in sent.values()] == [
        (1, 0), (0, 0), (0, 0), (0, 1), (0, 0), (0, 1)]

    reference.record_event(f.event("reply_received", "4470006", "2026-11-19T08:00:00+03:00"))
    assert scan(reference, "2026-11-21").stopped == 0  # the event stopped it already
    assert scan(reference, "2026-12-30").reminded == 0

    assert [m.cause_key for m in overdue_messages(reference)] == [
        f"overdue:{txn}:1", f"overdue:{txn}:2", f"overdue:{txn}:3"]
    with reference.db.read() as session:
        clock = session.get(OverdueFollowUp, txn)
    assert (clock.cycles, clock.next_reminder_at, clock.stopped_reason) == (
        3, None, "reply received")


def test_a_reply_before_the_reminder_day_stops_it_at_once(reference):
    txn = issue(reference, "4470007", "2026-11-01")
    scan(reference, "2026-11-12")
    reference.record_event(f.event("closed", "4470007", "2026-11-13T08:00:00+03:00"))

    with reference.db.read() as session:  # stopped by the event itself, before any scan
        clock = session.get(OverdueFollowUp, txn)
        assert (clock.next_reminder_at, clock.stopped_reason) == (None, "closed")
    result = scan(reference, "2026-11-15")

    assert (result.reminded, result.stopped) == (0, 0)
    assert len(overdue_messages(reference)) == 1


@pytest.mark.parametrize(("event", "reason"), [("reply_received", "reply received"),
                                               ("closed", "closed")])
def test_a_reply_cancels_the_overdue_message_still_waiting_to_go(reference, event, reason):
    """The SMSC was down (one message due again after a failed attempt) or quiet hours
    held it: once the reply is in, the manager must not be told it is missing."""
    retrying = issue(reference, "4470016", "2026-11-01")
    held = issue(reference, "4470017", "2026-11-01")
    other = issue(reference, "4470018", "2026-11-01")
    scan(reference, "2026-11-12")
    # The sender's clock: the outbox rows were written at the real time.
    claims = {c.id: c for c in outbox.claim_due(reference.db)}
    claimed = claims[_message_id(reference, retrying)]
    assert outbox.mark_retry(reference.db, claimed.id, "SMSC: throttled",
                             utcnow() + timedelta(minutes=5), attempt=claimed.attempts)
    with reference.db.write.begin() as session:  # as quiet hours leave one: never claimed
        session.execute(update(Notification).where(Notification.transaction_id == held,
                                                   Notification.kind == "overdue")
                        .values(status="pending", claimed_at=None))

    for number in ("4470016", "4470017"):
        reference.record_event(f.event(event, number, "2026-11-12T09:05:00+03:00"))

    messages = {m.transaction_id: m for m in overdue_messages(reference)}
    for txn in (retrying, held):
        assert messages[txn].status == "expired"
        assert messages[txn].last_error == f"cancelled: {reason} before it was sent"
    assert messages[other].status == "sending"  # claimed above, another transaction's
    with reference.db.read() as session:
        assert session.get(OverdueFollowUp, held).next_reminder_at is None
    later = outbox.claim_due(reference.db, now=utcnow() + timedelta(hours=1))
    assert [c for c in later if c.kind == "overdue"] == []


def _message_id(core: Core, transaction_id: int) -> int:
    return next(m.id for m in overdue_messages(core) if m.transaction_id == transaction_id)


def test_found_long_overdue_gets_one_message_not_the_missed_reminders(reference):
    txn = issue(reference, "4470008", "2026-11-01")

    assert scan(reference, "2027-01-20").notified == 1
    assert scan(reference, "2027-01-20", "09:10").reminded == 0
    assert scan(reference, "2027-01-22").reminded == 0
    assert scan(reference, "2027-01-23").reminded == 1
    assert [m.cause_key for m in overdue_messages(reference)] == [
        f"overdue:{txn}:1", f"overdue:{txn}:2"]


# --- exactly once ---------------------------------------------------------------------


def concurrent_scans(url: str, config: CoreSettings, now: datetime
                     ) -> list[overdue.ScanResult]:
    """Four scans at once, as separate machines run them."""
    return at_once(url, lambda db: overdue.scan(db, config, now=now, batch=5))


def issue_many(core: Core, count: int, on: str, first_number: int) -> list[int]:
    """``count`` transactions issued as ``issue`` issues one (the first through the
    events, the others copied from it: a few hundred events would take seconds)."""
    template_id = issue(core, str(first_number), on)
    with core.db.write.begin() as session:
        template = session.get(Transaction, template_id)
        columns = {c.key: getattr(template, c.key) for c in Transaction.__table__.columns
                   if c.key != "id"}
        session.execute(insert(Transaction), [
            {**columns, "number": str(first_number + n),
             "outgoing_number": f"9{first_number + n}"} for n in range(1, count)])
    with core.db.read() as session:
        return list(session.scalars(select(Transaction.id).where(
            Transaction.number.in_([str(first_number + n) for n in range(count)]))))


def test_concurrent_scans_send_each_cycle_once(reference, settings):
    ids = issue_many(reference, 200, "2026-11-01", 4471000)

    first = concurrent_scans(settings.database.url, reference.config, local("2026-11-12"))
    reminders = concurrent_scans(settings.database.url, reference.config,
                                 local("2026-11-15"))

    assert sum(r.notified for r in first) == len(ids) == 200
    assert sum(r.reminded for r in reminders) == len(ids)
    # They raced, not took turns: more than one scanner sent messages of each round.
    assert len([r for r in first if r.notified]) > 1, [r.notified for r in first]
    assert len([r for r in reminders if r.reminded]) > 1, [r.reminded for r in reminders]
    assert sorted(m.cause_key for m in overdue_messages(reference)) == sorted(
        f"overdue:{txn}:{cycle}" for txn in ids for cycle in (1, 2))


@pytest.mark.parametrize("cycle", [1, 2])
def test_a_scan_that_crashes_after_its_first_batch_sends_each_cycle_once_when_rerun(
        reference, monkeypatch, cycle):
    """The process dies part-way: here while writing the second batch's messages, its
    clocks already recorded. The first batch is committed, the second rolled back whole
    (no clock without its message), and the rerun sends the rest, once."""
    ids = issue_many(reference, 12, "2026-11-01", 4472000)
    day = "2026-11-12"
    if cycle == 2:
        assert scan(reference, day).notified == 12
        day = "2026-11-15"
    real, calls = outbox.enqueue_alike, []

    def crash_in_the_second_batch(connection, messages, **kwargs):
        calls.append(len(messages))
        if len([n for n in calls if n]) == 2:
            raise RuntimeError("the scanner died here")
        return real(connection, messages, **kwargs)

    monkeypatch.setattr(outbox, "enqueue_alike", crash_in_the_second_batch)
    with pytest.raises(RuntimeError):
        overdue.scan(reference.db, reference.config, now=local(day), batch=5)
    monkeypatch.setattr(outbox, "enqueue_alike", real)
    assert len([m for m in overdue_messages(reference)
                if m.cause_key.endswith(f":{cycle}")]) == 5  # the first batch, committed

    rerun = overdue.scan(reference.db, reference.config, now=local(day, "09:10"), batch=5)

    assert rerun.notified + rerun.reminded == 7
    assert sorted(m.cause_key for m in overdue_messages(reference)) == sorted(
        f"overdue:{txn}:{n}" for txn in ids for n in range(1, cycle + 1))
    with reference.db.read() as session:
        assert {c.cycles for c in session.scalars(select(OverdueFollowUp))} == {cycle}


def test_a_restarted_scanner_sends_nothing_again(reference, settings):
    issue(reference, "4470009", "2026-11-01")
    scan(reference, "2026-11-12")

    restarted = Database(settings.database.url)
    try:
        again = overdue.scan(restarted, reference.config, now=local("2026-11-12", "10:00"))
    finally:
        restarted.dispose()

    assert (again.notified, again.reminded) == (0, 0)
    assert len(overdue_messages(reference)) == 1


# --- unreachable managers, the demo, the operator's view ------------------------------


def test_a_department_without_manager_mobile_is_counted_then_told_once_it_has_one(core):
    core.upsert_department("RIGHTS", f.department(manager={"name": "سعد"}))
    core.upsert_agency("MOI", f.agency())
    issue(core, "4470010", "2026-11-01")

    result = scan(core, "2026-11-12")
    assert (result.notified, dict(result.without_manager)) == (0, {"RIGHTS": 1})
    assert overdue_messages(core) == []

    core.upsert_department("RIGHTS", f.department())
    assert scan(core, "2026-11-13").notified == 1


def test_reminders_wait_while_the_manager_has_no_mobile(reference):
    ids = [issue(reference, f"44720{n:02d}", "2026-11-01") for n in range(3)]
    scan(reference, "2026-11-12")
    reference.upsert_department("RIGHTS", f.department(manager={"name": "سعد"}))

    result = overdue.scan(reference.db, reference.config, now=local("2026-11-15"), batch=1)
    assert (result.reminded, dict(result.without_manager)) == (0, {"RIGHTS": 3})

    reference.upsert_department("RIGHTS", f.department())
    result = overdue.scan(reference.db, reference.config, now=local("2026-11-16"), batch=1)
    assert result.reminded == 3
    assert {m.cause_key for m in overdue_messages(reference)} == {
        f"overdue:{txn}:{cycle}" for txn in ids for cycle in (1, 2)}


def test_the_demo_never_sends_overdue_messages_to_its_managers(core):
    load_demo(core, transactions=80, seed=3, now=local("2026-11-01"))
    for day in ("2026-11-01", "2026-11-20", "2027-02-01"):
        result = scan(core, day)
        assert (result.notified, result.reminded) == (0, 0)
    with core.db.read() as session:
        reasons = set(session.scalars(select(OverdueFollowUp.stopped_reason)))
    assert reasons == {NOT_SENT}
    # The demo's overdue transactions still show as overdue to the operator.
    assert any(item.stopped_reason == NOT_SENT
               for item in overdue_items(core.db, core.config, now=local("2026-11-01")))


def test_the_operator_sees_days_overdue_per_department_and_agency(reference):
    issue(reference, "4470011", "2026-11-01")
    issue(reference, "4470012", "2026-11-05")
    scan(reference, "2026-11-12")

    items = overdue_items(reference.db, reference.config, now=local("2026-11-20"))

    assert [(i.number, i.days_overdue, i.messages) for i in items] == [
        ("4470011", 9, 1), ("4470012", 5, 0)]
    assert items[0].department_code == "RIGHTS"
    assert items[0].agency.in_("ar") == "وزارة الداخلية"
    counts = overdue_counts(reference.db, reference.config, now=local("2026-11-20"))
    assert [(c.code, c.overdue, c.manager_reachable) for c in counts] == [
        ("RIGHTS", 2, True)]
    by_agency = overdue_by_agency(reference.db, reference.config, now=local("2026-11-20"))
    assert [(a.department_code, a.agency_code, a.overdue, a.oldest_days_overdue)
            for a in by_agency] == [("RIGHTS", "MOI", 2, 9)]


def test_the_rule_reads_the_configured_defaults(core, settings):
    config = settings.model_copy(update={
        "scheduler": settings.scheduler.model_copy(update={
            "overdue_reply_days": 2, "overdue_day_count": "working"})})
    core.upsert_department("PLAIN", f.department(reply_days=None))
    core.upsert_agency("MOI", f.agency())
    issue(core, "4470013", "2026-11-04", department="PLAIN")  # Wed: due Thu, Sun

    assert overdue.scan(core.db, config, now=local("2026-11-08")).notified == 0
    assert overdue.scan(core.db, config, now=local("2026-11-09")).notified == 1
