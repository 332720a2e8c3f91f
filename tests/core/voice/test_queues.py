"""The staff lists: who sees which cases, pages that neither repeat nor skip a row, and
which tab a case belongs to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import count

import pytest
from sqlalchemy import select

from core.access.actors import (
    ADMIN,
    AGENCY_LEADER,
    COORDINATOR,
    LEADERSHIP,
    SPECIALIST,
    Actor,
)
from core.access.models import StaffUser
from core.calendar.models import CalendarVersion
from core.directory.models import Agency
from core.platform.errors import InvalidRequest
from core.voice import queues, states
from core.voice.models import DeadlinePolicy, VoiceCase, VoiceCategory

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
_numbers = count(1)


class World:
    """Three agencies (the emirate, A, B), one user of each role at A and B, a category
    each, and a way to add cases."""

    def __init__(self, db) -> None:
        self.db = db
        self.session = db.write()
        self.agency = {code: self._agency(code) for code in ("EMIRATE", "A", "B")}
        self.category = {code: self._category(code) for code in self.agency}
        self.version = CalendarVersion(reason="test", definition={})
        self.policy = DeadlinePolicy(acknowledge_value=1, acknowledge_unit="d",
                                     answer_value=10, answer_unit="d")
        session = self.session
        session.add_all([self.version, self.policy])
        session.flush()
        self.actor: dict[tuple[str, str], Actor] = {}
        for code in self.agency:
            for role in (COORDINATOR, SPECIALIST, AGENCY_LEADER):
                self.actor[code, role] = self._user(f"{role}-{code}", role, code)
        self.actor["A", "specialist2"] = self._user("specialist2-A", SPECIALIST, "A")
        self.leadership = self._user("leader-all", LEADERSHIP, None)
        self.admin = self._user("admin", ADMIN, None)
        session.commit()
        session.close()

    def _agency(self, code: str) -> int:
        row = Agency(code=code, name_ar=f"جهة {code}", name_en=f"Agency {code}")
        self.session.add(row)
        self.session.flush()
        return row.id

    def _category(self, code: str) -> int:
        row = VoiceCategory(code=f"CAT-{code}", agency_id=self.agency[code],
                            name_ar=f"فئة {code}", name_en=f"Category {code}",
                            types=["complaint"])
        self.session.add(row)
        self.session.flush()
        return row.id

    def _user(self, login: str, role: str, agency: str | None) -> Actor:
        row = StaffUser(login=login, name=f"Name {login}", role=role,
                        agency_id=self.agency[agency] if agency else None,
                        password_hash="x")
        self.session.add(row)
        self.session.flush()
        return Actor(row.id, login, row.name, role, row.agency_id)

    def case(self, agency: str, state: str, *, due: datetime | None = None,
             assigned: str | None = None, **fields) -> int:
        number = next(_numbers)
        paused = state in states.PAUSED
        row = VoiceCase(
            tracking=f"{number:010d}", case_type=fields.pop("case_type", "complaint"),
            state=state, agency_id=self.agency[agency],
            category_id=fields.pop("category_id", self.category[agency]), channel="web",
            language="ar", text="نص", policy_id=self.policy.id,
            calendar_version=self.version.id,
            received_at=fields.pop("received_at", NOW - timedelta(days=3)),
            cycle_started_at=NOW - timedelta(days=3),
            answer_due=None if paused else (due or NOW + timedelta(days=number % 7)),
            assigned_user_id=self.actor[agency, assigned].user_id if assigned else None,
            **fields)
        with self.db.write.begin() as session:
            session.add(row)
        return row.id


@pytest.fixture
def world(core):
    return World(core.db)


def ids_of(page: queues.Page) -> list[int]:
    return [row.id for row in page.rows]


def every_page(fetch, limit: int) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        page = fetch(after=after, limit=limit)
        assert len(page.rows) <= limit
        seen += ids_of(page)
        if page.next is None:
            return seen
        assert len(page.rows) == limit
        after = page.next


def a_bit_of_everything(world: World) -> dict[str, list[int]]:
    """Cases in every state at each agency, some assigned, some late, some warned."""
    made: dict[str, list[int]] = {code: [] for code in world.agency}
    for code in world.agency:
        for state in states.COMPLAINT_STATES:
            assigned = None if state == states.RECEIVED else SPECIALIST
            made[code].append(world.case(code, state, assigned=assigned))
        made[code].append(world.case(code, states.IN_PROGRESS, assigned=SPECIALIST,
                                     due=NOW - timedelta(hours=2), escalation=2))
        made[code].append(world.case(code, states.ASSIGNED, assigned=SPECIALIST,
                                     due=NOW + timedelta(hours=5), escalation=1))
    return made


# --- scoping ------------------------------------------------------------------------------

def all_visible(core, world: World, actor: Actor) -> set[int]:
    """Everything the actor's lists can show: every tab, the queue, the list."""
    emirate = world.agency["EMIRATE"]
    seen: set[int] = set()
    with core.db.read() as session:
        for name in queues.inbox_tabs(actor, emirate):
            seen |= set(every_page(partial(queues.inbox, session, actor, name,
                                           emirate_id=emirate, now=NOW), 7))
        seen |= set(every_page(partial(queues.specialist_queue, session, actor,
                                       emirate_id=emirate), 7))
        seen |= set(every_page(partial(queues.case_list, session, actor, emirate_id=emirate,
                                       now=NOW), 7))
    return seen


