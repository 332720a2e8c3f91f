"""Citizen's Voice at a million cases: the staff lists, the clock, the alarm scan and the
recomputation after a holiday, each beside a same-run baseline of what one would deploy
instead.

    .venv/bin/python bench/voice.py [--cases 1000000] [--database-url URL] [--rounds 5]
                                    [--keep DIR] [--reuse] [--lists-only] [--no-small]

Data: ``--cases`` cases over 24 agencies and the emirate (about 5 % at the emirate), in
every state (about 15 % open, received in the last 20 days; the rest answered or closed
over three years), each with its agency's category, a specialist of the agency, a
deadline and an escalation consistent with its age, and about 10 events each (a path
per final state, written by one INSERT ... SELECT from a table of steps). Cases go in by
SQLAlchemy Core executemany in 50k chunks. SQLite is a throwaway file in a temp dir (no
journal, no fsync while loading); PostgreSQL (``--database-url``, e.g. ``bash
.ci/postgres.sh start`` then its ``url``) is emptied first and vacuumed after the load,
as autovacuum leaves a table in service. The load time is printed, not judged.

Figures, each beside a same-run baseline:

- **coordinator's inbox** (p95 of every sample, ``--rounds`` per agency × tab × page):
  one page render = the tab counts (one statement, bounded) + one page of the tab (one
  statement, keyset), for six agencies (the emirate among them) × every tab × pages 1
  and 5. Baseline: OFFSET pagination with an exact ``COUNT(*)`` per tab (Django admin's
  and most back offices' default), same rows.
- **specialist's queue**, **leader's list** (all states; closed only; one category;
  one month; late), **leadership's list** (every agency; open; one agency): keyset
  against OFFSET + COUNT(*), pages 1 and 5. Every keyset page is checked against the
  baseline's page: the same ids in the same order.
- **one deadline computation** (p99 over 2,000 open cases): ``deadlines._apply``, both
  deadlines and the alarm times from the calendar version and the case's pauses, as
  ``recompute_open`` runs it; the answer deadline alone; beside a day-stepping loop.
- **the alarm scan** (``bench/voice_alarms.py``'s ``make_due`` and ``scan_figures``):
  100, 1,000 and 2,500 cases due, on this table and on one a tenth its size.
- **recomputing every open case after a holiday is added** (``recompute_open``),
  beside retiming one case per transaction (timed on 1,000, scaled).

Targets (PASS/MISS printed): the inbox page p95 under 300 ms, the deadline computation
p99 under 1 ms, the alarm scan under 2 s, the recomputation under 15 minutes. Exit
status 0 unless something broke.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# The repository instead of this folder, so that ``bench.…`` imports as a package and
# nothing in bench/ can shadow a module of the same name.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import and_, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench._dataset import insert_in_chunks, loading, migrate_fresh, vacuum  # noqa: E402
from core.access.actors import (  # noqa: E402
    AGENCY_LEADER,
    COORDINATOR,
    LEADERSHIP,
    SPECIALIST,
    Actor,
)
from core.access.models import StaffUser  # noqa: E402
from core.calendar import holidays, versions  # noqa: E402
from core.calendar.definition import configured_part, definition  # noqa: E402
from core.calendar.models import CalendarVersion  # noqa: E402
from core.directory.models import Agency  # noqa: E402
from core.platform.db import Database  # noqa: E402
from core.platform.settings import CoreSettings  # noqa: E402
from core.voice import deadlines, queues, states  # noqa: E402
from core.voice.models import CaseEvent, DeadlinePolicy, VoiceCase, VoiceCategory  # noqa: E402

NOW = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)  # Sunday 09:00 in Riyadh: working time
CONFIG = CoreSettings(locale={"timezone": "Asia/Riyadh"}, security={"national_id_key": "bench"})
AGENCIES = 24  # ids 1..24; the emirate is 25
EMIRATE = AGENCIES + 1
CATEGORIES = 6  # per agency
SPECIALISTS = 20  # per agency
CHUNK = 50_000
TARGET = timedelta(days=14)  # ten working days, about two weeks
TARGET_MS = 300
ALARM_DUES = (100, 1000, 2500)

# (state, case type, per thousand): about 15 % open.
MIX = (
    (states.RECEIVED, "complaint", 20), (states.ASSIGNED, "complaint", 25),
    (states.IN_PROGRESS, "complaint", 45), (states.AWAITING_CITIZEN, "complaint", 20),
    (states.ANSWER_DRAFTED, "complaint", 20), (states.UNDER_STUDY, "suggestion", 10),
    (states.ANSWERED, "complaint", 80), (states.CLOSED, "complaint", 620),
    (states.DUPLICATE, "complaint", 30), (states.WITHDRAWN, "complaint", 20),
    (states.ACCEPTED, "suggestion", 15), (states.PLANNED, "suggestion", 15),
    (states.IMPLEMENTED, "suggestion", 30), (states.REJECTED, "suggestion", 30),
    (states.CLOSED, "enquiry", 20),
)
assert sum(share for *_, share in MIX) == 1000
_SLOT = [(state, kind) for state, kind, share in MIX for _ in range(share)]

# The events that lead to each final state: (action, from, to, role).
_S = states
_BASE = [("submit", None, _S.RECEIVED, "citizen")]
_ASSIGN = [("assign", _S.RECEIVED, _S.ASSIGNED, COORDINATOR)]
_START = [("start", _S.ASSIGNED, _S.IN_PROGRESS, SPECIALIST)]
_ASK = [("request_info", _S.IN_PROGRESS, _S.AWAITING_CITIZEN, SPECIALIST)]
_REPLY = [("citizen_reply", _S.AWAITING_CITIZEN, _S.IN_PROGRESS, "citizen")]
_DRAFT = [("draft", _S.IN_PROGRESS, _S.ANSWER_DRAFTED, SPECIALIST)]
_BACK = [("send_back", _S.ANSWER_DRAFTED, _S.IN_PROGRESS, COORDINATOR)]
_APPROVE = [("approve", _S.ANSWER_DRAFTED, _S.ANSWERED, COORDINATOR)]
_ANSWERED = _BASE + _ASSIGN + _START + _ASK + _REPLY + _DRAFT + _BACK + _DRAFT + _APPROVE
_STUDY = _BASE + _ASSIGN + [("study", _S.ASSIGNED, _S.UNDER_STUDY, SPECIALIST)]
_DECIDE = _STUDY + [("draft", _S.UNDER_STUDY, _S.ANSWER_DRAFTED, SPECIALIST)]
PATHS = {
    ("complaint", _S.RECEIVED): _BASE,
    ("complaint", _S.ASSIGNED): _BASE + _ASSIGN,
    ("complaint", _S.IN_PROGRESS): _BASE + _ASSIGN + _START,
    ("complaint", _S.AWAITING_CITIZEN): _BASE + _ASSIGN + _START + _ASK,
    ("complaint", _S.ANSWER_DRAFTED): _BASE + _ASSIGN + _START + _ASK + _REPLY + _DRAFT,
    ("complaint", _S.ANSWERED): _ANSWERED,
    ("complaint", _S.CLOSED): _ANSWERED + [
        ("rate", _S.ANSWERED, _S.ANSWERED, "citizen"),
        ("close", _S.ANSWERED, _S.CLOSED, "system")],
    ("enquiry", _S.CLOSED): _ANSWERED + [("close", _S.ANSWERED, _S.CLOSED, "system")],
    ("complaint", _S.DUPLICATE): _BASE + [
        ("duplicate", _S.RECEIVED, _S.DUPLICATE, COORDINATOR)],
    ("complaint", _S.WITHDRAWN): _BASE + _ASSIGN + [
        ("withdraw", _S.ASSIGNED, _S.WITHDRAWN, "citizen")],
    ("suggestion", _S.UNDER_STUDY): _STUDY,
    ("suggestion", _S.ACCEPTED): _DECIDE + [
        ("accept", _S.ANSWER_DRAFTED, _S.ACCEPTED, COORDINATOR)],
    ("suggestion", _S.PLANNED): _DECIDE + [
        ("accept", _S.ANSWER_DRAFTED, _S.ACCEPTED, COORDINATOR),
        ("plan", _S.ACCEPTED, _S.PLANNED, COORDINATOR)],
    ("suggestion", _S.IMPLEMENTED): _DECIDE + [
        ("accept", _S.ANSWER_DRAFTED, _S.ACCEPTED, COORDINATOR),
        ("plan", _S.ACCEPTED, _S.PLANNED, COORDINATOR),
        ("implement", _S.PLANNED, _S.IMPLEMENTED, COORDINATOR)],
    ("suggestion", _S.REJECTED): _DECIDE + [
        ("reject", _S.ANSWER_DRAFTED, _S.REJECTED, COORDINATOR)],
}


# --- the data -----------------------------------------------------------------------------

def _user_id(agency: int, role: str, n: int = 0) -> int:
    """Per agency: 1 coordinator, 1 leader, SPECIALISTS specialists; leadership last."""
    base = (agency - 1) * (SPECIALISTS + 2)
    return base + {COORDINATOR: 1, AGENCY_LEADER: 2}.get(role, 3 + n)


LEADERSHIP_ID = _user_id(EMIRATE + 1, COORDINATOR)


def _reference(conn) -> None:
    conn.execute(insert(Agency), [
        {"id": a, "code": "EMIRATE" if a == EMIRATE else f"AG{a:02d}",
         "name_ar": f"جهة {a}", "name_en": f"Agency {a}", "updated_at": NOW}
        for a in range(1, EMIRATE + 1)])
    users = [{"id": _user_id(a, role, n), "login": f"{role}-{a}-{n}",
              "name": f"موظف {a}-{n}", "role": role, "agency_id": a, "password_hash": "x",
              "mobile": f"+9665{a:02d}{n:02d}{_user_id(a, role, n) % 1000:03d}0",
              "must_change_password": False, "failed_logins": 0, "created_at": NOW}
             for a in range(1, EMIRATE + 1)
             for role, count in ((COORDINATOR, 1), (AGENCY_LEADER, 1),
                                 (SPECIALIST, SPECIALISTS))
             for n in range(count)]
    users.append({"id": LEADERSHIP_ID, "login": "leadership", "name": "القيادة",
                  "role": LEADERSHIP, "agency_id": None, "password_hash": "x",
                  "mobile": "+966599000001",
                  "must_change_password": False, "failed_logins": 0, "created_at": NOW})
    conn.execute(insert(StaffUser), users)
    conn.execute(insert(VoiceCategory), [
        {"id": (a - 1) * CATEGORIES + c + 1, "code": f"C{a}-{c}", "agency_id": a,
         "name_ar": f"فئة {c}", "name_en": f"Category {c}",
         "types": ["complaint", "suggestion", "enquiry"], "active": True, "updated_at": NOW}
        for a in range(1, EMIRATE + 1) for c in range(CATEGORIES)])
    conn.execute(insert(DeadlinePolicy), [
        {"id": a, "agency_id": a, "category_id": None, "case_type": None,
         "acknowledge_value": 1, "acknowledge_unit": "d", "answer_value": 10,
         "answer_unit": "d", "created_at": NOW} for a in range(1, EMIRATE + 1)])
    first = definition(configured_part(CONFIG), [], [])
    conn.execute(insert(CalendarVersion), [{  # the first: id 1 (its sequence moves on)
        "reason": "bench", "created_at": NOW, "definition": first,
        # What the calendar service caches a version's calendar by: without it, each
        # read would build the calendar afresh (tens of milliseconds).
        "digest": versions.digest(first)}])


def _case(i: int) -> dict[str, Any]:
    state, kind = _SLOT[(i * 7919) % 1000]
    agency = EMIRATE if i % 20 == 7 else 1 + i % AGENCIES
    open_ = state in queues.OPEN_STATES
    spread = (i * 104729) % 1_000_000 / 1_000_000
    received = (NOW - timedelta(days=20) * spread if open_ else
                NOW - timedelta(days=20) - timedelta(days=3 * 365) * spread)
    due = received + TARGET
    paused = state in states.PAUSED
    running = state in states.CLOCK_RUNNING
    escalation = 0
    if running and due + timedelta(days=3) <= NOW:
        escalation = 3
    elif running and due <= NOW:
        escalation = 2
    elif running and due - NOW <= TARGET / 4:
        escalation = 1
    warning = received + TARGET * 3 / 4
    next_alarm = ({0: warning, 1: due, 2: due + timedelta(days=3), 3: None}[escalation]
                  if running else None)
    answered = received + TARGET * (0.3 + 0.9 * spread) if not open_ else None
    final = state in states.FINAL
    return {
        "id": i + 1, "tracking": f"{7_000_000_000 + i}", "case_type": kind,
        "state": state, "agency_id": agency, "about_agency_id": agency,
        "about_own_staff": False, "category_id": (agency - 1) * CATEGORIES + i % CATEGORIES + 1,
        "channel": ("sms", "web", "ivr", "email")[i % 4], "language": "ar",
        "text": "بلاغ عن تأخر الخدمة", "citizen_name": None,
        "citizen_mobile": f"+96655{i % 10**7:07d}", "citizen_email": None,
        "citizen_national_id_hash": None,
        "assigned_user_id": (None if state in (states.RECEIVED, states.DUPLICATE)
                             else _user_id(agency, SPECIALIST, i % SPECIALISTS)),
        "duplicate_of_id": None, "cycle": 1, "policy_id": agency, "calendar_version": 1,
        "received_at": received, "cycle_started_at": received,
        "acknowledged_at": None if state == states.RECEIVED else received + timedelta(hours=5),
        "answered_at": answered, "closed_at": answered if final else None,
        "acknowledge_due": received + timedelta(days=1),
        "answer_due": None if paused else due,
        "paused_since": NOW - timedelta(days=1) if paused else None,
        "escalation": escalation, "next_alarm_at": next_alarm,
        "rating": 1 + i % 5 if state == states.CLOSED and kind == "complaint" else None,
        "rated_at": answered if state == states.CLOSED and kind == "complaint" else None,
        "updated_at": answered or received,
    }


def _steps(conn) -> None:
    conn.exec_driver_sql("DROP TABLE IF EXISTS bench_steps")
    conn.exec_driver_sql(
        "CREATE TABLE bench_steps (case_type VARCHAR(12), state VARCHAR(20), k INTEGER, "
        "action VARCHAR(20), from_state VARCHAR(20), to_state VARCHAR(20), "
        "role VARCHAR(20))")
    conn.execute(text("INSERT INTO bench_steps VALUES (:t, :s, :k, :a, :f, :to, :r)"), [
        {"t": kind, "s": state, "k": k, "a": action, "f": before, "to": after, "r": role}
        for (kind, state), path in PATHS.items()
        for k, (action, before, after, role) in enumerate(path)])


def _events(conn) -> int:
    """About ten events a case, in one INSERT ... SELECT: the path to its state."""
    if conn.dialect.name == "sqlite":
        at = ("strftime('%Y-%m-%d %H:%M:%S', c.received_at, '+' || (s.k * 30) || "
              "' minutes') || '.000000'")
        detail = "'{}'"
    else:
        at = "c.received_at + s.k * interval '30 minutes'"
        detail = "'{}'::json"
    result = conn.exec_driver_sql(
        "INSERT INTO voice_case_events (case_id, at, actor_user_id, actor_role, action, "
        "from_state, to_state, cycle, reason, detail) "
        f"SELECT c.id, {at}, CASE s.role WHEN 'specialist' THEN c.assigned_user_id END, "
        f"s.role, s.action, s.from_state, s.to_state, 1, '', {detail} "
        "FROM voice_cases c JOIN bench_steps s "
        "ON s.case_type = c.case_type AND s.state = c.state ORDER BY c.id, s.k")
    conn.exec_driver_sql("DROP TABLE bench_steps")
    return result.rowcount


def load(url: str, cases: int) -> tuple[int, float]:
    started = time.perf_counter()
    migrate_fresh(url)
    with loading(url) as engine:
        with engine.begin() as conn:
            _reference(conn)
        insert_in_chunks(engine, VoiceCase, cases, _case)
        print(f"   {cases:,} cases in {time.perf_counter() - started:.0f} s", flush=True)
        with engine.begin() as conn:
            _steps(conn)
            events = _events(conn)
    vacuum(url)
    return events, time.perf_counter() - started


# --- the baseline: OFFSET pages and exact counts --------------------------------------------

def _conditions(spec: Any, actor: Actor) -> Any:
    """The same rows as the keyset list, as one WHERE (what an ORM list view writes)."""
    due = and_(VoiceCase.answer_due.is_not(None), *spec.due_where) if spec.due_where else True
    return and_(*spec.prefix, VoiceCase.state.in_(list(spec.states)), spec.scope,
                *spec.where, due)


def _offset_page(session, spec: Any, actor: Actor, page: int) -> list[int]:
    undated = VoiceCase.answer_due.is_(None)
    order = ((undated, VoiceCase.answer_due.desc(), VoiceCase.id.desc()) if spec.newest_first
             else (undated, VoiceCase.answer_due, VoiceCase.id))
    query = (select(VoiceCase.id, VoiceCase.tracking, VoiceCase.case_type,
                    VoiceCategory.name_ar, VoiceCategory.name_en, Agency.code, Agency.name_ar,
                    VoiceCase.state, VoiceCase.received_at, VoiceCase.answer_due,
                    VoiceCase.escalation, StaffUser.name)
             .join(Agency, Agency.id == VoiceCase.agency_id)
             .outerjoin(VoiceCategory, VoiceCategory.id == VoiceCase.category_id)
             .outerjoin(StaffUser, StaffUser.id == VoiceCase.assigned_user_id)
             .where(_conditions(spec, actor)).order_by(*order)
             .limit(queues.PAGE_SIZE).offset((page - 1) * queues.PAGE_SIZE))
    return [row.id for row in session.execute(query)]


def _exact_count(session, spec: Any, actor: Actor) -> int:
    return session.scalar(select(func.count()).select_from(VoiceCase)
                          .where(_conditions(spec, actor)))


# --- timing -------------------------------------------------------------------------------

def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


def _walk(fetch: Callable[[str | None], queues.Page], pages: int) -> Iterator[str | None]:
    """The cursors of pages 1..pages (walked once, untimed)."""
    after: str | None = None
    for _ in range(pages):
        yield after
        page = fetch(after)
        if page.next is None:
            return
        after = page.next


class Lists:
    """One list's keyset renders and their baseline, sampled and checked."""

    def __init__(self, db: Database, rounds: int) -> None:
        self.db, self.rounds = db, rounds
        self.ours: dict[str, list[float]] = {}
        self.base: dict[str, list[float]] = {}

    def sample(self, names: tuple[str, ...], actor: Actor, spec: Any, pages: tuple[int, ...],
               counts: Callable[[Any], object] | None, tab_specs: list[Any]) -> None:
        def fetch(after: str | None) -> queues.Page:
            with self.db.read() as session:
                return queues._page(session, spec, after, queues.PAGE_SIZE)

        cursors = list(_walk(fetch, max(pages)))
        for number in pages:
            if number > len(cursors):
                continue
            after = cursors[number - 1]
            for _ in range(self.rounds):
                started = time.perf_counter()
                with self.db.read() as session:
                    if counts is not None:
                        counts(session)
                    ours = queues._page(session, spec, after, queues.PAGE_SIZE)
                for name in names:
                    self.ours.setdefault(name, []).append(time.perf_counter() - started)
                started = time.perf_counter()
                with self.db.read() as session:
                    for tab_spec in tab_specs:
                        _exact_count(session, tab_spec, actor)
                    theirs = _offset_page(session, spec, actor, number)
                for name in names:
                    self.base.setdefault(name, []).append(time.perf_counter() - started)
                if [row.id for row in ours.rows] != theirs:
                    raise SystemExit(f"{names[0]} page {number}: keyset and OFFSET disagree")

    def report(self, names: list[str]) -> list[tuple[str, float, float]]:
        out = []
        for name in names:
            if name in self.ours:
                out.append((name, _p95(self.ours[name]), _p95(self.base[name])))
        return out


