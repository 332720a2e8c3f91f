"""The transaction status gateway: every command takes --config PATH (default config.yaml)
and --debug, before or after it. A failure ends with one line saying what is wrong and the
setting that controls it, exit status 1 (2: the command line itself is wrong)."""

from __future__ import annotations

import logging
import sys

import click

from gateway.commands.calendar import calendar
from gateway.commands.dashboards import dashboards
from gateway.commands.database import db
from gateway.commands.holidays import holidays
from gateway.commands.options import (
    GatewayGroup,
    debugging,
    group_options,
    open_core,
    with_settings,
)
from gateway.commands.options import configure_logging as configure_logging
from gateway.commands.prompts import prompts
from gateway.commands.tokens import token
from gateway.commands.transactions import demo_data, import_csv
from gateway.commands.users import users
from gateway.runner import Component, Runner, frozen_heap
from gateway.settings import Settings

log = logging.getLogger("gateway")


@click.group(cls=GatewayGroup, help=__doc__)
@group_options
def main() -> None:
    pass


for _command in (db, demo_data, token, users, import_csv, prompts, holidays, calendar,
                 dashboards):
    main.add_command(_command)


# --- the long-running commands: their parts, run until SIGTERM or Ctrl-C ---------------


def _run(components: list[Component]) -> None:
    status = Runner([*components, frozen_heap()]).run()
    if status:
        sys.exit(status)


def _serve(settings: Settings, components: str, *, with_channels: bool = False) -> None:
    """The web tier (``gateway.webtier``): the socket bound here, once; the workers
    started here, and under ``gateway run`` the one running the channels and scheduler."""
    from gateway.components import listening_sockets
    from gateway.webtier import Workers, run_directory, worker_count

    if with_channels:
        _check_sms(settings)
        _check_email(settings)
    # The database answers, at this version's schema: said once, here, not by each worker.
    open_core(settings, background_log=False).close()
    host, port = settings.gateway.host, settings.gateway.port
    sockets = listening_sockets(host, port)
    try:
        web = worker_count(settings)
        log.info("%s listening on http://%s:%s (database: %s; %d web workers)", components,
                 host, port, settings.database.url.split("@")[-1], web)
        # Only what this command runs: the web workers answer the IVR's webhooks; SMS and
        # e-mail run here only under `gateway run` (else as `gateway sms`, `gateway email`).
        for name in ("sms", "ivr", "email") if with_channels else ("ivr",):
            log.info("channel %s: %s", name,
                     "enabled" if getattr(settings, name).enabled else "disabled")
        with run_directory() as run_dir:
            workers = Workers(settings, sockets, run_dir, web=web, background=with_channels,
                              debug=debugging(), stop_requested=lambda: runner.stopping())
            runner = Runner([workers])
            status = runner.run()
        if status:
            sys.exit(status)
    finally:
        for sock in sockets:
            sock.close()


@main.command()
@with_settings
def run(settings: Settings) -> None:
    """Everything configured: web workers, and one process for the channels and scheduler."""
    _serve(settings, "gateway (portal, API, channels)", with_channels=True)


@main.command()
@with_settings
def web(settings: Settings) -> None:
    """The web portal and JSON API alone (gateway.workers processes)."""
    _serve(settings, "web")


@main.command()
@with_settings
def sms(settings: Settings) -> None:
    """The SMS channel alone (SMPP to the SMSC), until SIGTERM or Ctrl-C."""
    from gateway.components import core_part, sms_part

    if not settings.sms.enabled:
        raise click.ClickException("the SMS channel is disabled: set sms.enabled to true")
    _check_sms(settings)
    core = open_core(settings)
    smpp = settings.sms.smpp
    log.info("sms: short code %s over SMPP to %s:%s", settings.sms.short_code, smpp.host,
             smpp.port)
    part, _channel = sms_part(core, settings)
    _run([core_part(core), part])


@main.command()
@with_settings
def email(settings: Settings) -> None:
    """The e-mail responder alone (IMAP in, SMTP out), until SIGTERM or Ctrl-C."""
    from gateway.components import core_part, email_part

    if not settings.email.enabled:
        raise click.ClickException("the e-mail channel is disabled: set email.enabled to true")
    _check_email(settings)
    core = open_core(settings)
    imap, smtp = settings.email.imap, settings.email.smtp
    log.info("email: mailbox %s@%s:%s/%s, replies via %s:%s as %s", imap.username, imap.host,
             imap.port, imap.folder, smtp.host, smtp.port, smtp.from_address)
    _run([core_part(core), email_part(core, settings, alone=True)])


@main.command("scheduler")
@with_settings
def scheduler_command(settings: Settings) -> None:
    """The scheduler alone (overdue scan, expiry, recovery), until SIGTERM or Ctrl-C.

    Run it on as many machines as you like: the overdue scan runs on one at a time.
    """
    from gateway.components import core_part, scheduler_part

    core = open_core(settings)
    _run([core_part(core), scheduler_part(core, settings)])


def _check_sms(settings: Settings) -> None:
    if settings.sms.enabled and not settings.sms.smpp.system_id:
        raise click.ClickException("sms.smpp.system_id is empty: the SMSC needs a system_id "
                                   "(or set sms.enabled to false)")


def _check_email(settings: Settings) -> None:
    if settings.email.enabled and not settings.email.imap.username:
        raise click.ClickException("email.imap.username is empty: the mailbox needs a login "
                                   "(or set email.enabled to false)")


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


if __name__ == "__main__":
    main()