def agency_of(core, ids: set[int]) -> set[int]:
    with core.db.read() as session:
        return set(session.scalars(select(VoiceCase.agency_id).where(VoiceCase.id.in_(ids))))


def test_a_coordinator_sees_only_the_cases_their_agency_handles(core, world):
    made = a_bit_of_everything(world)

    seen = all_visible(core, world, world.actor["A", COORDINATOR])

    open_ones = {case for case in made["A"] if state_of(core, case) in queues.OPEN_STATES}
    assert seen == open_ones
    assert agency_of(core, seen) == {world.agency["A"]}


def test_a_specialist_sees_only_their_own_assigned_open_cases(core, world):
    made = a_bit_of_everything(world)
    theirs_not = world.case("A", states.IN_PROGRESS, assigned="specialist2")

    seen = all_visible(core, world, world.actor["A", SPECIALIST])

    assert theirs_not not in seen
    assert seen == {case for case in made["A"]
                    if state_of(core, case) in queues.QUEUE_STATES}
    assert seen


def test_a_leader_lists_every_case_of_their_agency_and_none_other(core, world):
    made = a_bit_of_everything(world)

    seen = all_visible(core, world, world.actor["B", AGENCY_LEADER])

    assert seen == set(made["B"])


def test_leadership_sees_every_agency_and_can_pick_one(core, world):
    made = a_bit_of_everything(world)
    actor = world.leadership

    assert all_visible(core, world, actor) == {case for cases in made.values()
                                               for case in cases}
    with core.db.read() as session:
        one = every_page(partial(queues.case_list, session, actor,
                                 queues.ListFilter(agency_id=world.agency["B"]),
                                 emirate_id=world.agency["EMIRATE"], now=NOW), 5)
    assert set(one) == set(made["B"])


def test_an_admin_sees_no_case(core, world):
    a_bit_of_everything(world)

    assert all_visible(core, world, world.admin) == set()


def test_a_complaint_about_an_agencys_own_staff_is_invisible_to_that_agency(core, world):
    about_a = world.agency["A"]
    at_emirate = world.case("EMIRATE", states.RECEIVED, about_agency_id=about_a,
                            about_own_staff=True)

    for role in (COORDINATOR, SPECIALIST, AGENCY_LEADER):
        assert all_visible(core, world, world.actor["A", role]) == set(), role
    emirate = world.actor["EMIRATE", COORDINATOR]
    with core.db.read() as session:
        new = queues.inbox(session, emirate, queues.NEW,
                           emirate_id=world.agency["EMIRATE"], now=NOW)
        unrouted = queues.inbox(session, emirate, queues.UNROUTED,
                                emirate_id=world.agency["EMIRATE"], now=NOW)
    assert ids_of(new) == [at_emirate]  # the emirate's own case, not one to route
    assert ids_of(unrouted) == []
    assert all_visible(core, world, world.leadership) == {at_emirate}


def state_of(core, case: int) -> str:
    with core.db.read() as session:
        return session.get(VoiceCase, case).state