def _actor(user_id: int, role: str, agency: int | None) -> Actor:
    return Actor(user_id, f"u{user_id}", "", role, agency)


def measure_lists(db: Database, rounds: int) -> list[tuple[str, float, float]]:
    lists = Lists(db, rounds)
    agencies = [1, 2, 7, 13, 24, EMIRATE]
    for agency in agencies:
        actor = _actor(_user_id(agency, COORDINATOR), COORDINATOR, agency)
        tabs = queues.inbox_tabs(actor, EMIRATE)
        specs = [queues._tab_spec(actor, tab, EMIRATE, NOW) for tab in tabs]

        def counts(session, actor: Actor = actor) -> object:
            return queues.inbox_counts(session, actor, emirate_id=EMIRATE, now=NOW)

        for tab, spec in zip(tabs, specs, strict=True):
            lists.sample((f"inbox: {tab}", "inbox: every tab"), actor, spec, (1, 5), counts,
                         specs)
        specialist = _actor(_user_id(agency, SPECIALIST, 3), SPECIALIST, agency)
        queue = queues._queue_spec(specialist, EMIRATE)
        lists.sample(("specialist's queue",), specialist, queue, (1, 5),
                     lambda session, a=specialist: queues.specialist_count(
                         session, a, emirate_id=EMIRATE), [queue])
        leader = _actor(_user_id(agency, AGENCY_LEADER), AGENCY_LEADER, agency)
        for name, filters in (
                ("leader: all states", queues.ListFilter()),
                ("leader: closed, newest", queues.ListFilter(states=(states.CLOSED,),
                                                             newest_first=True)),
                ("leader: one category", queues.ListFilter(
                    category_id=(agency - 1) * CATEGORIES + 2)),
                ("leader: one month", queues.ListFilter(
                    received_from=NOW - timedelta(days=400),
                    received_to=NOW - timedelta(days=370))),
                ("leader: late", queues.ListFilter(late=True))):
            spec = queues._list_spec(leader, filters, EMIRATE, NOW)
            lists.sample((name,), leader, spec, (1, 5), None, [spec])
    leadership = _actor(LEADERSHIP_ID, LEADERSHIP, None)
    for name, filters in (("leadership: every agency", queues.ListFilter()),
                          ("leadership: open, every agency",
                           queues.ListFilter(states=queues.OPEN_STATES)),
                          ("leadership: one agency", queues.ListFilter(agency_id=3))):
        spec = queues._list_spec(leadership, filters, EMIRATE, NOW)
        lists.sample((name,), leadership, spec, (1, 5), None, [spec])
    names = ([f"inbox: {tab}" for tab in queues.TABS] + ["inbox: every tab"]
             + sorted({name for name in lists.ours if not name.startswith("inbox")}))
    return lists.report(names)


