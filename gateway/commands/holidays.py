"""``gateway holidays``: the public holidays the working-day reply periods skip."""

from __future__ import annotations

from datetime import UTC, date, datetime

import click

from core.platform.errors import CoreError
from gateway.commands.options import group_options, short_lived_core, with_settings
from gateway.settings import Settings


@click.group()
@group_options
def holidays() -> None:
    """Public holidays: days off for working-day periods and case deadlines (besides the
    weekend)."""


@holidays.command("list")
@click.option("--all", "everything", is_flag=True, help="past holidays too")
@with_settings
def holidays_list(settings: Settings, everything: bool) -> None:
    """The holidays from today on (or all), one per line: date, weekday, name."""
    from core.calendar import holidays as days_off
    from core.calendar.dates import local_date

    with short_lived_core(settings) as core:
        since = None if everything else local_date(datetime.now(UTC), settings.tz)
        rows = days_off.listed(core.db, since)
    for row in rows:
        click.echo(f"{row.day.isoformat()}  {row.day:%a}  {row.name}".rstrip())
    if not rows:
        click.echo("no holidays declared", err=True)


@holidays.command("add")
@click.argument("first")
@click.option("--through", help="the last day, for a holiday of several days")
@click.option("--name", default="", help='e.g. "عيد الفطر"')
@with_settings
def holidays_add(settings: Settings, first: str, through: str | None, name: str) -> None:
    """Declare FIRST (through --through) a holiday; the next overdue scan counts it.

    A day already declared takes the new --name and is counted as renamed. A new
    version of the working calendar is written; the scheduler retimes the open cases.
    """
    from core.calendar import holidays as days_off

    days = _holiday_days(first, through)
    with short_lived_core(settings) as core:
        done = days_off.add(core.db, days, name.strip(), core.config)
    click.echo(f"{done.added} day(s) added, {done.renamed} renamed, "
               f"{done.unchanged} already holidays")


@holidays.command("remove")
@click.argument("first")
@click.option("--through", help="the last day, for several days")
@with_settings
def holidays_remove(settings: Settings, first: str, through: str | None) -> None:
    """Make FIRST (through --through) a working day again."""
    from core.calendar import holidays as days_off

    days = _holiday_days(first, through)
    with short_lived_core(settings) as core:
        removed = days_off.remove(core.db, days, core.config)
    if not removed:
        raise click.ClickException("none of these days was a holiday")
    click.echo(f"{removed} day(s) removed")


def _day(value: str) -> date:
    from core.identity.digits import normalize_digits

    try:
        return date.fromisoformat(normalize_digits(value.strip()))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date such as 2027-03-20") from exc


def _holiday_days(first: str, through: str | None) -> list[date]:
    from core.calendar import holidays as days_off

    try:
        return days_off.days_between(_day(first), _day(through) if through else None)
    except CoreError as exc:
        raise click.ClickException(exc.message) from exc
