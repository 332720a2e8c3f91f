"""The transaction status gateway: every command takes --config PATH (default config.yaml)."""

from __future__ import annotations

import functools
import logging
import signal
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import click
from click.core import ParameterSource

from core.access.tokens import ROLES, create_token, revoke_token
from core.platform import migrate
from core.platform.errors import CoreError
from core.platform.settings import ConfigError
from gateway.settings import Settings, load_settings

log = logging.getLogger("gateway")


def _load(config: str | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def with_settings(command: Callable) -> Callable:
    """Add ``--config PATH`` and pass the loaded, validated settings as ``settings``."""

    @click.option("--config", "config_path", type=click.Path(dir_okay=False),
                  envvar="GATEWAY_CONFIG", help="configuration file (default: config.yaml)")
    @functools.wraps(command)
    def wrapper(config_path: str | None, **kwargs):
        configure_logging()
        ctx = click.get_current_context()
        # `gateway --config PATH run` as well as `gateway run --config PATH`: the
        # command's own option first, then the group's, then GATEWAY_CONFIG.
        given = ctx.meta.get(_GROUP_CONFIG)
        if given and ctx.get_parameter_source("config_path") is not ParameterSource.COMMANDLINE:
            config_path = given
        return command(settings=_load(config_path), **kwargs)

    return wrapper


_GROUP_CONFIG = "gateway.config"


def _remember_group_config(ctx: click.Context, _param, value: str | None) -> str | None:
    if value:
        ctx.meta[_GROUP_CONFIG] = value
    return value


def configure_logging() -> None:
    """Log lines as every command writes them; library chatter held back."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Alembic narrates every schema check at INFO; `db upgrade` reports for itself.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # waitress warns "Task queue depth" for every request queued behind busy threads:
    # normal under load, and it would flood the log.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


@click.group(help=__doc__)
@click.option("--config", type=click.Path(dir_okay=False), expose_value=False,
              callback=_remember_group_config, is_eager=True,
              help="configuration file for the command that follows (default: config.yaml)")
def main() -> None:
    pass


def _core(settings: Settings, *, require_schema: bool = True, background_log: bool = True):
    from gateway.bootstrap import build_core, check_schema

    core = build_core(settings, background_log=background_log)
    if require_schema:
        problem = check_schema(core)
        if problem:
            core.close()
            raise click.ClickException(problem)
    return core


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@with_settings
def db_upgrade(settings: Settings) -> None:
    """Apply the migrations (Alembic) up to this version's schema."""
    from core.platform.db import Database

    database = Database(settings.database.url)
    try:
        migrate.upgrade(database.engine)
        click.echo(f"database at revision {migrate.current_revision(database.engine)}")
    finally:
        database.dispose()


class _Stop(SystemExit):
    """SIGTERM arrived: leave the serving loop.

    A SystemExit: waitress's loop lets only that and KeyboardInterrupt through its channel
    handlers, and answers both by shutting its threads down in order.
    """


def _serve(settings: Settings, components: str, *, with_channels: bool = False) -> None:
    from waitress import create_server

    from gateway.app import create_app

    if with_channels:
        _check_sms(settings)
        _check_email(settings)
    core = _core(settings)
    app = create_app(settings, core)
    server = create_server(app, host=settings.gateway.host, port=settings.gateway.port,
                           threads=settings.gateway.threads, ident="gateway",
                           clear_untrusted_proxy_headers=True)

    def stop(_signum, _frame):
        raise _Stop

    signal.signal(signal.SIGTERM, stop)
    log.info("%s listening on http://%s:%s (database: %s)", components, settings.gateway.host,
             settings.gateway.port, settings.database.url.split("@")[-1])
    for name in ("sms", "ivr", "email"):
        log.info("channel %s: %s", name,
                 "enabled" if getattr(settings, name).enabled else "disabled")
    channel = None
    if with_channels and settings.sms.enabled:
        from channels.sms.channel import SmsChannel, shorten_gil_turns, timings_for

        shorten_gil_turns()
        channel = SmsChannel(core, settings.sms, timings=timings_for(settings))
        channel.start()
        app.extensions["sms_channel"] = channel
    scheduler = _start_scheduler(core, settings) if with_channels else None
    email_channel = _start_email(core, settings) if with_channels else None
    try:
        # Returns once SIGTERM or Ctrl-C stops the loop; waitress then lets the request
        # threads finish what they are doing.
        server.run()
    finally:
        if scheduler is not None:
            scheduler.stop()
        if email_channel is not None:
            email_channel.stop()
        if channel is not None:
            channel.stop()
        server.close()
        core.close()
    log.info("stopped")


def _check_sms(settings: Settings) -> None:
    if settings.sms.enabled and not settings.sms.smpp.system_id:
        raise click.ClickException("sms.smpp.system_id is empty: the SMSC needs a system_id "
                                   "(or set sms.enabled to false)")


@main.command()
@with_settings
def run(settings: Settings) -> None:
    """Everything configured, in one process."""
    _serve(settings, "gateway (portal, API, channels)", with_channels=True)


@main.command()
@with_settings
def web(settings: Settings) -> None:
    """The web portal and JSON API alone."""
    _serve(settings, "web")


@main.command()
@with_settings
def sms(settings: Settings) -> None:
    """The SMS channel alone (SMPP to the SMSC), until SIGTERM or Ctrl-C."""
    import threading

    from channels.sms.channel import SmsChannel, shorten_gil_turns, timings_for

    if not settings.sms.enabled:
        raise click.ClickException("the SMS channel is disabled: set sms.enabled to true")
    _check_sms(settings)
    core = _core(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    signal.signal(signal.SIGINT, lambda _signum, _frame: stop.set())
    smpp = settings.sms.smpp
    log.info("sms: short code %s over SMPP to %s:%s", settings.sms.short_code, smpp.host,
             smpp.port)
    try:
        shorten_gil_turns()
        SmsChannel(core, settings.sms, timings=timings_for(settings)).run_until(stop)
    finally:
        core.close()
    log.info("stopped")


@main.command("demo-data")
@click.option("--if-empty", is_flag=True, help="do nothing when transactions already exist")
@click.option("--transactions", default=300, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--seed", default=74747, show_default=True, type=int)
@with_settings
def demo_data(settings: Settings, if_empty: bool, transactions: int, seed: int) -> None:
    """Load demo departments, agencies, employees and transactions.

    Meant for an empty database: the demo's reference data (departments, agencies,
    employees) is upserted by code. The messages its events cause are marked expired,
    never sent. The report ends with lookups to try.
    """
    from core.transactions.demo import load_demo

    core = _core(settings, background_log=False)
    try:
        report = load_demo(core, transactions=transactions, seed=seed, if_empty=if_empty)
    except CoreError as exc:
        raise click.ClickException(f"demo data: {exc.message}") from exc
    finally:
        core.close()
    click.echo(report)


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", required=True, help="who or what uses it (a kiosk id, a system)")
@with_settings
def token_create(settings: Settings, role: str, name: str) -> None:
    """Print a new token once, alone on the last line."""
    core = _core(settings, background_log=False)
    try:
        value = create_token(core.db.write, role, name)
    except CoreError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        core.close()
    click.echo(f"token for {name} ({role}); it is shown only now:", err=True)
    click.echo(value)


@token.command("revoke")
@click.option("--name", required=True, help="the name the token was created with")
@with_settings
def token_revoke(settings: Settings, name: str) -> None:
    """Revoke every live token of that name (in force everywhere within 30 s)."""
    core = _core(settings, background_log=False)
    try:
        count = revoke_token(core.db.write, name)
    finally:
        core.close()
    if not count:
        raise click.ClickException(f"no live token is named {name!r}")
    click.echo(f"revoked {count} token(s) named {name}")


@main.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False, path_type=Path),
              help="write rejected rows with their reason to this CSV file")


@click.option("--notify/--no-notify", default=False, show_default=True,
              help="send the registration (and issuance) SMS for imported transactions")


@with_settings
def import_csv(settings: Settings, csv_file: Path, errors_path: Path | None,
               notify: bool) -> None:
    """Bulk-load transactions from a CSV file, with a progress bar.

    The file: UTF-8 (with or without BOM), comma-separated, a header row naming the
    columns. Each row goes through the same checks and lifecycle as the API; importing
    a file again skips the rows already imported.

    \b
    required:  number, registered_at, subject, applicant_name
    applicant: national_id, mobile, email, lang (ar or en)
    referred:  department (code), referred_at (default: registered_at)
    issued:    outgoing_number, destination_agency (code or exact name),
               issued_at, reply_expected (yes/no)
    later:     reply_received_at, closed_at

    Times are ISO 8601 (2026-11-23 or 2026-11-23T09:15:00+03:00); a date alone is
    midnight, a time without an offset is local time (locale.timezone).

    Exit status: 0 when every row was imported or already present; 1 when any row was
    rejected (each is listed with its line and reason; --errors writes them to a CSV
    file to correct and import again) or the file cannot be used (nothing imported).
    """
    from core.transactions.importer import import_file

    core = _core(settings, background_log=False)
    try:
        report = import_file(core, csv_file, notify=notify, errors_path=errors_path,
                             progress=sys.stderr.isatty())
    except CoreError as exc:
        raise click.ClickException(exc.message) from exc
    except OSError as exc:
        raise click.ClickException(f"{exc.filename}: {exc.strerror}") from exc
    finally:
        core.close()
    click.echo(report.summary())
    if report.rejected:
        shown = 20
        for error in report.errors[:shown]:
            click.echo(f"  {error}", err=True)
        if report.rejected > shown:
            more = f"  ... and {report.rejected - shown} more"
            click.echo(more + ("" if errors_path else " (--errors FILE lists them all)"),
                       err=True)
        sys.exit(1)


# --- kiosk (issue 6) ---------------------------------------------------------


@main.command()
@with_settings
def kiosk(settings: Settings) -> None:
    """Start the full-screen kiosk app (talks to kiosk.gateway_url; no database)."""
    try:
        from channels.kiosk.app import run as run_kiosk
    except ImportError as exc:  # PyQt6 or its system libraries missing on this machine
        raise click.ClickException(f"the kiosk needs PyQt6 and its Qt libraries: {exc}") \
            from exc
    sys.exit(run_kiosk(settings))


@main.group()
def prompts() -> None:
    """The IVR's recorded prompts."""


@prompts.command("render")
@click.option("--force", is_flag=True, help="render again even the prompts already there")
@with_settings
def prompts_render(settings: Settings, force: bool) -> None:
    """Render every IVR prompt (both languages) to WAV files with pyttsx3 and espeak-ng.

    Fixed prompts, digits, numbers and month names go to ivr.voice.audio_dir under
    var_dir, named by a hash of their text and voice; the line plays them when
    ivr.voice.mode is "play". Runs the speech engine in a child process with a timeout.
    """
    from channels.ivr.prompts import RenderError, render

    try:
        report = render(settings, force=force)
    except RenderError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report.summary())
    for problem in report.failed:
        click.echo(f"  {problem}", err=True)
    if report.failed:
        sys.exit(1)
