"""The alarm scan: who is told of which level, once, in one message per recipient; cases
whose clock stopped; working hours. Alarm times come from ``core.voice.deadlines``, so
the tests place their scans at those times rather than at dates of their own: they hold
with the provisional clock and with the calendar's."""

from __future__ import annotations

import re
import threading
import time as clock_time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from channels.sms.encoding import segment_count
from core.access.actors import AGENCY_LEADER, COORDINATOR, LEADERSHIP, SPECIALIST
from core.access.models import StaffUser
from core.messaging import outbox
from core.messaging.models import Notification
from core.platform.db import Database
from core.voice import alarm_messages, alarms, deadlines
from core.voice.models import CaseAlarm, CaseEvent, DeadlinePolicy, VoiceCase
from tests import factories as f
from tests.core.database_checks import at_once, plan_of, statements_sent

RIYADH = ZoneInfo("Asia/Riyadh")
# A Sunday morning: the cases of these tests are received at the start of a working day.
RECEIVED = datetime(2026, 11, 1, 8, 0, tzinfo=RIYADH)


@dataclass
class Office:
    """Two agencies (MUN, HEALTH) and the emirate, with their staff; ids by login."""

    agencies: dict[str, int]
    users: dict[str, int]


def add_user(core, login: str, role: str, agency: int | None, *, mobile: str | None = None,
             email: str | None = None, disabled: bool = False) -> int:
    with core.db.write.begin() as session:
        user = StaffUser(login=login, name=login, role=role, agency_id=agency, mobile=mobile,
                         email=email, password_hash="-",
                         disabled_at=RECEIVED if disabled else None)
        session.add(user)
        session.flush()
        return user.id


@pytest.fixture
def office(core) -> Office:
    for code, name in (("MUN", "أمانة القصيم"), ("HEALTH", "صحة القصيم"),
                       ("EMIRATE", "إمارة القصيم")):
        core.upsert_agency(code, f.agency(name_ar=name, name_en=code.title()))
    with core.db.read() as session:
        from core.directory.models import Agency

        agencies = dict(session.execute(select(Agency.code, Agency.id)).all())
    mun, health = agencies["MUN"], agencies["HEALTH"]
    users = {
        "mun-specialist": add_user(core, "mun-specialist", SPECIALIST, mun,
                                   mobile="+966500000001"),
        "mun-coordinator": add_user(core, "mun-coordinator", COORDINATOR, mun,
                                    mobile="+966500000002"),
        "mun-coordinator-mail": add_user(core, "mun-coordinator-mail", COORDINATOR, mun,
                                         email="coordinator@mun.example"),
        "mun-coordinator-gone": add_user(core, "mun-coordinator-gone", COORDINATOR, mun,
                                         mobile="+966500000003", disabled=True),
        "mun-leader": add_user(core, "mun-leader", AGENCY_LEADER, mun,
                               mobile="+966500000004"),
        "health-coordinator": add_user(core, "health-coordinator", COORDINATOR, health,
                                       mobile="+966500000011"),
        "health-leader": add_user(core, "health-leader", AGENCY_LEADER, health,
                                  mobile="+966500000014"),
        "governor": add_user(core, "governor", LEADERSHIP, None, mobile="+966500000021"),
        "deputy": add_user(core, "deputy", LEADERSHIP, None, email="deputy@emirate.example"),
    }
    return Office(agencies, users)


_trackings = iter(range(4_000_000_000, 5_000_000_000))


def open_case(core, office: Office, agency: str = "MUN", *, received: datetime = RECEIVED,
              specialist: str | None = "mun-specialist") -> int:
    """A complaint received at ``received`` and timed by the clock (its first alarm time
    the warning's)."""
    with core.db.write.begin() as session:
        case = VoiceCase(
            tracking=str(next(_trackings)), case_type="complaint", state="in_progress",
            agency_id=office.agencies[agency], channel="portal", language="ar",
            text="حفرة في الطريق", cycle=1, escalation=0, received_at=received,
            assigned_user_id=office.users[specialist] if specialist else None)
        deadlines.time_new_case(session, core.config, case, received)
        session.add(case)
        session.flush()
        return case.id


def alarm_time(core, case_id: int, level: int) -> datetime:
    """The earliest a scan raises ``level`` of the case: its time, or the working time
    after it."""
    with core.db.read() as session:
        case = session.get(VoiceCase, case_id)
        times = deadlines.alarm_times(session, core.config, case)
        at = {deadlines.WARNING: times.warning, deadlines.BREACH: times.breach,
              deadlines.LEADERSHIP: times.leadership}[level]
        return deadlines.next_working_time(session, core.config, at)


