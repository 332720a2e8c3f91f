"""A read replica (``database.read_url``): inquiries and the dashboards' pages read from
it while it is at most ``read_max_lag_seconds`` behind; a transaction registered a
moment ago is still found; a replica that is down, or not a replica, is not used.

The replica is the test bed's streaming standby (.ci/postgres.sh start-replica), made to
lag on purpose by pausing its replay (``pg_wal_replay_pause``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from core.access.actors import LEADERSHIP, Actor
from core.dashboards.transactions import Period
from core.platform.settings import ConfigError
from core.transactions.answer import Outcome
from core.transactions.inquiry import InquiryRequest
from gateway.app import create_app
from gateway.bootstrap import build_core
from gateway.settings import load_settings
from tests import factories as f
from tests.conftest import make_settings
from tests.processes import free_port

NUMBER = "4471234"
LEADER = Actor(1, "amir", "Amir", LEADERSHIP, None)
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


def ask(core, number: str = NUMBER):
    return core.inquire(InquiryRequest(channel="sms", number_text=number,
                                       mobile=f.MOBILE))


# --- where a replica may be named ------------------------------------------------------

@pytest.mark.parametrize(("database", "refusal"), [
    ({"url": "sqlite:///var/x.db", "read_url": "postgresql+psycopg://r/gw"},
     "read_url names a read replica, which needs PostgreSQL"),
    ({"url": "sqlite:///var/x.db", "pooler": "pgbouncer"},
     "database.pooler: pgbouncer pools PostgreSQL connections"),
    ({"url": "postgresql+psycopg://p/gw", "read_url": "sqlite:///var/r.db"},
     "database.read_url must be a postgresql URL"),
])
def test_a_replica_or_a_pooler_without_postgresql_is_refused(database, refusal):
    with pytest.raises(ConfigError, match=refusal):
        load_settings(None, database=database)


def test_an_empty_read_url_names_no_replica():
    settings = load_settings(None, database={"url": "postgresql+psycopg://p/gw",
                                             "read_url": ""})
    assert settings.database.read_url is None


# --- on PostgreSQL ---------------------------------------------------------------------

def _position(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


@pytest.fixture
def replica(core, replica_url) -> Iterator[Engine]:
    """The standby, replaying, caught up with the primary; left replaying."""
    engine = create_engine(replica_url, isolation_level="AUTOCOMMIT")

    def caught_up() -> None:
        # The test cluster commits asynchronously (synchronous_commit = off): a commit the
        # primary already shows may not be flushed, nor streamed, yet. A synchronous
        # commit that wrote something (a temporary table's catalog rows) flushes the WAL
        # up to it.
        with core.db.engine.begin() as connection:
            connection.execute(text("SET LOCAL synchronous_commit = on"))
            connection.execute(text("CREATE TEMPORARY TABLE flushed () ON COMMIT DROP"))
        target = _position(core.db.engine,
                           "SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '0/0')")
        deadline = time.monotonic() + 30
        while _position(engine, "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')") \
                < target:
            assert time.monotonic() < deadline, "the replica did not catch up in 30 s"
            time.sleep(0.02)

    with engine.connect() as connection:
        connection.execute(text("SELECT pg_wal_replay_resume()"))
    engine.caught_up = caught_up  # type: ignore[attr-defined]
    caught_up()
    yield engine
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_wal_replay_resume()"))
    caught_up()
    engine.dispose()


def fresh(*cores) -> None:
    """Wait until each core's probe has seen the replica caught up (a probe made as it
    replays what was just written finds it a moment behind)."""
    deadline = time.monotonic() + 10
    while not all(core.db.replica.usable() for core in cores):
        assert time.monotonic() < deadline, [core.db.replica.verdict for core in cores]
        time.sleep(0.05)


def pause(replica: Engine) -> None:
    """Stop the replica's replay, and wait until it has stopped (the call only asks)."""
    with replica.connect() as connection:
        connection.execute(text("SELECT pg_wal_replay_pause()"))
        deadline = time.monotonic() + 10
        while connection.execute(text("SELECT pg_get_wal_replay_pause_state()")).scalar() \
                != "paused":
            assert time.monotonic() < deadline, "the replica's replay did not pause"
            time.sleep(0.01)


@pytest.fixture
def cores(database_url, tmp_path) -> Iterator[list]:
    """Cores built by a test (``cores.append``), closed after it."""
    built: list = []
    yield built
    for core in built:
        core.close()


def core_reading(cores, database_url, tmp_path, read_url: str, max_lag: float, *,
                 pooler: str = "none", url: str | None = None):
    settings = make_settings(database_url, tmp_path, database={
        "url": url or database_url, "read_url": read_url, "read_max_lag_seconds": max_lag,
        "pooler": pooler})
    core = build_core(settings, background_log=False)
    cores.append(core)
    return core


def through_pgbouncer(pgbouncer_url: str) -> tuple[str, str]:
    """PgBouncer's URLs of the primary and of the replica (its database
    gateway_test_replica, .ci/postgres.sh start-pgbouncer)."""
    primary = make_url(pgbouncer_url)
    replica = primary.set(database=f"{primary.database}_replica")
    return (primary.render_as_string(hide_password=False),
            replica.render_as_string(hide_password=False))


