"""The transactions' performance figures against a hand-built dataset whose right
answers are worked out below: period edges at local midnight, the overdue edge day,
average and 90th percentile, inquiries by channel and by local hour, who sees what.

Runs on SQLite and, with GATEWAY_TEST_DATABASE_URL, on PostgreSQL (the ``postgres`` copy).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from core.access.actors import AGENCY_LEADER, COORDINATOR, LEADERSHIP, Actor
from core.dashboards.transactions import Period
from core.directory.models import Agency, Department
from core.platform.errors import Forbidden, InvalidRequest
from core.transactions.models import InquiryLog, Transaction
from tests import factories as f

RIYADH = ZoneInfo("Asia/Riyadh")
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=RIYADH)
LEADER = Actor(1, "amir", "Amir", LEADERSHIP, None)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=RIYADH)


@pytest.fixture
def dataset(core):
    """RIGHTS (10 calendar days to reply) and LANDS (5), agencies MOI and MOH."""
    core.upsert_department("RIGHTS", f.department(reply_days=10, reply_day_count="calendar"))
    core.upsert_department("LANDS", f.department(name_en="Lands", name_ar="الأراضي",
                                                 reply_days=5, reply_day_count="calendar"))
    core.upsert_agency("MOI", f.agency())
    core.upsert_agency("MOH", f.agency(name_en="Ministry of Health", name_ar="وزارة الصحة"))
    with core.db.write.begin() as session:
        ids = {code: session.scalar(select(Department.id).where(Department.code == code))
               for code in ("RIGHTS", "LANDS")}
        agencies = {code: session.scalar(select(Agency.id).where(Agency.code == code))
                    for code in ("MOI", "MOH")}

        def txn(number, department, registered, issued=None, status="registered",
                reply=False, agency=None):
            session.execute(insert(Transaction).values(
                number=number, status=status, registered_at=at(registered),
                issued_at=at(issued) if issued else None, reply_expected=reply,
                department_id=ids[department] if department else None,
                destination_agency_id=agencies[agency] if agency else None,
                outgoing_number=f"OUT-{number}" if issued else None,
                last_event_at=at(issued or registered)))

        # RIGHTS: received T1 T2 T3 T5 (4); issued T1 1d, T2 2d, T3 11d, T4 10d (4):
        # average 6 days, 90th percentile the 4th shortest, 11; awaiting T1 T3; overdue
        # T1 (due 11-13); T3 issued 11-21 is due 12-01, overdue only from 12-02.
        txn("T1", "RIGHTS", "2026-11-02T10:00", "2026-11-03T10:00", "issued", True, "MOI")
        txn("T2", "RIGHTS", "2026-11-05T10:00", "2026-11-07T10:00", "closed", False, "MOI")
        txn("T3", "RIGHTS", "2026-11-10T10:00", "2026-11-21T10:00", "issued", True, "MOH")
        txn("T4", "RIGHTS", "2026-10-25T10:00", "2026-11-04T10:00", "reply_received",
            True, "MOI")
        txn("T5", "RIGHTS", "2026-11-30T23:30")  # the last local minutes are in
        txn("T6", "RIGHTS", "2026-12-01T00:30")  # the next local day is out
        # LANDS: L1 registered at the first local midnight, issued half a day later,
        # overdue (due 11-06); L2 long overdue, to no agency, outside the period.
        txn("L1", "LANDS", "2026-11-01T00:00", "2026-11-01T12:00", "issued", True, "MOH")
        txn("L2", "LANDS", "2026-09-01T10:00", "2026-09-02T10:00", "issued", True, None)
        for when, channel in (("2026-11-10T09:30", "sms"), ("2026-11-10T09:59", "sms"),
                              ("2026-11-11T00:10", "ivr"), ("2026-10-31T23:59", "kiosk"),
                              ("2026-11-30T23:59", "portal")):
            session.execute(insert(InquiryLog).values(
                at=at(when), channel=channel, outcome="found", requester_kind="mobile",
                requester_key="k" * 64))
    return core, ids


def _figures(core, actor=LEADER, **kwargs):
    return core.transaction_dashboard.figures(actor, NOVEMBER, now=NOW, **kwargs)


def test_every_figure_per_department(dataset):
    core, _ids = dataset
    found = _figures(core)
    rows = {row.code: row for row in found.departments}
    assert set(rows) == {"RIGHTS", "LANDS"}  # none without a department: that row is hidden
    rights, lands = rows["RIGHTS"], rows["LANDS"]
    assert (rights.received, rights.issued, rights.awaiting_reply, rights.overdue) == (4, 4, 2, 1)
    assert (rights.average_days, rights.p90_days) == (6.0, 11.0)
    assert (lands.received, lands.issued, lands.awaiting_reply, lands.overdue) == (1, 1, 2, 2)
    assert (lands.average_days, lands.p90_days) == (0.5, 0.5)
    assert rights.name is not None and rights.name.en == "Rights Department"


def test_outgoing_overdue_by_agency(dataset):
    core, _ids = dataset
    assert [(row.code, row.overdue) for row in _figures(core).overdue_by_agency] == [
        ("-", 1), ("MOH", 1), ("MOI", 1)]


def test_the_overdue_edge_moves_with_the_day(dataset):
    core, _ids = dataset
    later = core.transaction_dashboard.figures(LEADER, NOVEMBER,
                                               now=datetime(2026, 12, 2, 9, 0, tzinfo=RIYADH))
    assert {row.code: row.overdue for row in later.departments}["RIGHTS"] == 2  # T3 too


def test_inquiries_by_channel_and_local_hour(dataset):
    core, _ids = dataset
    found = _figures(core)
    assert found.inquiries_by_channel == {"ivr": 1, "portal": 1, "sms": 2}
    hours = found.inquiries_by_hour
    assert len(hours) == 24 and sum(hours) == 4
    assert (hours[0], hours[9], hours[23]) == (1, 2, 1)


def test_a_department_s_staff_see_their_department_only(dataset):
    core, ids = dataset
    staff = Actor(2, "clerk", "Clerk", COORDINATOR, 9, department_id=ids["LANDS"])
    found = _figures(core, staff)
    assert [row.code for row in found.departments] == ["LANDS"]
    assert [(row.code, row.overdue) for row in found.overdue_by_agency] == [("-", 1), ("MOH", 1)]
    numbers = [row.number for row in core.transaction_dashboard.transaction_list(
        staff, "overdue", NOVEMBER, now=NOW)]
    assert sorted(numbers) == ["L1", "L2"]
    with pytest.raises(InvalidRequest):  # another department is as if it did not exist
        _figures(core, staff, department="RIGHTS")


def test_staff_of_no_department_see_no_figures(dataset):
    core, _ids = dataset
    for role in (AGENCY_LEADER, COORDINATOR):
        with pytest.raises(Forbidden):
            _figures(core, Actor(3, "x", "X", role, 9))


def test_the_lists_behind_the_figures(dataset):
    core, _ids = dataset
    board = core.transaction_dashboard

    def numbers(which, **kwargs):
        return [row.number for row in board.transaction_list(LEADER, which, NOVEMBER,
                                                             now=NOW, **kwargs)]

    assert sorted(numbers("received", department="RIGHTS")) == ["T1", "T2", "T3", "T5"]
    assert numbers("issued", department="RIGHTS") == ["T3", "T2", "T4", "T1"]  # newest first
    assert sorted(numbers("awaiting")) == ["L1", "L2", "T1", "T3"]
    assert sorted(numbers("overdue")) == ["L1", "L2", "T1"]
    assert numbers("overdue", agency="MOI") == ["T1"]
    assert numbers("overdue", agency="-") == ["L2"]
    with pytest.raises(InvalidRequest):
        numbers("everything")


def test_a_backwards_or_endless_period_is_refused():
    with pytest.raises(InvalidRequest):
        Period(date(2026, 11, 2), date(2026, 11, 1))
    with pytest.raises(InvalidRequest):
        Period(date(2000, 1, 1), date(2026, 1, 1))


def test_an_empty_database_has_zero_figures_and_no_times(core):
    found = core.transaction_dashboard.figures(LEADER, NOVEMBER, now=NOW)
    assert found.overdue_by_agency == [] and found.inquiries_by_channel == {}
    assert found.inquiries_by_hour == [0] * 24
    assert all(row.average_days is None for row in found.departments)


@pytest.mark.postgres
def test_every_figure_on_postgres(dataset):
    test_every_figure_per_department(dataset)
    test_inquiries_by_channel_and_local_hour(dataset)
    test_the_lists_behind_the_figures(dataset)
