"""``gateway dashboards``: the leaders' figures' summary (core/dashboards). The scheduler
keeps it up to date; ``rebuild`` computes every case's facts again, for when a
definition of a figure changed (an upgrade says so) or the summary is suspected."""

from __future__ import annotations

import click

from core.platform.errors import CoreError
from gateway.commands.options import group_options, short_lived_core, with_settings
from gateway.settings import Settings


@click.group()
@group_options
def dashboards() -> None:
    """The dashboards' summary tables."""


@dashboards.command("rebuild")
@with_settings
def dashboards_rebuild(settings: Settings) -> None:
    """Compute every case's figures again (under the refresh's lease: refused while a
    refresh runs); prints how many cases and cycles."""
    with short_lived_core(settings) as core:
        try:
            done = core.dashboards.rebuild()
        except CoreError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"dashboards rebuilt: {done.cases} cases, {done.facts} cycles, "
               f"as of {done.as_of:%Y-%m-%d %H:%M}Z")