@pytest.mark.postgres
@pytest.mark.parametrize("via", ["direct", "pgbouncer"])
def test_a_transaction_registered_a_moment_ago_is_found_though_the_replica_lags(
        core, replica, replica_url, cores, database_url, tmp_path, via, request):
    if via == "direct":
        reading = core_reading(cores, database_url, tmp_path, replica_url, 60)
    else:
        primary, behind = through_pgbouncer(request.getfixturevalue("pgbouncer_url"))
        reading = core_reading(cores, database_url, tmp_path, behind, 60,
                               pooler="pgbouncer", url=primary)
    fresh(reading)
    pause(replica)

    core.record_event(f.registered(NUMBER))

    with replica.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM transactions")).scalar() == 0
    assert reading.db.replica.usable()  # within its 60 s: asked first
    assert ask(reading).outcome is Outcome.FOUND  # then on the primary


@pytest.mark.postgres
def test_a_found_answer_is_at_most_read_max_lag_behind(
        core, replica, replica_url, cores, database_url, tmp_path):
    core.upsert_agency("MOI", f.agency())
    core.record_event(f.registered(NUMBER))
    replica.caught_up()
    patient = core_reading(cores, database_url, tmp_path, replica_url, 60)
    strict = core_reading(cores, database_url, tmp_path, replica_url, 0.4)
    fresh(patient, strict)
    pause(replica)

    core.record_event(f.event("issued", NUMBER, "2026-11-24T10:00:00+03:00",
                              outgoing_number="OUT-1", destination_agency="MOI"))
    time.sleep(0.6)

    # The replica still says "registered": within 60 s, the patient core reads it there;
    # the strict one has seen it more than 0.4 s behind and asks the primary.
    assert ask(patient).transaction.status == "registered"
    assert not strict.db.replica.usable()
    assert strict.db.replica.verdict == "more than 0.4 s behind"
    assert ask(strict).transaction.status == "issued"


@pytest.mark.postgres
def test_the_dashboards_read_from_the_replica(core, replica, replica_url, cores,
                                              database_url, tmp_path):
    core.upsert_department("RIGHTS", f.department())
    reading = core_reading(cores, database_url, tmp_path, replica_url, 60)
    replica.caught_up()
    fresh(reading)
    pause(replica)

    core.record_event(f.registered(NUMBER))
    core.record_event(f.event("referred", NUMBER, "2026-11-23T10:00:00+03:00",
                              department="RIGHTS"))

    def received(on) -> list[str]:
        return [row.number for row in on.transaction_dashboard.transaction_list(
            LEADER, "received", NOVEMBER)]

    assert received(reading) == [], reading.db.replica.verdict  # the replica's page
    assert received(core) == [NUMBER]  # the primary's


@pytest.mark.postgres
def test_a_replica_that_does_not_answer_is_not_used(core, cores, database_url, tmp_path):
    down = make_url(database_url).set(port=free_port()).render_as_string(hide_password=False)
    reading = core_reading(cores, database_url, tmp_path, down, 60)
    core.record_event(f.registered(NUMBER))

    assert ask(reading).outcome is Outcome.FOUND
    assert reading.db.replica.verdict.startswith("probe failed")
    assert reading.db.replica_lookup() is reading.db.lookup


@pytest.mark.postgres
def test_a_primary_named_as_the_replica_is_not_used(core, cores, database_url, tmp_path):
    reading = core_reading(cores, database_url, tmp_path, database_url, 60)

    assert not reading.db.replica.usable()
    assert reading.db.replica.verdict == "database.read_url is not a replica (not in recovery)"
    assert reading.db.replica_lookup() is reading.db.lookup


@pytest.mark.postgres
def test_a_replica_failing_in_a_read_is_left_and_the_read_done_on_the_primary(
        core, replica, replica_url, cores, database_url, tmp_path):
    reading = core_reading(cores, database_url, tmp_path, replica_url, 60)
    core.record_event(f.registered(NUMBER))
    replica.caught_up()
    fresh(reading)
    driver_error = reading.db.engine.dialect.loaded_dbapi.OperationalError

    def read(engine):
        if engine is reading.db.replica.engine:
            raise driver_error("server closed the connection unexpectedly")
        return "primary"

    assert reading.db.read_behind(read) == ("primary", False)
    # Not used until the next probe (within 0.5 s) finds it caught up again.
    assert reading.db.replica.lag() is None
    assert reading.db.replica.verdict == "a read failed (OperationalError)"


@pytest.mark.postgres
def test_healthz_details_say_whether_the_replica_is_read_and_how_far_behind(
        core, replica, replica_url, cores, database_url, tmp_path):
    reading = core_reading(cores, database_url, tmp_path, replica_url, 60)
    fresh(reading)
    app = create_app(make_settings(database_url, tmp_path), reading)

    shown = app.test_client().get("/healthz").get_json()["replica"]

    assert shown["used"] is True and shown["verdict"] == "caught up"
    assert 0 <= shown["lag_seconds"] < 60
    without = create_app(make_settings(database_url, tmp_path), core)
    assert "replica" not in without.test_client().get("/healthz").get_json()
