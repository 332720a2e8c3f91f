"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when
GATEWAY_TEST_DATABASE_URL is set, as .ci/run does), the core, the Flask app, tokens."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from sqlalchemy import delete

from core.access.tokens import create_token
from core.platform import migrate
from core.platform.db import Database
from core.platform.ratelimit import DatabaseFailureCounts
from core.schema import Base
from gateway.app import create_app
from gateway.bootstrap import build_core
from gateway.settings import Settings, load_settings

NATIONAL_ID_KEY = "test-key-not-secret"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_peer(available: bool, what: str) -> None:
    """Skip a test whose peer is missing on a laptop; in CI a missing peer is a failure."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is missing, and CI must not skip it")
    pytest.skip(f"{what} is not available here")


def _reuse_url_builders() -> None:
    """Each test makes its own Flask app, and werkzeug writes, parses and compiles Python
    source for the two URL builders of each of the app's ~110 rules: two thirds of the
    app's making (~20 ms of CPU per app, ~900 apps per pass). The builders depend only on
    the rule's text, its parts and defaults: made once per distinct rule, they are the
    same functions every later app would compile. A rule whose defaults go through a
    converter at compile time, or a werkzeug without these internals, compiles as usual."""
    from werkzeug.routing.rules import Rule

    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None or getattr(compile_builder, "reused", False):
        return
    made: dict[tuple, object] = {}

    def reused(self, append_unknown: bool = True):
        defaults = self.defaults or {}
        trace = getattr(self, "_trace", None)
        if trace is None or any(dynamic and name in defaults for dynamic, name in trace):
            return compile_builder(self, append_unknown)
        try:
            key = (self.rule, tuple(trace), tuple(sorted(defaults.items())), append_unknown)
            builder = made.get(key)
        except TypeError:  # a default that cannot be a key
            return compile_builder(self, append_unknown)
        if builder is None:
            builder = made[key] = compile_builder(self, append_unknown)
        return builder

    reused.reused = True
    Rule._compile_builder = reused


_reuse_url_builders()


class Clock:
    """A monotonic clock the test moves by hand (``clock.now += 61``)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("GATEWAY_TEST_DATABASE_URL")
    if url:
        database = Database(url)
        with database.engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        database.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'gateway.db'}"
    database = Database(url)
    migrate.upgrade(database.engine)
    database.dispose()
    return url


def peer_url(variable: str, what: str) -> str:
    """A peer of the PostgreSQL pass named by ``variable`` (.ci/run sets it from
    .ci/postgres.sh start-replica, start-pgbouncer): skipped without it on a laptop,
    a failure under CI=true."""
    url = os.environ.get(variable, "")
    require_peer(url.startswith("postgresql"), f"{what} ({variable})")
    return url


@pytest.fixture(scope="session")
def replica_url() -> str:
    """A streaming replica of the test database (.ci/postgres.sh start-replica)."""
    return peer_url("GATEWAY_TEST_REPLICA_URL", "a streaming replica of the test database")


@pytest.fixture(scope="session")
def pgbouncer_url() -> str:
    """PgBouncer in transaction mode before the test database (.ci/postgres.sh
    start-pgbouncer)."""
    return peer_url("GATEWAY_TEST_PGBOUNCER_URL", "PgBouncer before the test database")


def make_settings(database_url: str, var_dir: Path, **overrides) -> Settings:
    # Quiet hours off unless a test turns them on: the suite must not pass by day and
    # fail by night (22:00-07:00 in Riyadh is 19:00-04:00 UTC). Their own tests set them.
    sms = overrides.pop("sms", {})
    sms = {**sms, "quiet_hours": {"enabled": False, **sms.get("quiet_hours", {})}}
    database = {"url": database_url, **overrides.pop("database", {})}
    return load_settings(
        None, database=database, var_dir=str(var_dir),
        security={"national_id_key": NATIONAL_ID_KEY},
        gateway={"secret_key": "test-secret"}, sms=sms, **overrides,
    )


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return make_settings(database_url, tmp_path)


# The failure counters the tests make (``DatabaseFailureCounts``), closed before the test
# database is emptied: one left open writes the failures it held behind into the next
# test's rows (CI once: a test found two counters more than it had made).
_FAILURE_COUNTS: list[DatabaseFailureCounts] = []