# --- the clock and the alarms ------------------------------------------------------------

def _stepping_due(calendar: Any, start: datetime, days: int) -> datetime:
    """The baseline: a day-by-day loop counting working days (FixMyStreet's way)."""
    local = start.astimezone(calendar.tz)
    day, counted = local.date(), 0
    while counted < days:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            counted += 1
    return datetime.combine(day, local.time(), calendar.tz).astimezone(UTC)


def measure_clock(db: Database, samples: int = 2000) -> list[str]:
    """One deadline computation (the calendar's ``due`` with the case's pauses, and the
    alarm times: ``deadlines._apply``), p99 over open cases, beside the day-stepping
    loop; and ``retime`` with its reads (policy, events)."""
    out = []
    with db.write() as session:
        ids = list(session.scalars(select(VoiceCase.id).where(
            VoiceCase.state.in_(queues.OPEN_STATES)).order_by(VoiceCase.id)
            .limit(samples * 10)))[::10]
        cases = list(session.scalars(select(VoiceCase).where(VoiceCase.id.in_(ids))))
        calendar = versions.calendar(session, 1)
        policies = {row.id: row for row in session.scalars(select(DeadlinePolicy))}
        events: dict[int, list[Any]] = {}
        for event in session.scalars(select(CaseEvent).where(
                CaseEvent.case_id.in_(ids)).order_by(CaseEvent.id)):
            events.setdefault(event.case_id, []).append(event)
        ours, due, theirs, full = [], [], [], []
        for case in cases:
            pauses = deadlines._pauses(events.get(case.id, []), case.cycle)
            answer = deadlines.targets(policies[case.policy_id])[1]
            closed = [pause for pause in pauses if pause[1] is not None]
            started = time.perf_counter()
            calendar.due(case.cycle_started_at, answer, closed)
            due.append(time.perf_counter() - started)
            started = time.perf_counter()
            deadlines._apply(case, policies[case.policy_id], calendar, pauses, CONFIG, NOW)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            _stepping_due(calendar, case.cycle_started_at, 10)
            theirs.append(time.perf_counter() - started)
        for case in cases[:500]:
            started = time.perf_counter()
            deadlines.retime(session, CONFIG, case, NOW)
            full.append(time.perf_counter() - started)
        session.rollback()

    def p99(values: list[float]) -> float:
        return sorted(values)[int(0.99 * (len(values) - 1))] * 1000

    verdict = "PASS" if p99(ours) < 1 else "MISS"
    out.append(f"   one deadline computation p99 {p99(ours):.3f} ms over {len(ours):,} open "
               f"cases: both deadlines and the alarm times (target < 1 ms: {verdict}); "
               f"the answer deadline alone {p99(due):.3f} ms; a day-stepping loop (day "
               f"targets only, no windows or pauses) {p99(theirs):.3f} ms; retime with its "
               f"reads (policy, events) {p99(full):.3f} ms")
    return out


