from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.directory.models import Department
from core.identity.national_id import validate_national_id
from core.identity.phones import normalize_mobile
from core.messaging.models import Notification
from core.transactions.demo import (
    DEMO_MOBILE,
    DEMO_NATIONAL_ID,
    DEMO_NUMBER,
    NOT_SENT,
    STAGES,
    load_demo,
    plan_demo,
)
from core.transactions.inquiry import InquiryRequest
from core.transactions.models import Transaction, TransactionEvent

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
LOOKUP = re.compile(r"^\s+(\d{7})\s+(\d{10})\s+(05\d{8})\s+(.+)$", re.MULTILINE)


def statuses(core) -> dict[str, int]:
    with core.db.read() as session:
        return dict(session.execute(select(Transaction.status, func.count())
                                    .group_by(Transaction.status)).all())


def test_the_plan_is_a_function_of_the_seed():
    assert plan_demo(seed=7, transactions=40, now=NOW) == \
        plan_demo(seed=7, transactions=40, now=NOW)
    assert plan_demo(seed=7, transactions=40, now=NOW) != \
        plan_demo(seed=8, transactions=40, now=NOW)


def test_the_plan_covers_every_stage_even_when_small():
    plan = plan_demo(seed=7, transactions=len(STAGES) + 1, now=NOW)

    assert set(plan.stages()) == set(STAGES)


def test_the_plan_keeps_the_stage_mix():
    stages = plan_demo(seed=74747, transactions=300, now=NOW).stages()

    for stage, share in STAGES.items():
        assert abs(stages[stage] - 3 * share) <= 2, (stage, stages[stage])


def test_applicants_have_valid_ids_and_saudi_mobiles():
    plan = plan_demo(seed=7, transactions=200, now=NOW)
    ids = [txn.national_id for txn in plan.transactions]

    assert len(set(ids)) == len(ids)
    assert all(validate_national_id(value) == value and value[0] in "12" for value in ids)
    assert any(value.startswith("2") for value in ids)
    for txn in plan.transactions:
        applicant = txn.events[0]["transaction"]["applicant"]
        if txn.mobile:
            assert re.fullmatch(r"05\d{8}", txn.mobile)
            assert normalize_mobile(txn.mobile).startswith("+9665")
        assert txn.mobile or applicant.get("email", "").endswith("@example.com")


def test_events_are_in_the_past_and_in_order():
    for txn in plan_demo(seed=7, transactions=200, now=NOW).transactions:
        times = [datetime.fromisoformat(event["occurred_at"]) for event in txn.events]
        assert times == sorted(times)
        assert len(set(times)) == len(times)
        assert times[-1] < NOW
        assert times[0] > NOW - timedelta(days=91)


def test_the_first_transaction_is_the_fixed_one():
    first = plan_demo(seed=99, transactions=3, now=NOW).transactions[0]

    assert (first.number, first.national_id, first.mobile, first.stage) == \
        (DEMO_NUMBER, DEMO_NATIONAL_ID, DEMO_MOBILE, "assigned")


def test_the_default_demo_loads_with_every_status(core):
    # How long it takes is a benchmark's business (bench/README.md), not a test's.
    report = load_demo(core)

    assert sum(statuses(core).values()) == 300
    assert set(statuses(core)) == {"registered", "referred", "assigned", "issued",
                                   "reply_received", "closed"}
    assert "300 transactions" in report


def test_some_transactions_are_overdue_and_others_still_in_time(core):
    now = datetime.now(UTC)
    load_demo(core, transactions=60, seed=3)

    with core.db.read() as session:
        waiting = session.execute(
            select(Transaction.issued_at, Department.reply_days)
            .join(Department, Department.id == Transaction.department_id)
            .where(Transaction.status == "issued", Transaction.reply_expected.is_(True))
        ).all()
    late = [issued for issued, days in waiting
            if issued < now - timedelta(days=days or core.config.scheduler.overdue_reply_days)]
    assert len(late) >= 3
    assert len(waiting) - len(late) >= 3
    assert any(issued < now - timedelta(days=10) for issued in late)


def test_the_demo_notifications_are_never_sent(core):
    load_demo(core, transactions=30, seed=3)

    with core.db.read() as session:
        rows = session.execute(select(Notification.status, Notification.last_error)).all()
    assert rows
    assert set(rows) == {("expired", NOT_SENT)}


def test_the_demo_history_is_in_order_per_transaction(core):
    load_demo(core, transactions=30, seed=3)

    with core.db.read() as session:
        history = session.execute(
            select(TransactionEvent.transaction_id, TransactionEvent.occurred_at)
            .order_by(TransactionEvent.id)).all()
    last: dict[int, datetime] = {}
    for txn_id, at in history:
        assert at >= last.get(txn_id, at)
        assert at < datetime.now(UTC)
        last[txn_id] = at


def test_the_lookups_in_the_report_answer(core):
    report = load_demo(core, transactions=40, seed=11)

    lookups = LOOKUP.findall(report)
    assert len(lookups) == 4
    assert lookups[0][:3] == (DEMO_NUMBER, DEMO_NATIONAL_ID, DEMO_MOBILE)
    assert len({stage for *_, stage in lookups}) == 4
    seen = []
    for number, national_id, mobile, _ in lookups:
        by_id = core.inquire(InquiryRequest(channel="kiosk", number_text=number,
                                            national_id=national_id))
        by_mobile = core.inquire(InquiryRequest(channel="sms", number_text=number,
                                                mobile=mobile))
        assert by_id.found and by_mobile.found
        seen.append(by_id.transaction.status)
    assert seen[0] == "assigned"
    assert len(set(seen)) == 4


def test_if_empty_leaves_a_database_with_transactions_alone(core):
    load_demo(core, transactions=10, seed=3)

    report = load_demo(core, transactions=10, seed=4, if_empty=True)

    assert "not loaded" in report and "10 transactions" in report
    assert sum(statuses(core).values()) == 10


def test_loading_twice_is_refused_without_change(core):
    load_demo(core, transactions=10, seed=3)

    report = load_demo(core, transactions=10, seed=3)

    assert f"transaction {DEMO_NUMBER} already exists" in report
    assert sum(statuses(core).values()) == 10


@pytest.mark.parametrize("count", [1, 2])
def test_a_tiny_demo_loads(core, count):
    load_demo(core, transactions=count)

    assert sum(statuses(core).values()) == count
