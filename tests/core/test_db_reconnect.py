"""PostgreSQL restarted under a running core: connections are not pinged before each use
(core/platform/db.py), yet no inquiry fails and the next write goes through; a read that
meets a dead connection mid-statement is tried once more (core/platform/compiled.py); and
no connection goes back to the pool inside a transaction or in autocommit.

Marked ``postgres``: a cluster of its own (bench/_pg_cluster.py, as the chaos bed's), which
it crashes; the suite's stays up."""

from __future__ import annotations

import importlib.util
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event, text

from core.platform import migrate
from core.platform.db import Database
from core.platform.settings import REPO_ROOT
from core.transactions.inquiry import InquiryRequest
from gateway.bootstrap import build_core
from tests import factories as f
from tests.conftest import make_settings, require_peer

pytestmark = pytest.mark.postgres

NUMBER = "4471234"


def _pg_cluster():
    spec = importlib.util.spec_from_file_location("bench_pg_cluster",
                                                  REPO_ROOT / "bench" / "_pg_cluster.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def server():
    cluster = _pg_cluster()
    require_peer(*cluster.available())
    with cluster.ThrowawayPostgres(max_connections=60) as running:
        database = Database(running.url)
        migrate.upgrade(database.engine)
        database.dispose()
        yield running


@pytest.fixture
def core(server, tmp_path):
    core = build_core(make_settings(server.url, tmp_path), background_log=False)
    core.upsert_department("RIGHTS", f.department())
    core.record_event(f.registered(NUMBER))
    yield core
    core.close()


def _asked() -> InquiryRequest:
    return InquiryRequest(channel="sms", number_text=NUMBER, mobile=f.MOBILE_E164,
                          origin=f.MOBILE_E164, lang="ar")


def _idle_and_transactional(core) -> None:
    """Every pooled connection: no transaction open, transactions on (not autocommit)."""
    from psycopg.pq import TransactionStatus

    pool = core.db.engine.pool
    checked_in = list(pool._pool.queue)  # the connections waiting in the pool
    assert checked_in
    for record in checked_in:
        driver = record.dbapi_connection
        if driver is None:  # invalidated, reconnects on checkout
            continue
        assert driver.pgconn.transaction_status == TransactionStatus.IDLE
        assert driver.autocommit is False


def _pooled(core, count: int) -> None:
    """``count`` connections opened and back in the pool."""
    held = [core.db.engine.raw_connection() for _ in range(count)]
    for connection in held:
        connection.close()


def test_a_restart_costs_no_inquiry_and_no_write(server, core):
    _pooled(core, 4)
    with ThreadPoolExecutor(4) as threads:
        assert all(answer.found for answer in threads.map(
            lambda _: core.inquire(_asked()), range(16)))
    _idle_and_transactional(core)
    assert not core.db.engine.pool._pre_ping

    server.restart(down_seconds=1.0)

    # Every pooled connection is dead; none of them fails a request (one read tried
    # once more would not be enough: its second connection is as dead as its first).
    for _ in range(5):
        assert core.inquire(_asked()).found
    with ThreadPoolExecutor(4) as threads:
        assert all(answer.found for answer in threads.map(
            lambda _: core.inquire(_asked()), range(16)))
    core.record_event(f.event("referred", NUMBER, "2026-11-23T10:00:00+03:00",
                              department="RIGHTS"))
    with core.db.read() as session:
        assert session.execute(text("SELECT count(*) FROM transaction_events")).scalar_one() \
            == 2
    _idle_and_transactional(core)


def test_a_read_that_meets_a_dead_connection_is_tried_once_more(server, core):
    assert core.inquire(_asked()).found  # a pooled connection
    killed: list[int] = []

    def kill_once(dbapi_connection, _record, _proxy):
        # After the pool's own check: the server ends this connection just after its
        # checkout, as a restart between checkout and statement would.
        if killed:
            return
        killed.append(dbapi_connection.info.backend_pid)
        with Database(server.url).engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"),
                          {"pid": killed[0]})

    event.listen(core.db.engine.pool, "checkout", kill_once)
    try:
        assert core.inquire(_asked()).found
    finally:
        event.remove(core.db.engine.pool, "checkout", kill_once)
    assert len(killed) == 1
    _idle_and_transactional(core)
