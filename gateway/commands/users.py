"""``gateway users``: staff accounts (coordinator, specialist, agency_leader, leadership,
admin), their passwords and personal API tokens, from the machine's command line."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from core.access.actors import USER_ROLES
from core.access.users import UserRecord
from core.platform.errors import CoreError
from core.platform.i18n import LANGUAGES
from gateway.commands.options import group_options, short_lived_core, with_settings
from gateway.settings import Settings


@click.group()
@group_options
def users() -> None:
    """Staff accounts."""


@users.command("create")
@click.option("--role", required=True, type=click.Choice(USER_ROLES))
@click.option("--name", "login", required=True, help="the login (3-64 characters: a "
              "letter, then letters, digits, '.', '_' or '-')")
@click.option("--agency", help="the agency's code (coordinator, specialist and "
              "agency_leader only)")
@click.option("--department", help="the code of one of the emirate's departments: the "
              "user works its cases only (with --agency the emirate's; coordinator, "
              "specialist and agency_leader)")
@click.option("--mobile", help="for the alerts this user receives by SMS")
@click.option("--email")
@click.option("--language", type=click.Choice(LANGUAGES), help="of the messages written to "
              "this user alone (the weekly digest); default: locale.default_language")
@click.option("--full-name", help="the name shown on pages (default: the login)")
@with_settings
def users_create(settings: Settings, role: str, login: str, agency: str | None,
                 department: str | None, mobile: str | None, email: str | None,
                 full_name: str | None, language: str | None) -> None:
    """Create an account; print its initial password once, alone on the last line.

    The first sign-in asks for a new password."""
    with short_lived_core(settings) as core:
        created = _call(lambda: core.users.create(role, login, name=full_name, agency=agency,
                                                  mobile=mobile, email=email,
                                                  department=department,
                                                  language=language))
    user = created.user
    where = f" of {_where(user)}" if user.agency else ""
    click.echo(f"user {user.login} ({user.role}{where}) created; the initial password is "
               "shown only now and must be changed at the first sign-in:", err=True)
    click.echo(created.password)


@users.command("token")
@click.option("--name", "login", required=True, help="the user's login")
@with_settings
def users_token(settings: Settings, login: str) -> None:
    """Print a personal API token acting as that user, once, alone on the last line.

    It stops working at once when the user is disabled."""
    with short_lived_core(settings) as core:
        token = _call(lambda: core.users.create_token(login))
    click.echo(f"personal token for {login.strip().lower()}; it is shown only now:",
               err=True)
    click.echo(token)


@users.command("disable")
@click.option("--name", "login", required=True, help="the user's login")
@with_settings
def users_disable(settings: Settings, login: str) -> None:
    """Disable the account: its sessions and tokens stop working at once."""
    with short_lived_core(settings) as core:
        _call(lambda: core.users.disable(login))
    click.echo(f"user {login.strip().lower()} disabled; their sessions and tokens are ended")


@users.command("reset-password")
@click.option("--name", "login", required=True, help="the user's login")
@with_settings
def users_reset_password(settings: Settings, login: str) -> None:
    """Give the account a new password (alone on the last line), to be changed at the
    next sign-in; lifts a lockout and ends the account's sessions."""
    with short_lived_core(settings) as core:
        password = _call(lambda: core.users.reset_password(login))
    click.echo(f"new password for {login.strip().lower()}; it is shown only now and must "
               "be changed at the next sign-in:", err=True)
    click.echo(password)


@users.command("list")
@with_settings
def users_list(settings: Settings) -> None:
    """Every account: login, role, agency (and department), state, last sign-in (UTC)."""
    with short_lived_core(settings) as core:
        records = core.users.list_users()
        now = core.users.now()
    if not records:
        click.echo("no users yet: make one with `gateway users create`", err=True)
        return
    rows = [("LOGIN", "ROLE", "AGENCY", "STATE", "LAST SIGN-IN"),
            *(_row(record, now) for record in records)]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        click.echo("  ".join([*cells, row[4]]).rstrip())


def _where(record: UserRecord) -> str | None:
    """The agency's code, and the department's after a slash ("EMIRATE/RIGHTS")."""
    if record.agency and record.department:
        return f"{record.agency}/{record.department}"
    return record.agency


def _call(action):
    try:
        return action()
    except CoreError as exc:
        raise click.ClickException(exc.message) from exc


def state(record: UserRecord, now: datetime) -> str:
    if record.disabled_at is not None:
        return "disabled"
    if record.locked(now):
        return "locked"
    return "must change password" if record.must_change_password else "active"


def _row(record: UserRecord, now: datetime) -> tuple[str, str, str, str, str]:
    last = record.last_login_at
    return (record.login, record.role, _where(record) or "-", state(record, now),
            last.astimezone(UTC).strftime("%Y-%m-%d %H:%M") + "Z" if last else "never")