# --- tabs ---------------------------------------------------------------------------------

def tab(core, world, actor, name) -> list[int]:
    with core.db.read() as session:
        return every_page(partial(queues.inbox, session, actor, name,
                                  emirate_id=world.agency["EMIRATE"], now=NOW), 50)


def test_each_case_sits_in_the_tabs_its_state_and_clock_say(core, world):
    new = world.case("A", states.RECEIVED)
    draft = world.case("A", states.ANSWER_DRAFTED, assigned=SPECIALIST)
    warned = world.case("A", states.IN_PROGRESS, assigned=SPECIALIST,
                        due=NOW + timedelta(hours=3), escalation=1)
    late = world.case("A", states.ASSIGNED, assigned=SPECIALIST,
                      due=NOW - timedelta(minutes=1), escalation=2)
    late_unwarned = world.case("A", states.RECEIVED, due=NOW - timedelta(days=1))
    waiting = world.case("A", states.AWAITING_CITIZEN, assigned=SPECIALIST)
    quiet = world.case("A", states.ASSIGNED, assigned=SPECIALIST)
    world.case("A", states.ANSWERED, assigned=SPECIALIST)
    world.case("A", states.CLOSED, assigned=SPECIALIST, due=NOW - timedelta(days=5))
    coordinator = world.actor["A", COORDINATOR]

    assert queues.inbox_tabs(coordinator, world.agency["EMIRATE"]) == (
        queues.NEW, queues.DRAFTS, queues.NEAR, queues.PAST, queues.AWAITING, queues.OPEN)
    assert tab(core, world, coordinator, queues.NEW) == [late_unwarned, new]
    assert tab(core, world, coordinator, queues.DRAFTS) == [draft]
    assert tab(core, world, coordinator, queues.NEAR) == [warned]
    assert tab(core, world, coordinator, queues.PAST) == [late_unwarned, late]
    assert tab(core, world, coordinator, queues.AWAITING) == [waiting]
    assert set(tab(core, world, coordinator, queues.OPEN)) == {
        new, draft, warned, late, late_unwarned, waiting, quiet}
    with pytest.raises(InvalidRequest):
        tab(core, world, coordinator, queues.UNROUTED)


def test_the_emirate_routes_what_came_without_an_agency_or_was_sent_back(core, world):
    emirate = world.agency["EMIRATE"]
    no_agency = world.case("EMIRATE", states.RECEIVED)
    sent_back = world.case("EMIRATE", states.RECEIVED, about_agency_id=world.agency["B"])
    own = world.case("EMIRATE", states.RECEIVED, about_agency_id=emirate)
    coordinator = world.actor["EMIRATE", COORDINATOR]

    assert queues.UNROUTED in queues.inbox_tabs(coordinator, emirate)
    assert set(tab(core, world, coordinator, queues.UNROUTED)) == {no_agency, sent_back}
    assert tab(core, world, coordinator, queues.NEW) == [own]


def test_rows_carry_what_the_page_shows(core, world):
    case = world.case("A", states.IN_PROGRESS, assigned=SPECIALIST,
                      due=NOW + timedelta(days=2), escalation=1)

    with core.db.read() as session:
        (row,) = queues.specialist_queue(session, world.actor["A", SPECIALIST]).rows

    assert (row.id, row.case_type, row.state, row.escalation) == (
        case, "complaint", states.IN_PROGRESS, 1)
    assert (row.category_ar, row.category_en) == ("فئة A", "Category A")
    assert (row.agency_code, row.agency_ar, row.agency_en) == ("A", "جهة A", "Agency A")
    assert row.assigned_name == "Name specialist-A"
    assert row.answer_due == NOW + timedelta(days=2)
    assert row.received_at == NOW - timedelta(days=3)


# --- pagination ---------------------------------------------------------------------------