def scan(core, now: datetime, **kwargs) -> alarms.ScanResult:
    return alarms.scan(core.db, core.config, now=now, **kwargs)


def messages(core, kind: str | None = None) -> list[Notification]:
    with core.db.read() as session:
        query = select(Notification).order_by(Notification.id)
        if kind:
            query = query.where(Notification.kind == kind)
        return list(session.scalars(query))


def to(core, recipient: str) -> list[Notification]:
    return [m for m in messages(core) if m.recipient == recipient]


def case_row(core, case_id: int) -> VoiceCase:
    with core.db.read() as session:
        case = session.get(VoiceCase, case_id)
        assert case is not None
        return case


def tracking(core, case_id: int) -> str:
    return case_row(core, case_id).tracking


def listed_count(message: Notification) -> int:
    """The count a message gives of the cases it lists: "... (12): ..."."""
    match = re.search(r"\((\d+)\): ", message.body)
    assert match, message.body
    return int(match[1])


def raised(core) -> list[tuple[int, int, int]]:
    with core.db.read() as session:
        return sorted(session.execute(
            select(CaseAlarm.case_id, CaseAlarm.cycle, CaseAlarm.level)).all())


# --- who is told of what ---------------------------------------------------------------


def test_the_warning_goes_to_the_specialist_and_the_agencys_coordinators(core, office):
    case = open_case(core, office)
    now = alarm_time(core, case, deadlines.WARNING)

    result = scan(core, now)

    assert result.raised == {"warning": 1} and result.messages == 3
    number = tracking(core, case)
    sent = {(m.channel, m.recipient): m for m in messages(core)}
    # The disabled coordinator and the other agency's staff are not told; the coordinator
    # without a mobile is told by e-mail.
    assert set(sent) == {("sms", "+966500000001"), ("sms", "+966500000002"),
                         ("email", "coordinator@mun.example")}
    for message in sent.values():
        assert (message.kind, message.audience, message.language) == (
            "voice_warning", "staff", "ar")
        assert message.body == (f"صوت المواطن: حالات مضى 75% من مهلة الرد عليها (1): "
                                f"{number}.")
    assert (case_row(core, case).escalation, raised(core)) == (1, [(case, 1, 1)])


def test_a_warning_moves_the_cases_next_alarm_to_its_breach(core, office):
    case = open_case(core, office)

    scan(core, alarm_time(core, case, deadlines.WARNING))

    with core.db.read() as session:
        row = session.get(VoiceCase, case)
        assert row.next_alarm_at == deadlines.alarm_times(session, core.config, row).breach


def test_the_breach_sends_one_arabic_sms_per_agency_leader_listing_its_late_cases(
        core, office):
    mun = [open_case(core, office) for _ in range(3)]
    health = open_case(core, office, "HEALTH", specialist=None)
    now = max(alarm_time(core, case, deadlines.BREACH) for case in [*mun, health])

    result = scan(core, now)

    assert result.raised["breach"] == 4
    (leader,) = to(core, "+966500000004")
    numbers = "، ".join(tracking(core, case) for case in mun)
    assert leader.kind == "voice_breach"
    assert leader.body == (f"صوت المواطن: حالات تجاوزت موعد الرد في جهتكم (3): {numbers}. "
                           "نرجو المتابعة.")
    assert segment_count(leader.body) <= 3
    (other,) = to(core, "+966500000014")
    assert tracking(core, health) in other.body and "(1)" in other.body
    assert {case_row(core, case).escalation for case in [*mun, health]} == {2}


def test_a_leader_gets_one_message_per_scan_whatever_its_batches(core, office):
    """Each batch is a transaction of its own: the later ones add their cases to the
    message the first queued, still waiting in the outbox."""
    cases = [open_case(core, office) for _ in range(7)]
    now = max(alarm_time(core, case, deadlines.BREACH) for case in cases)

    result = scan(core, now, batch=3)

    (leader,) = to(core, "+966500000004")
    numbers = "، ".join(tracking(core, case) for case in cases)
    assert f"(7): {numbers}. " in leader.body
    assert result.messages == 4  # the leader, the specialist, two coordinators


