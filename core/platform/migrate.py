"""Schema migrations with Alembic, driven from code (``gateway db upgrade``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Index

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config(connection: Connection) -> Config:
    """Alembic's configuration for one migration run on ``connection``.

    No ``sqlalchemy.url``: env.py takes the connection from ``attributes``. The URL would
    go through ConfigParser's interpolation, where a password holding ``%`` (or any
    character the URL escapes as ``%XX``) raises with the URL, password and all, in
    the message.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def include_object(dialect: str) -> Callable[..., bool]:
    """Alembic's filter for comparing the models with a database of ``dialect``: an
    index of one dialect only (``info={"only_on": "postgresql"}``, e.g. pg_trgm's) is
    left out on the others, where the migrations do not make it."""
    def include(obj: object, _name: str | None, type_: str, _reflected: bool,
                _compare_to: object) -> bool:
        if type_ == "index" and isinstance(obj, Index):
            only_on = obj.info.get("only_on")
            return only_on is None or only_on == dialect
        return True
    return include


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe to run on every start."""
    with _migrating(engine) as connection:
        command.upgrade(_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to ``revision`` (an operator's way back, and the tests')."""
    with _migrating(engine) as connection:
        command.downgrade(_config(connection), revision)


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for a migration run. On SQLite, with foreign keys unenforced while
    it runs: SQLite alters most things by copying a table and dropping the old one, and
    dropping a table that other rows point at (the cases of a running installation, their
    events) fails while they are enforced. Before the commit every foreign key is
    checked (``PRAGMA foreign_key_check``): a migration that broke one rolls back."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _outside_a_transaction(connection, "PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                _outside_a_transaction(connection, "PRAGMA foreign_keys=ON")


def _outside_a_transaction(connection: Connection, pragma: str) -> None:
    """Run a pragma SQLite takes only outside a transaction: without the BEGIN the
    database's connections send first (``core.platform.db``'s ``sqlite_begin``)."""
    begin = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.execution_options(sqlite_begin="NONE")
    try:
        connection.exec_driver_sql(pragma)
        connection.commit()
    finally:
        connection.execution_options(sqlite_begin=begin)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def autogenerate(engine: Engine, message: str) -> None:
    """Write a new revision from the models' difference (a developer's tool)."""
    with engine.begin() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)