@pytest.fixture(scope="session", autouse=True)
def _failure_counts_registered():
    original = DatabaseFailureCounts.__init__

    def registered(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        _FAILURE_COUNTS.append(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseFailureCounts, "__init__", registered)
        yield


def _close_failure_counts() -> None:
    """Write what each one still holds, and stop its writer (it touches the database only
    when it holds something)."""
    while _FAILURE_COUNTS:
        counts = _FAILURE_COUNTS.pop()
        with contextlib.suppress(Exception):  # its database gone (a test's own): no matter
            counts.close()


class _Emptier:
    """Empties every table of the test database after a test: one engine for the whole
    session, so that neither its statements nor (on PostgreSQL) its connection are made
    again for each test. On SQLite its idle connection keeps the database open between
    tests, which spares each test the checkpoint SQLite runs when the last connection
    closes; its ``Database`` checkpoints in the background, as the gateway's does."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.database = Database(url)

    def empty(self) -> None:
        _close_failure_counts()
        with self.database.engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(delete(table))

    def close(self) -> None:
        self.database.dispose()


@pytest.fixture(scope="session")
def _emptier(database_url):
    emptier = _Emptier(database_url)
    yield emptier
    emptier.close()


@pytest.fixture
def core(settings, _emptier):
    core = build_core(settings, background_log=False)
    yield core
    core.close()
    if settings.database.url == _emptier.url:
        _emptier.empty()
    else:  # a test's own settings on another database
        emptier = _Emptier(settings.database.url)
        emptier.empty()
        emptier.close()


@pytest.fixture
def app(settings, core):
    app = create_app(settings, core)
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def _token(core, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(core.db.write, role, f'test-{role}')}"}


@pytest.fixture
def records_auth(core) -> dict[str, str]:
    return _token(core, "records")


@pytest.fixture
def kiosk_auth(core) -> dict[str, str]:
    return _token(core, "kiosk")


@pytest.fixture
def staff_auth(core) -> dict[str, str]:
    return _token(core, "staff")


# --- the staff pages (simulator, message history, kiosks): a signed-in test client ---


def csrf_token(client, path: str = "/simulator/login") -> str:
    """The CSRF token in the form at ``path``, to post back as a browser would."""
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get(path).get_data(as_text=True))
    assert match, f"{path} carries a CSRF token"
    return match.group(1)


def sign_in(client, token: str, lang: str = "ar"):
    """Post the staff sign-in form with ``token``; the response (303 when signed in)."""
    return client.post("/simulator/login", data={
        "csrf_token": csrf_token(client), "lang": lang, "token": token})


@pytest.fixture
def staff_token(core) -> str:
    return create_token(core.db.write, "staff", "trainer")


@pytest.fixture
def staff_client(client, staff_token):
    """``client`` signed in to the staff pages with ``staff_token``."""
    assert sign_in(client, staff_token).status_code == 303
    return client


ON_POSTGRES = os.environ.get("GATEWAY_TEST_DATABASE_URL", "").startswith("postgresql")


# The fixtures that read the databases .ci/run names: GATEWAY_TEST_DATABASE_URL, and the
# replica and PgBouncer of the PostgreSQL pass (GATEWAY_TEST_REPLICA_URL, ..._PGBOUNCER_URL).
DATABASE_FIXTURES = frozenset({"database_url", "replica_url", "pgbouncer_url"})


def uses_database(item) -> bool:
    """Whether the test reaches a database under test: one of ``DATABASE_FIXTURES`` is in
    its fixture closure."""
    return not DATABASE_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` run in the PostgreSQL pass (GATEWAY_TEST_DATABASE_URL,
    as .ci/run sets it) and are deselected, not skipped, in the SQLite pass: nothing
    skips under CI=true. The PostgreSQL pass runs only the tests that use the database:
    the others (parsers, codecs, charts, widgets...) would do there exactly what they
    did in the SQLite pass."""
    if ON_POSTGRES:
        keep = [item for item in items
                if uses_database(item) or item.get_closest_marker("postgres")]
    else:
        keep = [item for item in items if not item.get_closest_marker("postgres")]
    if len(keep) < len(items):
        kept = set(map(id, keep))
        config.hook.pytest_deselected(items=[item for item in items if id(item) not in kept])
        items[:] = keep


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef, request):
    """A fixture on the database, fetched by a test that does not ask for it by name
    (``request.getfixturevalue``), would escape the PostgreSQL pass: refuse it."""
    if request.scope == "function" and not DATABASE_FIXTURES.isdisjoint(fixturedef.argnames) \
            and not uses_database(request.node):
        pytest.fail(f"{request.node.nodeid} fetches the database fixture "
                    f"{fixturedef.argname!r} with request.getfixturevalue: name a database "
                    "fixture among its arguments, or the PostgreSQL pass leaves it out",
                    pytrace=False)


# --- one-time codes -------------------------------------------------------------------


def last_code(core, recipient: str = "+966551234567") -> str:
    """The 6 digits of the newest one-time code queued for ``recipient`` (by default
    the factories' mobile), as the SMS carries them."""
    import re

    from sqlalchemy import select

    from core.messaging.models import Notification

    with core.db.read() as session:
        body = session.scalar(select(Notification.body).where(
            Notification.kind == "code", Notification.recipient == recipient)
            .order_by(Notification.id.desc()).limit(1))
    match = re.search(r"\d{6}", body or "")
    assert match, "a code was queued"
    return match.group(0)
