"""``gateway calendar``: the working calendar in force, its versions, and its date-range
overrides (Ramadan hours). Holidays have their own group, ``gateway holidays``."""

from __future__ import annotations

from datetime import date

import click

from core.platform.errors import CoreError
from gateway.commands.options import group_options, short_lived_core, with_settings
from gateway.settings import Settings


@click.group()
@group_options
def calendar() -> None:
    """The working calendar: weekend, working hours, overrides, versions."""


@calendar.command("show")
@with_settings
def calendar_show(settings: Settings) -> None:
    """The calendar in force (a new version is written first if the configuration
    changed), its overrides and holidays, and its latest versions."""
    from core.calendar import versions

    with short_lived_core(settings) as core:
        shown = versions.in_force(core.db, core.config)
    definition = shown.definition
    click.echo(f"time zone: {definition['timezone']}")
    for week in definition["weeks"]:
        since = f"from {week['from']}" if week["from"] else "until then"
        hours = ", ".join(f"{day} {' '.join(windows) or '-'}"
                          for day, windows in week["hours"].items())
        click.echo(f"week {since}: weekend {'+'.join(week['weekend'])}; {hours}")
    for item in definition["overrides"]:
        click.echo(f"override {item['first']} – {item['last']} {item['name']}: "
                   + _hours(item["hours"]))
    click.echo(f"holidays: {len(definition['holidays'])} declared (gateway holidays list)")
    for version in shown.history:
        click.echo(f"version {version.id}  {version.created_at:%Y-%m-%d %H:%M}Z  "
                   f"{version.reason}")
    if shown.awaiting_recompute:
        click.echo("open cases are waiting to be retimed under the latest version "
                   "(the scheduler does it)")


@calendar.group("overrides")
def overrides() -> None:
    """Date ranges with working hours of their own (Ramadan)."""


@overrides.command("list")
@with_settings
def overrides_list(settings: Settings) -> None:
    """The overrides in date order: id, first and last day, name, hours."""
    from core.calendar import overrides as ranges

    with short_lived_core(settings) as core:
        rows = ranges.all_listed(core.db)
    for row in rows:
        click.echo(f"{row.id}  {row.first} – {row.last}  {row.name}  {_hours(row.hours)}"
                   .rstrip())
    if not rows:
        click.echo("no overrides", err=True)


@overrides.command("add")
@click.argument("first")
@click.option("--through", required=True, help="the last day of the range")
@click.option("--hours", "hours_text", required=True,
              help='e.g. "sun-thu=10:00-15:00" or "sun,mon=10:00-13:00,21:00-23:00;sat="')
@click.option("--name", default="", help='e.g. "رمضان"')
@with_settings
def overrides_add(settings: Settings, first: str, through: str, hours_text: str,
                  name: str) -> None:
    """Give the weekdays in --hours their own windows from FIRST through --through.

    Weekdays not listed keep their usual hours (the weekend stays off); "sat=" makes a
    day without work. Writes a new calendar version; the scheduler retimes open cases.
    """
    from core.calendar import overrides as ranges

    with short_lived_core(settings) as core:
        try:
            hours = ranges.parse_hours(hours_text)
            added = ranges.add(core.db, _day(first), _day(through), hours, name.strip(),
                               core.config)
        except CoreError as exc:
            raise click.ClickException(exc.message) from exc
    click.echo(f"override {added} added")


@overrides.command("remove")
@click.argument("override_id", type=int)
@with_settings
def overrides_remove(settings: Settings, override_id: int) -> None:
    """Remove override OVERRIDE_ID (see ``list``); the usual hours apply again."""
    from core.calendar import overrides as ranges

    with short_lived_core(settings) as core:
        try:
            gone = ranges.remove(core.db, override_id, core.config)
        except CoreError as exc:
            raise click.ClickException(exc.message) from exc
    click.echo(f"override {gone.id} ({gone.first} – {gone.last}) removed")


def _hours(hours: dict[str, list[str]]) -> str:
    return "; ".join(f"{day} {' '.join(windows) or '-'}" for day, windows in hours.items())


def _day(value: str) -> date:
    from core.identity.digits import normalize_digits

    try:
        return date.fromisoformat(normalize_digits(value.strip()))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date such as 2027-02-08") from exc