def alarm_dues(smallest: int) -> tuple[int, ...]:
    """ALARM_DUES, as many as the smaller table's cases in progress (4.5 %) allow."""
    dues: list[int] = []
    for due in ALARM_DUES:
        if sum(dues) + due <= smallest * 0.04:
            dues.append(due)
    return tuple(dues)


def measure_alarms(db: Database, dues: tuple[int, ...]) -> list[tuple[int, float]]:
    """``alarms.scan`` with ``due`` cases past their warning and breach (bench/voice_alarms)."""
    from bench import voice_alarms

    figures = []
    after = 0
    for due in dues:
        after = voice_alarms.make_due(db, due, after)
        seconds, result = voice_alarms.scan_figures(db, CONFIG, due, NOW)
        figures.append((due, seconds))
        voice_alarms.forget(db)
    return figures


def measure_recompute(db: Database, open_count: int, sample: int = 1000) -> list[str]:
    """A holiday added, then every open case retimed (``recompute_open``); beside it, a
    job retiming one case per transaction, timed on ``sample`` cases and scaled."""
    holidays.add(db, [date(2026, 12, 20)], "bench", CONFIG)
    started = time.perf_counter()
    result = deadlines.recompute_open(db, CONFIG, now=NOW)
    seconds = time.perf_counter() - started
    holidays.add(db, [date(2026, 12, 21)], "bench again", CONFIG)
    with db.read() as session:
        latest = versions.latest_id(session)
        ids = list(session.scalars(select(VoiceCase.id).where(
            VoiceCase.state.in_(queues.OPEN_STATES)).order_by(VoiceCase.id).limit(sample)))
    started = time.perf_counter()
    for case_id in ids:
        with db.write.begin() as session:
            case = session.get(VoiceCase, case_id)
            assert case is not None and latest is not None
            case.calendar_version = latest
            deadlines.retime(session, CONFIG, case, NOW)
    per_case = (time.perf_counter() - started) / len(ids)
    verdict = "PASS" if seconds < 15 * 60 else "MISS"
    return [f"   recompute after a holiday: {result.retimed:,} open cases in {seconds:.1f} s "
            f"({seconds / max(result.retimed, 1) * 1000:.2f} ms a case; target < 15 min: "
            f"{verdict}); one case a transaction: {per_case * 1000:.2f} ms a case, "
            f"{per_case * open_count:.0f} s for all {open_count:,}"]


