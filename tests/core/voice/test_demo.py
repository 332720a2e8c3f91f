"""The Citizen's Voice demo: a living back office, loaded through the real code, once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from core.access.actors import COORDINATOR, SPECIALIST
from core.access.models import StaffUser
from core.directory.models import Agency
from core.messaging.models import Notification, NotificationStatus
from core.transactions.demo import AGENCIES as TRANSACTION_AGENCIES
from core.voice import demo, queues, states
from core.voice.models import CaseEvent, DeadlinePolicy, VoiceCase, VoiceCategory

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def test_the_plan_is_a_function_of_the_seed_and_tells_every_story():
    plan = demo.plan_demo(seed=3, cases=300, now=NOW)

    assert plan == demo.plan_demo(seed=3, cases=300, now=NOW)
    assert plan != demo.plan_demo(seed=4, cases=300, now=NOW)
    assert {case.story for case in plan} == set(demo.STORIES)
    assert all(at < NOW for case in plan for at, *_ in case.steps)
    assert all(case.filed_at < NOW for case in plan)


def test_a_small_plan_still_tells_every_story():
    plan = demo.plan_demo(seed=3, cases=len(demo.STORIES), now=NOW)

    assert {case.story for case in plan} == set(demo.STORIES)


def test_the_agencies_are_the_transactions_demos_own():
    assert set(demo.AGENCIES) <= set(TRANSACTION_AGENCIES)


@pytest.fixture
def loaded(core):
    report = demo.load_demo(core, cases=120, seed=7, now=NOW)
    return report


def test_the_demo_covers_every_state_each_with_its_history(core, loaded):
    with core.db.read() as session:
        by_state = dict(session.execute(select(VoiceCase.state, func.count())
                                        .group_by(VoiceCase.state)).all())
        cases = session.scalars(select(VoiceCase)).all()
        events = session.execute(select(CaseEvent.case_id, CaseEvent.from_state,
                                        CaseEvent.to_state).order_by(CaseEvent.id)).all()

    assert set(by_state) == set(states.STATES)
    assert sum(by_state.values()) == 120
    history: dict[int, list[tuple[str | None, str]]] = {}
    for case_id, before, after in events:
        history.setdefault(case_id, []).append((before, after))
    for case in cases:
        steps = history[case.id]
        assert steps[0] == (None, states.RECEIVED)
        for (_, reached), (left, _) in zip(steps, steps[1:], strict=False):
            assert left == reached, (case.tracking, steps)
        assert steps[-1][1] == case.state
    assert "cases by state" in loaded
    first = session_first_tracking(core)
    assert f"tracking {first}, filed from {demo.DEMO_MOBILE}" in loaded


def session_first_tracking(core) -> str:
    with core.db.read() as session:
        return session.scalars(select(VoiceCase.tracking).order_by(VoiceCase.id)).first()


def test_the_demo_has_late_paused_drafted_rated_reopened_and_sent_back_cases(core, loaded):
    with core.db.read() as session:
        late = session.scalar(select(func.count()).select_from(VoiceCase).where(
            VoiceCase.state.in_(queues.RUNNING_STATES), VoiceCase.answer_due < NOW))
        rated = session.scalar(select(func.count()).select_from(VoiceCase).where(
            VoiceCase.rating.is_not(None)))
        reopened = session.scalar(select(func.count()).select_from(VoiceCase).where(
            VoiceCase.cycle > 1))
        actions = set(session.scalars(select(CaseEvent.action).distinct()))
        unrouted_at_emirate = session.scalar(
            select(func.count()).select_from(VoiceCase).join(
                Agency, Agency.id == VoiceCase.agency_id).where(
                Agency.code == core.config.voice.emirate_agency,
                VoiceCase.state == states.RECEIVED))
        own_staff = session.scalar(select(func.count()).select_from(VoiceCase).where(
            VoiceCase.about_own_staff.is_(True)))
        warned = session.scalar(select(func.count()).select_from(VoiceCase).where(
            VoiceCase.escalation == 1))
        breached = session.scalar(select(func.count()).select_from(VoiceCase).where(
            VoiceCase.escalation >= 2, VoiceCase.state.in_(queues.RUNNING_STATES)))

    assert late and rated and reopened and unrouted_at_emirate and own_staff
    assert warned and breached
    assert {"route", "not_competent", "send_back", "merge", "request_info",
            "citizen_reply", "reopen", "rate", "withdraw", "accept", "plan", "implement",
            "reject", "approve"} <= actions


def test_categories_and_policies_in_both_languages_with_hour_and_day_targets(core, loaded):
    with core.db.read() as session:
        names = session.execute(select(VoiceCategory.name_ar, VoiceCategory.name_en)).all()
        units = set(session.scalars(select(DeadlinePolicy.answer_unit)))
        category_targets = session.scalar(select(func.count()).select_from(DeadlinePolicy)
                                          .where(DeadlinePolicy.category_id.is_not(None)))

    assert len(names) == len(demo.CATEGORIES)
    assert all(ar and en and ar != en for ar, en in names)
    assert units == {"d", "h"}
    assert category_targets >= 3


def test_no_alarm_of_the_demo_is_left_to_raise(core, loaded):
    from core.voice import alarms

    result = alarms.scan(core.db, core.config, now=NOW)

    with core.db.read() as session:
        clocks = session.scalar(select(func.count()).select_from(VoiceCase).where(
            VoiceCase.next_alarm_at.is_not(None)))
    assert clocks == 0
    assert result.due == 0


def test_nothing_of_the_demo_is_left_to_send(core, loaded):
    with core.db.read() as session:
        pending = session.scalar(select(func.count()).select_from(Notification).where(
            Notification.status != NotificationStatus.EXPIRED))
        expired = session.scalar(select(func.count()).select_from(Notification))

    assert pending == 0
    assert expired > 100
    assert "marked expired" in loaded


def test_loading_twice_loads_once(core, loaded):
    def counts():
        with core.db.read() as session:
            return tuple(session.scalar(select(func.count()).select_from(model))
                         for model in (VoiceCase, CaseEvent, VoiceCategory, DeadlinePolicy,
                                       StaffUser, Agency))

    before = counts()
    again = demo.load_demo(core, cases=120, seed=7, now=NOW)

    assert counts() == before
    assert "loaded before" in again


def test_the_demo_works_as_the_staff_already_there(core):
    """The demo users (made first by ``gateway demo-data``) find the cases theirs."""
    core.upsert_agency("AMANA", {"name_ar": "أمانة المنطقة", "name_en": "Regional Municipality"})
    with core.db.write.begin() as session:
        amana = session.scalars(select(Agency.id).where(Agency.code == "AMANA")).one()
        session.add_all([
            StaffUser(login="demo-specialist", name="مختص", role=SPECIALIST, agency_id=amana,
                      password_hash="x"),
            StaffUser(login="demo-coordinator", name="منسق", role=COORDINATOR,
                      agency_id=amana, password_hash="x")])

    report = demo.load_demo(core, cases=120, seed=7, now=NOW)

    with core.db.read() as session:
        specialist = session.scalars(select(StaffUser.id).where(
            StaffUser.login == "demo-specialist")).one()
        theirs = session.scalar(select(func.count()).select_from(VoiceCase).where(
            VoiceCase.assigned_user_id == specialist,
            VoiceCase.state.in_(queues.QUEUE_STATES)))
        workers = session.scalar(select(func.count()).select_from(StaffUser).where(
            StaffUser.login.startswith("voice-demo-"), StaffUser.agency_id == amana))
    assert theirs >= 3
    assert workers == 0
    assert "demo-coordinator/demo-specialist" in report
