"""Answered cases close themselves when the citizen's reopen window has passed: on the
working calendar, once, in batches, whatever runs at once; a reopen in the window keeps
the case open, a rating does not close it."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from time import sleep
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.calendar import holidays
from core.messaging.models import Notification
from core.platform.db import Database
from core.platform.errors import WrongState
from core.voice import closing
from core.voice.models import CaseEvent, VoiceCase
from tests.core.database_checks import at_once, plan_of, statements_sent
from tests.core.voice.conftest import PROOF

RIYADH = ZoneInfo("Asia/Riyadh")
# The world's cases are answered on Sunday 22 November 2026; reopen_days is 10: the
# 10th working day after it is Sunday 6 December, the window ends at Monday's midnight.
WINDOW_ENDS = datetime(2026, 12, 7, 0, 0, tzinfo=RIYADH)
MINUTE = timedelta(minutes=1)


def case_row(core, tracking: str) -> VoiceCase:
    with core.db.read() as session:
        return session.scalars(select(VoiceCase).where(VoiceCase.tracking == tracking)).one()


def events(core, tracking: str, action: str = "close") -> list[CaseEvent]:
    with core.db.read() as session:
        return list(session.scalars(select(CaseEvent).join(
            VoiceCase, VoiceCase.id == CaseEvent.case_id).where(
            VoiceCase.tracking == tracking, CaseEvent.action == action)))


def close(world, now: datetime, **kwargs) -> closing.ClosingResult:
    return closing.close_answered(world.core.db, world.core.config, now=now, **kwargs)


def test_an_answered_case_closes_when_its_reopen_window_has_passed(world):
    tracking = world.walk("complaint", "answered")

    assert close(world, WINDOW_ENDS - MINUTE).closed == 0
    assert case_row(world.core, tracking).state == "answered"
    # Still in time to reopen a minute before; a minute after, neither reopen nor open.
    result = close(world, WINDOW_ENDS)

    assert (result.closed, result.batches) == (1, 1)
    case = case_row(world.core, tracking)
    assert (case.state, case.closed_at) == ("closed", WINDOW_ENDS)
    [event_row] = events(world.core, tracking)
    assert (event_row.actor_role, event_row.actor_user_id, event_row.from_state,
            event_row.to_state, event_row.reason, event_row.at) == (
        "system", None, "answered", "closed", "reopen window passed", WINDOW_ENDS)
    with pytest.raises(WrongState):
        world.voice.citizen_act(tracking, "reopen", PROOF, now=WINDOW_ENDS)


def test_the_citizen_is_not_told_of_the_closing(world):
    tracking = world.walk("complaint", "answered")
    with world.core.db.read() as session:
        before = session.scalars(select(Notification.kind)).all()

    assert close(world, WINDOW_ENDS).closed == 1

    with world.core.db.read() as session:
        assert session.scalars(select(Notification.kind)).all() == before
    assert "voice_answered" in before  # the answer went, nothing since
    assert case_row(world.core, tracking).state == "closed"


def test_the_window_is_counted_in_working_days_a_holiday_extends_it(world):
    tracking = world.walk("complaint", "answered")
    holidays.add(world.core.db, [date(2026, 12, 6)], "test", world.core.config)

    assert close(world, WINDOW_ENDS).closed == 0
    world.voice.citizen_act(tracking, "rate", PROOF, rating=4, now=WINDOW_ENDS)
    assert close(world, WINDOW_ENDS + timedelta(days=1) - MINUTE).closed == 0
    assert close(world, WINDOW_ENDS + timedelta(days=1)).closed == 1
    assert case_row(world.core, tracking).state == "closed"


def test_a_reopen_in_the_window_keeps_the_case_open(world):
    reopened = world.walk("complaint", "answered")
    left = world.walk("complaint", "answered")
    world.voice.citizen_act(reopened, "reopen", PROOF, now=WINDOW_ENDS - timedelta(days=2))

    assert close(world, WINDOW_ENDS + timedelta(days=30)).closed == 1
    assert case_row(world.core, reopened).state == "assigned"
    assert case_row(world.core, left).state == "closed"
    assert events(world.core, reopened) == []


def test_a_rating_does_not_close_and_a_closed_case_may_still_be_rated(world):
    rated = world.walk("complaint", "answered")
    world.voice.citizen_act(rated, "rate", PROOF, rating=2, now=world.tick())
    assert case_row(world.core, rated).state == "answered"
    unrated = world.walk("complaint", "answered")

    assert close(world, WINDOW_ENDS).closed == 2
    assert case_row(world.core, rated).rating == 2
    world.voice.citizen_act(unrated, "rate", PROOF, rating=5, now=WINDOW_ENDS)
    assert case_row(world.core, unrated).rating == 5


def test_only_answered_cases_close(world):
    others = {state: world.walk(case_type, state) for case_type, state in (
        ("complaint", "in_progress"), ("complaint", "awaiting_citizen"),
        ("complaint", "answer_drafted"), ("suggestion", "accepted"),
        ("suggestion", "planned"))}

    assert close(world, WINDOW_ENDS + timedelta(days=60)).closed == 0
    for state, tracking in others.items():
        assert case_row(world.core, tracking).state == state


def test_a_second_run_closes_nothing_again(world):
    trackings = [world.walk("complaint", "answered") for _ in range(5)]

    assert close(world, WINDOW_ENDS, batch=2).closed == 5
    assert close(world, WINDOW_ENDS + timedelta(days=1)).closed == 0
    assert all(len(events(world.core, t)) == 1 for t in trackings)


def test_batches_are_their_own_transactions(world, monkeypatch):
    """A run stopped after its first batch keeps that batch; the rerun closes the rest."""
    trackings = [world.walk("complaint", "answered") for _ in range(5)]
    real = closing._close_batch
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the machine stopped")
        return real(*args, **kwargs)

    monkeypatch.setattr(closing, "_close_batch", failing)
    with pytest.raises(RuntimeError):
        close(world, WINDOW_ENDS, batch=2)
    monkeypatch.undo()
    assert [case_row(world.core, t).state for t in trackings].count("closed") == 2

    assert close(world, WINDOW_ENDS, batch=2).closed == 3
    assert all(len(events(world.core, t)) == 1 for t in trackings)


def test_concurrent_runs_close_each_case_once(world, settings):
    trackings = [world.walk("complaint", "answered") for _ in range(24)]
    results = at_once(settings.database.url, lambda db: closing.close_answered(
        db, world.core.config, now=WINDOW_ENDS, batch=3))

    assert sum(result.closed for result in results) == 24
    assert all(len(events(world.core, t)) == 1 for t in trackings)


def test_a_reopen_that_holds_the_case_wins_over_a_run(world, settings):
    """The reopen's transaction holds the case when the run comes: SQLite's run waits
    for it, PostgreSQL's skips the case; the reopened case is not closed either way."""
    tracking = world.walk("complaint", "answered")
    other = world.walk("complaint", "answered")
    runner = Database(settings.database.url)
    results: list[closing.ClosingResult] = []
    in_time = WINDOW_ENDS - MINUTE
    try:
        with world.core.db.write.begin() as session:
            from core.voice import actions

            actions.citizen_action(session, world.core.config, tracking, "reopen", PROOF,
                                   in_time)
            session.flush()
            thread = threading.Thread(target=lambda: results.append(
                closing.close_answered(runner, world.core.config, now=WINDOW_ENDS)))
            thread.start()
            sleep(0.5)  # the run reaches the held case meanwhile
        thread.join(timeout=30)
    finally:
        runner.dispose()

    assert [result.closed for result in results] == [1]
    assert case_row(world.core, tracking).state == "assigned"
    assert case_row(world.core, other).state == "closed"


