"""``gateway db``: the database schema."""

from __future__ import annotations

import click

from core.platform.schema_upgrade import UpgradeFailed, upgrade_database
from gateway.commands.options import group_options, with_settings
from gateway.settings import Settings


@click.group()
@group_options
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@with_settings
def db_upgrade(settings: Settings) -> None:
    """Apply the migrations (Alembic) up to this version's schema.

    A failure is one line on stderr, exit status 1; it never carries the password.
    """
    try:
        revision = upgrade_database(settings.database.url)
    except UpgradeFailed as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"database at revision {revision}")