def test_pages_neither_repeat_nor_skip_a_row_across_tied_deadlines(core, world):
    odd = timedelta(microseconds=123_457)  # a float timestamp would round it
    tied = [NOW + timedelta(hours=h) + odd for h in (1, 1, 1, 2, 2, 5)]
    made = []
    for n in range(90):
        state = (states.RECEIVED, states.ASSIGNED, states.IN_PROGRESS,
                 states.ANSWER_DRAFTED, states.AWAITING_CITIZEN)[n % 5]
        assigned = None if state == states.RECEIVED else SPECIALIST
        made.append(world.case("A", state, assigned=assigned, due=tied[n % 6]))
    with core.db.read() as session:
        due_of = dict(session.execute(select(VoiceCase.id, VoiceCase.answer_due)
                                      .where(VoiceCase.id.in_(made))).all())
    expected = sorted(made, key=lambda c: (due_of[c] is None, due_of[c] or NOW, c))
    coordinator = world.actor["A", COORDINATOR]

    for limit in (1, 7, 18, 89, 90, 200):
        assert tab(core, world, coordinator, queues.OPEN) == expected
        with core.db.read() as session:
            pages = every_page(partial(queues.inbox, session, coordinator, queues.OPEN,
                                       emirate_id=world.agency["EMIRATE"], now=NOW), limit)
        assert pages == expected, limit


def test_newest_first_is_the_exact_reverse_within_each_part(core, world):
    made = [world.case("B", (states.CLOSED, states.AWAITING_CITIZEN, states.ANSWERED)[n % 3],
                       assigned=SPECIALIST, due=NOW + timedelta(days=n % 4))
            for n in range(40)]
    leader = world.actor["B", AGENCY_LEADER]

    emirate = world.agency["EMIRATE"]
    with core.db.read() as session:
        forward = every_page(partial(queues.case_list, session, leader, emirate_id=emirate,
                                     now=NOW), 6)
        backward = every_page(partial(queues.case_list, session, leader,
                                      queues.ListFilter(newest_first=True),
                                      emirate_id=emirate, now=NOW), 6)

    assert sorted(forward) == sorted(made)
    dated = [case for case in forward if state_of(core, case) != states.AWAITING_CITIZEN]
    undated = forward[len(dated):]
    assert backward == dated[::-1] + undated[::-1]


def test_a_page_stays_right_when_rows_change_between_pages(core, world):
    emirate = world.agency["EMIRATE"]
    made = [world.case("A", states.ASSIGNED, assigned=SPECIALIST,
                       due=NOW + timedelta(hours=n)) for n in range(10)]
    coordinator = world.actor["A", COORDINATOR]
    with core.db.read() as session:
        first = queues.inbox(session, coordinator, queues.OPEN, emirate_id=emirate, now=NOW,
                             limit=4)
    # A row of the first page is answered; a new case falls before the cursor.
    with core.db.write.begin() as session:
        session.get(VoiceCase, made[0]).state = states.ANSWERED
    world.case("A", states.RECEIVED, due=NOW - timedelta(hours=1))
    with core.db.read() as session:
        second = queues.inbox(session, coordinator, queues.OPEN, emirate_id=emirate, now=NOW,
                              after=first.next, limit=4)

    assert ids_of(first) == made[:4]
    assert ids_of(second) == made[4:8]


def test_a_bad_cursor_or_page_size_is_a_clear_error(core, world):
    emirate = world.agency["EMIRATE"]
    coordinator = world.actor["A", COORDINATOR]
    with core.db.read() as session:
        for after in ("x", "12", "-.y", "99999999999999999999999.1"):
            with pytest.raises(InvalidRequest) as raised:
                queues.inbox(session, coordinator, queues.OPEN, emirate_id=emirate, now=NOW,
                             after=after)
            assert raised.value.field == "after"
        with pytest.raises(InvalidRequest):
            queues.inbox(session, coordinator, queues.OPEN, emirate_id=emirate, now=NOW,
                         limit=0)
        with pytest.raises(InvalidRequest):
            queues.case_list(session, world.actor["A", AGENCY_LEADER],
                             queues.ListFilter(states=("nonsense",)),
                             emirate_id=world.agency["EMIRATE"], now=NOW)


# --- filters and counts -------------------------------------------------------------------