def test_the_run_reads_answered_cases_by_their_index(world):
    world.walk("complaint", "answered")

    def answered_select(statement: str) -> bool:
        return "FROM voice_cases" in statement and "answered_at <" in statement \
            and statement.lstrip().startswith("SELECT")

    with statements_sent(world.core.db.engine, answered_select) as statements:
        assert close(world, WINDOW_ENDS).closed == 1

    plan = plan_of(world.core.db, *statements[0])
    assert "ix_voice_cases_state_answered" in plan, plan


@pytest.mark.parametrize("reopen_days", [0, 1, 10, 365])
def test_the_instant_agrees_with_the_reopen_rule_day_by_day(world, reopen_days):
    """``answered_before`` at each local midnight over a month agrees with
    ``reopen_until`` for answers on each day around it."""
    core = world.core
    config = core.config.model_copy(update={"voice": core.config.voice.model_copy(
        update={"reopen_days": reopen_days})})
    from core.voice.actions import reopen_until

    with core.db.write.begin() as session:
        for offset in range(0, 30, 3):
            now = WINDOW_ENDS + timedelta(days=offset, hours=5)
            cutoff = closing.answered_before(session, config, now)
            assert cutoff is not None
            for day in range(-20, 4):
                answered = cutoff + timedelta(days=day, hours=3)
                assert (answered < cutoff) == (reopen_until(session, config, answered) <= now)


def answer_text(core, tracking: str) -> str:
    with core.db.read() as session:
        return session.scalars(select(Notification.body).where(
            Notification.kind == "voice_answered",
            Notification.body.contains(tracking))).one()


def test_the_answer_names_the_last_day_to_reopen_then_the_case_closes_unannounced(world):
    """What lets the closing go unannounced: the answer said until when."""
    tracking = world.walk("complaint", "answered")
    assert "2026/12/06م" in answer_text(world.core, tracking)  # the 10th working day

    holidays.add(world.core.db, [date(2026, 12, 6)], "test", world.core.config)
    later = world.walk("complaint", "answered")
    assert "2026/12/07م" in answer_text(world.core, later)


def test_the_english_answer_names_the_day_too(world):
    tracking = world.walk("complaint", "answered", lang="en")
    assert "send 0 by " in answer_text(world.core, tracking)
    assert "(6 Dec 2026) to reopen it." in answer_text(world.core, tracking)