def plans(db: Database) -> str:
    actor = _actor(_user_id(2, COORDINATOR), COORDINATOR, 2)
    query = queues.inbox_statement(actor, queues.OPEN, emirate_id=EMIRATE, now=NOW)
    assert query is not None
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    with db.read() as session:
        rows = session.connection().exec_driver_sql(prefix + str(compiled)).all()
    return "\n".join("      " + " ".join(str(c) for c in row) for row in rows)


def run_alarms_only(url: str, cases: int) -> list[tuple[int, float]]:
    """The alarm scan on a smaller table, the same numbers due."""
    events, seconds = load(url, cases)
    print(f"   loaded {cases:,} cases and {events:,} events in {seconds:.0f} s")
    db = Database(url)
    try:
        figures = measure_alarms(db, alarm_dues(cases))
    finally:
        db.dispose()
    for due, took in figures:
        print(f"   alarm scan, {due:,} due of {cases:,}: {took:.3f} s", flush=True)
    return figures


def run(url: str, cases: int, rounds: int, reuse: bool, small_table: int,
        lists_only: bool = False) -> None:
    name = "SQLite" if make_url(url).get_backend_name() == "sqlite" else "PostgreSQL"
    print(f"{name}: {cases:,} cases", flush=True)
    if not reuse:
        events, seconds = load(url, cases)
        print(f"   loaded {cases:,} cases and {events:,} events in {seconds:.0f} s",
              flush=True)
    db = Database(url)
    try:
        with db.read() as session:
            open_ = session.scalar(select(func.count()).select_from(VoiceCase).where(
                VoiceCase.state.in_(queues.OPEN_STATES)))
        print(f"   {open_:,} open; python speed {python_speed():.0f} ns/loop iteration")
        started = time.perf_counter()
        figures = measure_lists(db, rounds)
        print(f"   lists measured in {time.perf_counter() - started:.0f} s "
              f"(p95 of pages 1 and 5, {rounds} rounds each; ms)")
        print(f"   {'list':<34}{'keyset + bounded':>18}{'OFFSET + COUNT(*)':>19}")
        for list_name, ours, theirs in figures:
            print(f"   {list_name:<34}{ours:>15.1f} ms{theirs:>16.1f} ms")
        inbox = dict((n, o) for n, o, _ in figures)["inbox: every tab"]
        verdict = "PASS" if inbox < TARGET_MS else "MISS"
        print(f"   coordinator's inbox p95 {inbox:.1f} ms (target < {TARGET_MS} ms): {verdict}")
        print("   inbox 'open' tab plan:\n" + plans(db))
        if lists_only:
            return
        for line in measure_clock(db):
            print(line, flush=True)
        for due, seconds in measure_alarms(db, alarm_dues(small_table)):
            print(f"   alarm scan, {due:,} due of {cases:,}: {seconds:.3f} s "
                  f"(target < 2 s: {'PASS' if seconds < 2 else 'MISS'})", flush=True)
        for line in measure_recompute(db, open_):
            print(line, flush=True)
    finally:
        db.dispose()