def test_the_leaders_filters_narrow_by_state_category_period_and_lateness(core, world):
    other = VoiceCategory(code="CAT-A2", agency_id=world.agency["A"], name_ar="أخرى",
                          name_en="Other", types=["complaint"])
    with core.db.write.begin() as session:
        session.add(other)
    late = world.case("A", states.IN_PROGRESS, assigned=SPECIALIST,
                      due=NOW - timedelta(hours=1))
    closed_late = world.case("A", states.CLOSED, assigned=SPECIALIST,
                             due=NOW - timedelta(days=9))
    old = world.case("A", states.ASSIGNED, assigned=SPECIALIST,
                     received_at=NOW - timedelta(days=40), category_id=other.id)
    leader = world.actor["A", AGENCY_LEADER]

    def listed(**filters) -> set[int]:
        with core.db.read() as session:
            return set(every_page(partial(queues.case_list, session, leader,
                                          queues.ListFilter(**filters),
                                          emirate_id=world.agency["EMIRATE"], now=NOW), 50))

    assert listed(late=True) == {late}
    assert listed(states=(states.CLOSED,)) == {closed_late}
    assert listed(category_id=other.id) == {old}
    assert listed(received_to=NOW - timedelta(days=30)) == {old}
    assert listed(received_from=NOW - timedelta(days=30)) == {late, closed_late}
    # A leader's agency filter is ignored: their own agency is the scope.
    assert listed(agency_id=world.agency["B"]) == {late, closed_late, old}


def test_tab_counts_are_exact_below_the_bound_and_99_plus_from_it(core, world):
    for _ in range(queues.COUNT_BOUND + 3):
        world.case("A", states.RECEIVED)
    for _ in range(4):
        world.case("A", states.ANSWER_DRAFTED, assigned=SPECIALIST)
    world.case("B", states.ANSWER_DRAFTED, assigned=SPECIALIST)
    coordinator = world.actor["A", COORDINATOR]

    with core.db.read() as session:
        counts = queues.inbox_counts(session, coordinator, emirate_id=world.agency["EMIRATE"],
                                     now=NOW)
        queue = queues.specialist_count(session, world.actor["A", SPECIALIST],
                                        emirate_id=world.agency["EMIRATE"])

    assert str(counts[queues.NEW]) == "99+"
    assert counts[queues.DRAFTS] == queues.Count(4, False)
    assert str(counts[queues.DRAFTS]) == "4"
    assert counts[queues.AWAITING] == queues.Count(0, False)
    assert counts[queues.OPEN].more
    assert queue == queues.Count(4, False)


@pytest.mark.postgres
def test_an_inbox_page_reads_index_ranges_on_postgresql(core, world):
    for n in range(300):
        world.case("A", (states.RECEIVED, states.ASSIGNED)[n % 2], due=NOW,
                   assigned=None if n % 2 == 0 else SPECIALIST)
    with core.db.read() as session:
        session.execute(select(VoiceCase.id).limit(1))
        session.connection().exec_driver_sql("ANALYZE voice_cases")
        session.connection().exec_driver_sql("SET enable_seqscan = off")
        query = queues.inbox_statement(world.actor["A", COORDINATOR], queues.OPEN,
                                       emirate_id=world.agency["EMIRATE"], now=NOW)
        compiled = query.compile(core.db.engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(row[0] for row in session.connection().exec_driver_sql(
            f"EXPLAIN {compiled}"))
    assert "ix_voice_cases_inbox" in plan
    assert "Seq Scan" not in plan


@pytest.mark.postgres
def test_a_leaders_list_of_one_category_reads_the_category_index_on_postgresql(core, world):
    other = VoiceCategory(code="CAT-A3", agency_id=world.agency["A"], name_ar="ثالثة",
                          name_en="Third", types=["complaint"])
    with core.db.write.begin() as session:
        session.add(other)
    for n in range(300):
        world.case("A", states.ASSIGNED, assigned=SPECIALIST, due=NOW,
                   **({"category_id": other.id} if n % 50 == 0 else {}))
    with core.db.read() as session:
        session.connection().exec_driver_sql("ANALYZE voice_cases")
        session.connection().exec_driver_sql("SET enable_seqscan = off")
        query = queues.list_statement(world.actor["A", AGENCY_LEADER],
                                      queues.ListFilter(category_id=other.id),
                                      emirate_id=world.agency["EMIRATE"], now=NOW)
        compiled = query.compile(core.db.engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(row[0] for row in session.connection().exec_driver_sql(
            f"EXPLAIN {compiled}"))
    assert "ix_voice_cases_category" in plan
