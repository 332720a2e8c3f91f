"""``gateway token``: the API tokens of the records system, the kiosks and other callers."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from core.access.tokens import ROLES, TokenRecord, create_token, list_tokens, revoke_token
from core.platform.errors import CoreError
from gateway.commands.options import group_options, short_lived_core, with_settings
from gateway.settings import Settings


@click.group()
@group_options
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", required=True, help="who or what uses it (a kiosk id, a system)")
@with_settings
def token_create(settings: Settings, role: str, name: str) -> None:
    """Print a new token once, alone on the last line."""
    with short_lived_core(settings) as core:
        try:
            value = create_token(core.db.write, role, name)
        except CoreError as exc:
            raise click.ClickException(exc.message) from exc
    click.echo(f"token for {name} ({role}); it is shown only now:", err=True)
    click.echo(value)


@token.command("revoke")
@click.option("--name", required=True, help="the name the token was created with")
@with_settings
def token_revoke(settings: Settings, name: str) -> None:
    """Revoke every live token of that name (in force everywhere within 30 s)."""
    with short_lived_core(settings) as core:
        count = revoke_token(core.db.write, name)
    if not count:
        raise click.ClickException(f"no live token is named {name!r}")
    click.echo(f"revoked {count} token(s) named {name}")


@token.command("list")
@with_settings
def token_list(settings: Settings) -> None:
    """Every token made, revoked ones too: name, role, created, last used, revoked (UTC).

    The last use is recorded at most once a minute per token and process. No token's
    value or hash is shown: they cannot be recovered from the database."""
    with short_lived_core(settings) as core:
        records = list_tokens(core.db.read)
    if not records:
        click.echo("no tokens yet: make one with `gateway token create`", err=True)
        return
    rows = [("NAME", "ROLE", "CREATED", "LAST USED", "REVOKED"), *map(_row, records)]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        click.echo("  ".join([*cells, row[4]]).rstrip())


def _row(record: TokenRecord) -> tuple[str, str, str, str, str]:
    return (record.name, record.role, _when(record.created_at),
            _when(record.last_used_at, "never"), _when(record.revoked_at, "-"))


def _when(moment: datetime | None, missing: str = "") -> str:
    if moment is None:
        return missing
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") + "Z"
