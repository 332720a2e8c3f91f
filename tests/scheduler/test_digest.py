"""The optional daily digest: once a day per department manager, at or after its time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import event, select

from core.messaging.models import Notification
from scheduler import Scheduler
from tests import factories as f
from tests.core.test_overdue import issue

RIYADH = ZoneInfo("Asia/Riyadh")


def at(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=RIYADH)


def digests(core) -> list[Notification]:
    with core.db.read() as session:
        return list(session.scalars(select(Notification).where(Notification.kind == "digest")
                                    .order_by(Notification.id)))


def enabled(settings):
    return settings.model_copy(update={"scheduler": settings.scheduler.model_copy(
        update={"digest_enabled": True})})


def test_the_digest_is_off_by_default(reference, settings):
    assert Scheduler(reference, settings, clock=lambda: at("2026-11-12", "09:00")) \
        .send_digests() == 0
    assert digests(reference) == []


def test_each_manager_gets_one_digest_a_day_after_its_time(reference, settings):
    reference.upsert_department("SECURITY", f.department(manager={"name": "فيصل"}))
    issue(reference, "4510001", "2026-11-01")  # overdue on the 12th
    issue(reference, "4510002", "2026-11-11")  # issued yesterday, awaiting
    now = {"at": at("2026-11-12", "07:59")}
    scheduler = Scheduler(reference, enabled(settings), clock=lambda: now["at"])

    assert scheduler.send_digests() == 0
    now["at"] = at("2026-11-12", "08:00")
    assert scheduler.send_digests() == 1  # SECURITY has no manager mobile
    assert Scheduler(reference, enabled(settings), clock=lambda: now["at"]) \
        .send_digests() == 0  # another scheduler, the same day
    now["at"] = at("2026-11-13", "08:30")
    assert scheduler.send_digests() == 1

    first = digests(reference)[0]
    assert (first.recipient, first.audience) == ("+966501112233", "staff")
    assert first.body == ("إدارة الحقوق، 1448/06/02هـ (2026/11/12م): 0 قيد الدراسة، "
                          "1 صدرت أمس، 2 بانتظار الرد، منها 1 متأخرة.")


def test_a_department_already_sent_today_is_not_counted_again(reference, settings):
    """The job runs every minute after its time: once the day's digest is queued, a run
    reads the outbox's cause keys, not the four counts of the transactions."""
    issue(reference, "4510003", "2026-11-01")
    scheduler = Scheduler(reference, enabled(settings), clock=lambda: at("2026-11-12", "08:01"))
    assert scheduler.send_digests() == 1
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = reference.db.write_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert scheduler.send_digests() == 0
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert statements
    assert not [s for s in statements if "count(" in s.lower()]
