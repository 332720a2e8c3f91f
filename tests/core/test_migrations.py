"""The migrations build exactly the schema the models describe, in one line of revisions."""


import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import make_url

from core.platform import migrate
from core.platform.db import Database
from core.platform.schema_upgrade import safe_message, upgrade_database
from core.schema import Base


def test_the_revisions_have_one_head():
    # get_current_head raises when two revisions share a parent (a merge left unchained).
    assert migrate.head_revision()


def test_the_migrated_schema_is_the_models_schema(database_url):
    database = Database(database_url)
    try:
        assert migrate.current_revision(database.engine) == migrate.head_revision()
        with database.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "include_object": migrate.include_object(conn.dialect.name)})
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
    finally:
        database.dispose()


# A password as operators choose them: '%' and '%(' are ConfigParser's interpolation.
PASSWORD = "S3cr%t%(pw)s%"


def test_the_upgrade_never_puts_the_url_in_alembic_s_config(tmp_path):
    """An engine whose URL carries such a password upgrades (SQLite takes no password
    in its URL: the engine's URL is given one after it is made)."""
    database = Database(f"sqlite:///{tmp_path / 'pw.db'}")
    try:
        database.engine.url = database.engine.url.set(username="gw", password=PASSWORD)
        migrate.upgrade(database.engine)
        assert migrate.current_revision(database.engine) == migrate.head_revision()
    finally:
        database.dispose()


@pytest.mark.postgres
def test_a_postgresql_url_with_a_percent_in_its_password_upgrades(database_url):
    """The CI cluster trusts local logins, so the password is carried but not checked."""
    url = make_url(database_url).set(password=PASSWORD).render_as_string(hide_password=False)
    assert upgrade_database(url) == migrate.head_revision()


def test_a_failure_s_message_has_no_password_in_any_form():
    url = make_url("postgresql+psycopg://gw@db.example/gw").set(password=PASSWORD)
    rendered = url.render_as_string(hide_password=False)
    error = RuntimeError(f"cannot use {rendered} (password {PASSWORD})\nsecond line")

    message = safe_message(error, rendered)

    assert "S3cr" not in message and "second line" not in message
    assert message == "RuntimeError: cannot use postgresql+psycopg://gw:***@db.example/gw " \
                      "(password ***)"


def test_a_running_installations_data_goes_down_and_up_through_the_migrations(tmp_path):
    """SQLite alters a table by copying it and dropping the old one: with cases, their
    events and staff sessions pointing at the rows, the drop must not trip the foreign
    keys, and nothing may be lost either way (core.platform.migrate's ``_migrating``)."""
    from sqlalchemy import func, select

    from core.service import build
    from core.voice.models import CaseEvent, VoiceCase
    from tests import factories as f
    from tests.conftest import make_settings

    url = f"sqlite:///{tmp_path / 'running.db'}"
    database = Database(url)
    migrate.upgrade(database.engine)
    core = build(make_settings(url, tmp_path))
    try:
        core.record_event(f.registered("4471234"))
        filed = core.voice.file_case({
            "type": "complaint", "text": "الإنارة معطلة في الشارع", "channel": "api",
            "lang": "ar", "citizen": {"mobile": "0551234567"}})
        core.users.create("coordinator", "coord", agency="EMIRATE")
    finally:
        core.close()

    def counted() -> tuple[int, int]:
        with database.engine.connect() as connection:
            return (connection.scalar(select(func.count()).select_from(VoiceCase)),
                    connection.scalar(select(func.count()).select_from(CaseEvent)))

    before = counted()
    migrate.downgrade(database.engine, "f4a7c2e9b160")  # before this series of changes
    migrate.upgrade(database.engine)
    try:
        assert counted() == before == (1, 1)
        with database.engine.connect() as connection:
            assert connection.scalar(select(VoiceCase.tracking)) == filed.tracking
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        database.dispose()