# --- scheduler: overdue follow-ups, expiry, holidays (issue 4) -------------------------


def _start_scheduler(core, settings: Settings):
    from scheduler import Scheduler

    scheduler = Scheduler(core, settings)
    scheduler.start()
    return scheduler


@main.command("scheduler")
@with_settings
def scheduler_command(settings: Settings) -> None:
    """The scheduler alone (overdue scan, expiry, recovery), until SIGTERM or Ctrl-C.

    Run it on as many machines as you like: the overdue scan runs on one at a time.
    """
    import threading

    core = _core(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    signal.signal(signal.SIGINT, lambda _signum, _frame: stop.set())
    scheduler = _start_scheduler(core, settings)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        scheduler.stop()
        core.close()
    log.info("stopped")


@main.command()
@with_settings
def email(settings: Settings) -> None:
    """The e-mail responder alone (IMAP in, SMTP out), until SIGTERM or Ctrl-C."""
    import threading

    from channels.email.channel import EmailChannel

    if not settings.email.enabled:
        raise click.ClickException("the e-mail channel is disabled: set email.enabled to true")
    _check_email(settings)
    core = _core(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    signal.signal(signal.SIGINT, lambda _signum, _frame: stop.set())
    imap, smtp = settings.email.imap, settings.email.smtp
    log.info("email: mailbox %s@%s:%s/%s, replies via %s:%s as %s", imap.username, imap.host,
             imap.port, imap.folder, smtp.host, smtp.port, smtp.from_address)
    try:
        EmailChannel(core, settings.email).run_until(stop)
    finally:
        core.close()
    log.info("stopped")


def _day(value: str) -> date:
    from core.identity.digits import normalize_digits

    try:
        return date.fromisoformat(normalize_digits(value.strip()))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date such as 2027-03-20") from exc


@main.group()
def holidays() -> None:
    """Public holidays: days off for working-day reply periods (besides Friday, Saturday)."""


@holidays.command("list")
@click.option("--all", "everything", is_flag=True, help="past holidays too")
@with_settings
def holidays_list(settings: Settings, everything: bool) -> None:
    """The holidays from today on (or all), one per line: date, weekday, name."""
    from core.calendar import holidays as days_off
    from core.calendar.dates import local_date

    core = _core(settings, background_log=False)
    try:
        since = None if everything else local_date(datetime.now(UTC), settings.tz)
        rows = days_off.listed(core.db, since)
    finally:
        core.close()
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
    """Declare FIRST (through --through) a holiday; the next overdue scan counts it."""
    from core.calendar import holidays as days_off

    days = _holiday_days(first, through)
    core = _core(settings, background_log=False)
    try:
        added = days_off.add(core.db, days, name.strip())
    finally:
        core.close()
    click.echo(f"{added} day(s) added, {len(days) - added} already holidays")


@holidays.command("remove")
@click.argument("first")
@click.option("--through", help="the last day, for several days")
@with_settings
def holidays_remove(settings: Settings, first: str, through: str | None) -> None:
    """Make FIRST (through --through) a working day again."""
    from core.calendar import holidays as days_off

    days = _holiday_days(first, through)
    core = _core(settings, background_log=False)
    try:
        removed = days_off.remove(core.db, days)
    finally:
        core.close()
    if not removed:
        raise click.ClickException("none of these days was a holiday")
    click.echo(f"{removed} day(s) removed")


def _holiday_days(first: str, through: str | None) -> list[date]:
    from core.calendar import holidays as days_off

    try:
        return days_off.days_between(_day(first), _day(through) if through else None)
    except CoreError as exc:
        raise click.ClickException(exc.message) from exc


def _check_email(settings: Settings) -> None:
    if settings.email.enabled and not settings.email.imap.username:
        raise click.ClickException("email.imap.username is empty: the mailbox needs a login "
                                   "(or set email.enabled to false)")


def _start_email(core, settings: Settings):
    """The e-mail channel inside `gateway run`, when enabled; None otherwise."""
    if not settings.email.enabled:
        return None
    from channels.email.channel import EmailChannel

    channel = EmailChannel(core, settings.email)
    channel.start()
    return channel


if __name__ == "__main__":
    main()