def python_speed() -> float:
    started = time.perf_counter()
    total = 0
    for n in range(1_000_000):
        total += n
    return (time.perf_counter() - started) * 1000


def add_database_options(parser: argparse.ArgumentParser) -> None:
    """The options of the benches over this loaded database (this one's, the dashboards')."""
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url")
    parser.add_argument("--keep", help="a directory for the SQLite file, kept after the run")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the database already loaded (--keep or the URL)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_options(parser)
    parser.add_argument("--no-small", action="store_true",
                        help="skip the alarm scan on a table a tenth the size")
    parser.add_argument("--lists-only", action="store_true",
                        help="measure the lists only (the rest changes the data)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as tmp:
        if args.database_url:
            url = small = args.database_url
        else:
            folder = Path(args.keep or tmp)
            folder.mkdir(parents=True, exist_ok=True)
            url, small = f"sqlite:///{folder / 'voice.db'}", f"sqlite:///{tmp}/small.db"
        run(url, args.cases, args.rounds, args.reuse, args.cases // 10, args.lists_only)
        if not (args.no_small or args.lists_only):
            print(f"A table a tenth the size, the same cases due: {args.cases // 10:,} cases",
                  flush=True)
            run_alarms_only(small, args.cases // 10)


if __name__ == "__main__":
    main()