def test_a_message_a_sender_took_meanwhile_is_not_rewritten(core, office, monkeypatch):
    cases = [open_case(core, office) for _ in range(5)]
    now = max(alarm_time(core, case, deadlines.BREACH) for case in cases)
    real, calls = alarms.due_cases, []

    def send_between_batches(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the SMS channel takes the first batch's messages
            assert len(outbox.claim_due(core.db, limit=100)) == 3  # the e-mail waits
        return real(*args, **kwargs)

    monkeypatch.setattr(alarms, "due_cases", send_between_batches)
    scan(core, now, batch=3)

    first, second = to(core, "+966500000004")
    assert (first.status, second.status) == ("sending", "pending")
    assert "(3): " in first.body and "(2): " in second.body
    assert tracking(core, cases[3]) in second.body


def test_the_leadership_is_told_of_cases_late_past_the_breach_by_agency(core, office):
    mun, health = open_case(core, office), open_case(core, office, "HEALTH")
    now = max(alarm_time(core, case, deadlines.LEADERSHIP) for case in (mun, health))

    scan(core, now)

    (governor,) = to(core, "+966500000021")
    (deputy,) = to(core, "deputy@emirate.example")
    assert governor.kind == "voice_leadership" and deputy.channel == "email"
    assert governor.body == deputy.body == (
        "صوت المواطن: حالات لم يُرد عليها بعد 3 أيام عمل من موعد الرد (2): "
        f"أمانة القصيم (1): {tracking(core, mun)}؛ صحة القصيم (1): {tracking(core, health)}.")
    row = case_row(core, mun)
    assert (row.escalation, row.next_alarm_at) == (3, None)


def test_levels_found_due_together_are_each_raised_to_their_own_audience(core, office):
    """A scheduler stopped for days: the first scan after finds all three levels due."""
    case = open_case(core, office)

    result = scan(core, alarm_time(core, case, deadlines.LEADERSHIP))

    assert result.raised == {"warning": 1, "breach": 1, "leadership": 1}
    assert raised(core) == [(case, 1, level) for level in (1, 2, 3)]
    assert [m.kind for m in to(core, "+966500000001")] == ["voice_warning"]
    assert [m.kind for m in to(core, "+966500000004")] == ["voice_breach"]
    assert [m.kind for m in to(core, "+966500000021")] == ["voice_leadership"]


def test_an_agency_without_a_leader_to_tell_is_counted(core, office):
    with core.db.write.begin() as session:
        session.execute(update(StaffUser).where(StaffUser.login == "health-leader")
                        .values(mobile=None))
    case = open_case(core, office, "HEALTH", specialist=None)

    result = scan(core, alarm_time(core, case, deadlines.BREACH))

    assert result.unreachable == {"breach": 1}
    assert case_row(core, case).escalation == 2  # raised, for the leader's list to show


# --- exactly once ---------------------------------------------------------------------


def test_a_second_scan_and_a_restarted_scanner_raise_nothing_again(core, office, settings):
    case = open_case(core, office)
    now = alarm_time(core, case, deadlines.BREACH)
    first = scan(core, now)
    restarted = Database(settings.database.url)
    try:
        again = alarms.scan(restarted, core.config, now=now + timedelta(minutes=1))
    finally:
        restarted.dispose()

    assert first.messages == 4 and (again.due, again.messages) == (0, 0)
    assert len(messages(core)) == 4


def test_a_level_raised_before_is_not_raised_again_even_if_the_case_forgot_it(core, office):
    """A change to the case that wrote back an older escalation (a lost update): the
    alarm row still says the level was raised."""
    case = open_case(core, office)
    now = alarm_time(core, case, deadlines.WARNING)
    scan(core, now)
    with core.db.write.begin() as session:
        session.execute(update(VoiceCase).where(VoiceCase.id == case)
                        .values(escalation=0, next_alarm_at=now))

    again = scan(core, now + timedelta(minutes=1))

    assert (again.due, again.raised, again.messages) == (1, {}, 0)
    assert case_row(core, case).escalation == 1


def test_a_scan_that_crashes_after_its_first_batch_raises_each_level_once_when_rerun(
        core, office, monkeypatch):
    """The process dies part-way, while writing the second batch's messages: the first
    batch is committed, the second rolled back whole (no alarm without its message)."""
    cases = [open_case(core, office) for _ in range(12)]
    now = max(alarm_time(core, case, deadlines.BREACH) for case in cases)
    with core.db.write.begin() as session:  # the warnings are not what this is about
        session.execute(update(VoiceCase).values(escalation=1))
    real, calls = outbox.enqueue_new, []

    def crash_in_the_second_batch(session, rows):
        calls.append(rows)
        if len(calls) == 2:
            raise RuntimeError("the scanner died here")
        return real(session, rows)

    monkeypatch.setattr(outbox, "enqueue_new", crash_in_the_second_batch)
    with pytest.raises(RuntimeError):
        scan(core, now, batch=5)
    monkeypatch.setattr(outbox, "enqueue_new", real)
    assert len(raised(core)) == 5

    rerun = scan(core, now + timedelta(minutes=1), batch=5)

    assert rerun.raised == {"breach": 7}
    assert raised(core) == sorted((case, 1, 2) for case in cases)
    # The leader's messages count every case once between them.
    assert sum(listed_count(m) for m in to(core, "+966500000004")) == len(cases)


def test_concurrent_scanners_raise_each_level_once(core, office, settings):
    cases = [open_case(core, office) for _ in range(60)]
    now = max(alarm_time(core, case, deadlines.BREACH) for case in cases)

    results = at_once(settings.database.url,
                      lambda db: alarms.scan(db, core.config, now=now, batch=5))

    assert sum(r.raised["breach"] for r in results) == 60
    assert sum(r.raised["warning"] for r in results) == 60
    # They raced, not took turns: more than one scanner raised alarms.
    assert len([r for r in results if r.raised]) > 1, [r.raised for r in results]
    assert raised(core) == sorted((case, 1, level) for case in cases for level in (1, 2))
    # The leader's messages count every case once between them.
    assert sum(listed_count(m) for m in to(core, "+966500000004")) == len(cases)


# --- the levels due, as the clock defines them ----------------------------------------


def pause(core, case_id: int, start: datetime, end: datetime) -> None:
    """The case awaited the citizen from ``start`` to ``end`` (its events), retimed."""
    with core.db.write.begin() as session:
        case = session.get(VoiceCase, case_id)
        session.add_all([
            CaseEvent(case_id=case_id, at=start, actor_role="specialist", action="ask",
                      from_state="in_progress", to_state="awaiting_citizen", cycle=1),
            CaseEvent(case_id=case_id, at=end, actor_role="citizen", action="reply",
                      from_state="awaiting_citizen", to_state="in_progress", cycle=1)])
        session.flush()
        deadlines.retime(session, core.config, case, end)


@pytest.mark.parametrize("paused_days", [0, 2, 9])
def test_the_levels_due_agree_with_the_clocks_alarm_times(core, office, paused_days):
    """The scan reads the levels from what the clock stored (``next_alarm_at``,
    ``answer_due``) rather than from the events: at every escalation, at and around each
    alarm time, it finds what ``alarm_times`` says."""
    case = open_case(core, office)
    if paused_days:
        pause(core, case, RECEIVED + timedelta(days=1),
              RECEIVED + timedelta(days=1 + paused_days))
    with core.db.write.begin() as session:
        row = session.get(VoiceCase, case)
        times = deadlines.alarm_times(session, core.config, row).levels()
        moments = sorted({at + timedelta(minutes=shift) for _level, at in times
                          for shift in (-1, 0, 1)} | {times[-1][1] + timedelta(days=30)})
        checked = 0
        for escalation in (0, 1, 2):
            row.escalation = escalation
            deadlines.retime(session, core.config, row, RECEIVED)
            for now in moments:
                if now < row.next_alarm_at:
                    continue  # not due: the scan does not read it
                expected = [level for level, at in times if level > escalation and at <= now]
                after = next((at for level, at in times if level > max(expected)), None)
                assert alarms.levels_due(session, core.config, row, now) == (expected, after)
                checked += 1
        session.rollback()
    assert checked >= 12


# --- cases whose clock stopped ----------------------------------------------------------


@pytest.mark.parametrize("state", ["awaiting_citizen", "answered", "closed"])
def test_a_paused_or_answered_case_gets_no_alarm_and_leaves_the_scan(core, office, state):
    """Its alarm time left behind by a change that did not retime it: cleared, not raised."""
    case = open_case(core, office)
    now = alarm_time(core, case, deadlines.BREACH)
    with core.db.write.begin() as session:
        session.execute(update(VoiceCase).where(VoiceCase.id == case).values(state=state))

    result = scan(core, now)

    assert (result.due, result.stopped, result.raised, messages(core)) == (1, 1, {}, [])
    assert case_row(core, case).next_alarm_at is None
    assert scan(core, now).due == 0


def test_a_case_answered_while_the_scan_runs_gets_no_alarm(core, office, settings):
    """The answer's transaction holds the case when the scan comes: SQLite's scan waits
    for it, PostgreSQL's skips the case; neither raises an alarm on the state before."""
    answered, other = open_case(core, office), open_case(core, office)
    now = max(alarm_time(core, case, deadlines.WARNING) for case in (answered, other))
    scanner = Database(settings.database.url)
    results: list[alarms.ScanResult] = []
    try:
        with core.db.write.begin() as session:
            session.execute(update(VoiceCase).where(VoiceCase.id == answered)
                            .values(state="answered", next_alarm_at=None))
            thread = threading.Thread(target=lambda: results.append(
                alarms.scan(scanner, core.config, now=now)))
            thread.start()
            clock_time.sleep(0.5)  # the scan reaches the held case meanwhile
        thread.join(timeout=30)
    finally:
        scanner.dispose()

    assert [r.raised["warning"] for r in results] == [1]
    assert [case_id for case_id, _cycle, _level in raised(core)] == [other]
    assert scan(core, now + timedelta(minutes=1)).raised == {}


@pytest.mark.postgres
def test_on_postgresql_a_scan_skips_a_case_another_transaction_holds(core, office, settings):
    held, free = open_case(core, office), open_case(core, office)
    now = max(alarm_time(core, case, deadlines.WARNING) for case in (held, free))
    with core.db.write.begin() as session:
        session.scalars(select(VoiceCase).where(VoiceCase.id == held)
                        .with_for_update()).all()
        result = scan(core, now)  # another connection: does not wait for the lock

        assert result.raised == {"warning": 1}
        assert [case_id for case_id, _c, _l in raised(core)] == [free]

    assert scan(core, now).raised == {"warning": 1}  # the held one, once it is free
    assert sorted(case_id for case_id, _c, _l in raised(core)) == sorted([held, free])


# --- what the scan reads ----------------------------------------------------------------


def test_the_scan_reads_the_due_cases_by_the_next_alarm_index(core, office):
    due = [open_case(core, office) for _ in range(3)]
    later = RECEIVED + timedelta(days=60)
    for _ in range(40):
        open_case(core, office, received=later)
    now = max(alarm_time(core, case, deadlines.WARNING) for case in due)
    with statements_sent(core.db.engine, lambda statement: "FROM voice_cases" in statement
                         and "next_alarm_at <=" in statement) as statements:
        result = scan(core, now)

    assert result.due == 3
    plan = plan_of(core.db, *statements[0])
    assert "ix_voice_cases_next_alarm_at" in plan, plan


# --- working hours ----------------------------------------------------------------------


def working_hours(session, config, at: datetime) -> datetime:
    """A calendar of Sunday to Thursday, 07:30-14:30 in Riyadh, for these tests alone."""
    local = at.astimezone(RIYADH)
    for days in range(8):
        day = (local + timedelta(days=days)).date()
        if day.weekday() in (4, 5):  # Friday, Saturday
            continue
        start = datetime(day.year, day.month, day.day, 7, 30, tzinfo=RIYADH)
        end = start.replace(hour=14, minute=30)
        if local < end:
            return max(start, local).astimezone(UTC)
    raise AssertionError("no working time within a week")


def night_after(moment: datetime) -> datetime:
    """02:00 in Riyadh on the first Friday after ``moment``: outside working hours."""
    local = moment.astimezone(RIYADH) + timedelta(days=1)
    while local.weekday() != 4:
        local += timedelta(days=1)
    return local.replace(hour=2, minute=0, second=0, microsecond=0)


def test_outside_working_hours_alarms_wait_for_the_next_working_time(core, office,
                                                                     monkeypatch):
    monkeypatch.setattr(deadlines, "next_working_time", working_hours)
    case = open_case(core, office)
    night = night_after(alarm_time(core, case, deadlines.BREACH))

    held = scan(core, night)

    assert (held.held, held.raised, messages(core)) == (1, {}, [])
    sunday = night.replace(hour=7, minute=30) + timedelta(days=2)
    assert case_row(core, case).next_alarm_at == sunday
    assert scan(core, sunday - timedelta(minutes=1)).due == 0
    assert scan(core, sunday).raised["breach"] == 1


def test_a_case_answered_in_the_night_gets_no_morning_alarm(core, office, monkeypatch):
    monkeypatch.setattr(deadlines, "next_working_time", working_hours)
    case = open_case(core, office)
    night = night_after(alarm_time(core, case, deadlines.BREACH))
    scan(core, night)
    with core.db.write.begin() as session:
        session.execute(update(VoiceCase).where(VoiceCase.id == case)
                        .values(state="answered"))

    morning = scan(core, night + timedelta(days=2, hours=6))

    assert (morning.stopped, morning.raised, messages(core)) == (1, {}, [])


def test_a_case_with_a_target_in_hours_is_urgent_and_alarmed_at_night(core, office,
                                                                     monkeypatch):
    monkeypatch.setattr(deadlines, "next_working_time", working_hours)
    with core.db.write.begin() as session:
        session.add(DeadlinePolicy(agency_id=office.agencies["MUN"], acknowledge_value=1,
                                   acknowledge_unit="h", answer_value=4, answer_unit="h"))
    case = open_case(core, office)
    night = night_after(alarm_time(core, case, deadlines.BREACH))

    result = scan(core, night)

    assert result.held == 0 and result.raised["breach"] == 1
    assert [m.kind for m in to(core, "+966500000004")] == ["voice_breach"]


def test_alarms_keep_to_the_calendars_working_time(core, office):
    """With the clock's own calendar: a scan in the night raises what is due only if the
    calendar calls that working time, else the case waits for it."""
    case = open_case(core, office)
    night = night_after(alarm_time(core, case, deadlines.BREACH))
    with core.db.read() as session:
        working_from = deadlines.next_working_time(session, core.config, night)

    result = scan(core, night)

    if working_from > night:
        assert (result.held, messages(core)) == (1, [])
        assert case_row(core, case).next_alarm_at == working_from
        assert scan(core, working_from).raised["breach"] == 1
    else:
        assert result.raised["breach"] == 1
    assert len(to(core, "+966500000004")) == 1


# --- the texts ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_long_list_is_cut_to_three_ucs2_parts_and_keeps_the_count(lang):
    trackings = [str(4_000_000_000 + n) for n in range(60)]

    for text in (alarm_messages.warning_sms(trackings, 75, lang),
                 alarm_messages.breach_sms(trackings, lang),
                 alarm_messages.leadership_sms([("أمانة منطقة القصيم", trackings[:40]),
                                                ("صحة القصيم", trackings[40:])], 3, lang)):
        assert len(text) <= alarm_messages.SMS_BUDGET
        assert segment_count(text + "ع") <= 3  # counted as UCS-2 even in English
        assert "(60)" in text and trackings[0] in text and trackings[-1] not in text
        assert ("غيرها" if lang == "ar" else "more") in text or "(20)" in text


@pytest.mark.parametrize(("lang", "more"), [("ar", "و{n} غيرها"), ("en", "and {n} more")])
def test_every_leadership_group_cut_short_says_how_many_more(lang, more):
    by_agency = [(name, [str(7_000_000_000 + 100 * a + n) for n in range(6)])
                 for a, name in enumerate(("أمانة المنطقة", "الصحة"))]
    text = alarm_messages.leadership_sms(by_agency, 3, lang)

    shown = [sum(tracking in text for tracking in trackings)
             for _agency, trackings in by_agency]
    assert min(shown) > 0 and max(shown) < 6, text  # each group listed, and cut
    for count, (_agency, trackings) in zip(shown, by_agency, strict=True):
        assert f"{trackings[count - 1]} {more.format(n=6 - count)}" in text, text
    assert len(text) <= alarm_messages.SMS_BUDGET


def test_the_english_texts():
    assert alarm_messages.warning_sms(["4000000001"], 75, "en") == (
        "Citizen's Voice: cases with 75% of their answer time gone (1): 4000000001.")
    assert alarm_messages.breach_sms(["4000000001", "4000000002"], "en") == (
        "Citizen's Voice: cases past their answer deadline in your agency (2): "
        "4000000001, 4000000002. Please follow up.")
    assert alarm_messages.leadership_sms([("Municipality", ["4000000001"])], 1, "en") == (
        "Citizen's Voice: cases still unanswered 1 working day after their deadline (1): "
        "Municipality (1): 4000000001.")


@pytest.mark.parametrize(("days", "words"), [
    (1, "يوم عمل واحد"), (2, "يومي عمل"), (3, "3 أيام عمل"), (10, "10 أيام عمل"),
    (11, "11 يوم عمل"), (100, "100 يوم عمل")])
def test_the_leadership_text_counts_working_days_in_arabics_plural_forms(days, words):
    text = alarm_messages.leadership_sms([("أمانة", ["4000000001"])], days, "ar")

    assert f"بعد {words} من موعد الرد" in text
