"""``gateway token``: the API tokens of the records system, the kiosks and other callers."""

from __future__ import annotations

import click

from core.access.tokens import ROLES, create_token, revoke_token
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
