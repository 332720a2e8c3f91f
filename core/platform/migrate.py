"""Schema migrations with Alembic, driven from code (``gateway db upgrade``)."""

from __future__ import annotations

from collections.abc import Callable
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
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)


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
