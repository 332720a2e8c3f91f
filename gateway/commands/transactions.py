"""``gateway import`` and ``gateway demo-data``: transactions (and the demo's Citizen's
Voice cases) loaded in bulk."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from core.platform.errors import CoreError
from gateway.commands.options import short_lived_core, with_settings
from gateway.settings import Settings


@click.command("demo-data")
@click.option("--if-empty", is_flag=True,
              help="do nothing when the database already has transactions or cases")
@click.option("--transactions", default=300, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--seed", default=74747, show_default=True, type=int)
@click.option("--cases", default=300, show_default=True, type=click.IntRange(0, 10_000),
              help="Citizen's Voice cases (0: none)")
@with_settings
def demo_data(settings: Settings, if_empty: bool, transactions: int, seed: int,
              cases: int) -> None:
    """Load demo departments, agencies, employees, transactions and staff accounts, and
    Citizen's Voice categories, deadlines and cases in every state.

    Meant for an empty database: the demo's reference data (departments, agencies,
    employees, categories) is upserted by code; the cases load once. The messages its
    events cause are marked expired, never sent. One staff account of each role is
    created when missing, with the demo-only password the report prints; the demo's
    cases are worked as them where their agency has them. The report ends with lookups
    to try.
    """
    from core.access.demo import load_demo_users
    from core.transactions.demo import load_demo
    from core.transactions.demo.loading import transactions_present
    from core.voice.demo import cases_present
    from core.voice.demo import load_demo as load_voice_demo

    with short_lived_core(settings) as core:
        # A database in use gets nothing: no demo staff with the demo's printed password,
        # no made-up cases among the citizens' (`make run` on a live database).
        if if_empty and (present := (transactions_present(core.db), cases_present(core.db))) \
                != (0, 0):
            click.echo(f"demo data: not loaded, the database already has {present[0]} "
                       f"transactions and {present[1]} Citizen's Voice cases (--if-empty)")
            return
        try:
            report = load_demo(core, transactions=transactions, seed=seed, if_empty=if_empty)
            _demo_agencies(core, settings)
            accounts = load_demo_users(core.users, settings.voice.emirate_agency)
            if cases:
                accounts += "\n\n" + load_voice_demo(core, cases=cases)
        except CoreError as exc:
            raise click.ClickException(f"demo data: {exc.message}") from exc
    click.echo(report)
    click.echo(accounts)


def _demo_agencies(core, settings: Settings) -> None:
    """The agencies the demo's staff belong to, made when missing (the emirate itself is
    an agency: ``voice.emirate_agency``); existing ones are left as they are."""
    from core.access.demo import DEMO_AGENCY

    for code, name_ar, name_en in (
            (settings.voice.emirate_agency, "إمارة المنطقة", "Regional Emirate"),
            (DEMO_AGENCY, "أمانة المنطقة", "Regional Municipality")):
        if not core.users.agency_exists(code):
            core.upsert_agency(code, {"name_ar": name_ar, "name_en": name_en})


@click.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
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
    file to correct and import again, only when a row was rejected, into a folder that
    must exist) or the file cannot be used (nothing imported).
    """
    from core.transactions.importer import import_file

    if not csv_file.is_file():  # exit status 1 as documented, not click's usage error 2
        raise click.ClickException(f"{csv_file}: no such file. Nothing was imported.")
    with short_lived_core(settings) as core:
        try:
            report = import_file(core, csv_file, notify=notify, errors_path=errors_path,
                                 progress=sys.stderr.isatty())
        except CoreError as exc:
            raise click.ClickException(exc.message) from exc
        except OSError as exc:
            raise click.ClickException(f"{exc.filename}: {exc.strerror}") from exc
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
