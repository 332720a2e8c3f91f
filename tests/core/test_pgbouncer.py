"""The gateway through PgBouncer in transaction mode (``database.pooler: pgbouncer``):
more client connections than PgBouncer has server connections, so one client's
consecutive transactions run on different server connections, and nothing may rely on
what a server connection remembers (psycopg's prepared statements, which PgBouncer before
1.21 does not carry over: "prepared statement "_pg3_0" does not exist" / "already
exists" without the setting).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from core.transactions.answer import Outcome
from core.transactions.inquiry import InquiryRequest
from gateway.bootstrap import build_core
from tests import factories as f
from tests.conftest import make_settings

pytestmark = pytest.mark.postgres

THREADS = 16
ROUNDS = 25


@pytest.fixture
def bounced(core, pgbouncer_url, database_url, tmp_path):
    """A core whose database is reached through PgBouncer, as an operator sets it up."""
    settings = make_settings(database_url, tmp_path, database={
        "url": pgbouncer_url, "pooler": "pgbouncer", "pool_size": THREADS},
    )
    bounced = build_core(settings, background_log=False)
    yield bounced
    bounced.close()


def test_inquiries_and_events_from_many_connections_through_pgbouncer(bounced):
    bounced.upsert_department("RIGHTS", f.department())
    numbers = [f"44{n:05d}" for n in range(THREADS)]
    for number in numbers:
        bounced.record_event(f.registered(number))

    def client(number: str) -> list[Outcome]:
        outcomes = []
        referred = f.event("referred", number, "2026-11-23T10:00:00+03:00",
                           department="RIGHTS")
        for _round in range(ROUNDS):
            # The same statements again and again, each in a transaction of its own, on
            # whichever server connection PgBouncer gives: the records system delivering
            # an event again (applied once, then a duplicate), and an inquiry.
            bounced.record_event(referred)
            outcomes.append(bounced.inquire(InquiryRequest(
                channel="sms", number_text=number, mobile=f.MOBILE)).outcome)
        return outcomes

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = [o for found in pool.map(client, numbers) for o in found]

    assert outcomes == [Outcome.FOUND] * (THREADS * ROUNDS)
    answer = bounced.inquire(InquiryRequest(channel="sms", number_text=numbers[0],
                                            mobile=f.MOBILE))
    assert [stage.type for stage in answer.transaction.timeline] == ["registered", "referred"]
