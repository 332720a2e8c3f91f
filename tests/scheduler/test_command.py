"""``gateway scheduler`` runs until SIGTERM and exits 0; ``gateway holidays`` edits the list."""

from __future__ import annotations

import time
from datetime import date

from click.testing import CliRunner

from core.calendar import holidays
from gateway.cli import main
from tests import processes
from tests.core.test_overdue import issue, overdue_messages
from tests.gateway.test_cli import environment


def test_gateway_scheduler_scans_at_start_and_stops_cleanly_on_sigterm(
        database_url, tmp_path, reference):
    issue(reference, "4490001", "2026-11-01")
    # This process runs on the real clock: send at any hour, not only from 08:00.
    process = processes.start("scheduler", processes.environment(
        database_url, tmp_path, GATEWAY__SCHEDULER__OVERDUE_SEND_AT="00:00"))
    try:
        deadline = time.monotonic() + 30
        while not overdue_messages(reference):
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the scheduler did not scan at start"
            time.sleep(0.1)
    finally:
        output = processes.stop(process)
    assert process.returncode == 0, output
    assert "scheduler started" in output
    assert output.rstrip().endswith("INFO gateway: stopped")
    assert "Traceback" not in output
    assert len(overdue_messages(reference)) == 1


def test_gateway_run_includes_the_scheduler(database_url, tmp_path, reference):
    """The embedded default: `gateway run` serves and scans, in one process."""
    issue(reference, "4490002", "2026-11-01")
    port = processes.free_port()
    process = processes.start("run", processes.environment(
        database_url, tmp_path, GATEWAY__GATEWAY__PORT=str(port),
        GATEWAY__SCHEDULER__OVERDUE_SEND_AT="00:00"))
    try:
        processes.wait_until_serving(process, port)
        deadline = time.monotonic() + 30
        while not overdue_messages(reference):
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "gateway run did not scan at start"
            time.sleep(0.1)
    finally:
        output = processes.stop(process, timeout=20)
    assert process.returncode == 0, output
    assert "scheduler started" in output
    [message] = overdue_messages(reference)
    assert message.cause_key.endswith(":1") and "94490002" in message.body


def run(database_url, tmp_path, *args: str):
    return CliRunner().invoke(main, list(args), env=environment(database_url, tmp_path))


def test_holidays_add_list_remove(database_url, tmp_path, core):
    added = run(database_url, tmp_path, "holidays", "add", "٢٠٢٧-٠٣-٠٩",
                "--through", "2027-03-11", "--name", "عيد الفطر")
    assert added.exit_code == 0, added.output
    assert "3 day(s) added" in added.output
    assert [h.day for h in holidays.listed(core.db)] == [
        date(2027, 3, 9), date(2027, 3, 10), date(2027, 3, 11)]

    listed = run(database_url, tmp_path, "holidays", "list", "--all")
    assert "2027-03-10  Wed  عيد الفطر" in listed.output

    removed = run(database_url, tmp_path, "holidays", "remove", "2027-03-10")
    assert removed.exit_code == 0 and "1 day(s) removed" in removed.output
    assert len(holidays.listed(core.db)) == 2


def test_holidays_refuse_a_bad_date_and_an_inverted_range(database_url, tmp_path, core):
    bad = run(database_url, tmp_path, "holidays", "add", "2027-13-01")
    assert bad.exit_code == 2 and "is not a date" in bad.output
    inverted = run(database_url, tmp_path, "holidays", "add", "2027-03-11",
                   "--through", "2027-03-09")
    assert inverted.exit_code == 1 and "before the first" in inverted.output
    assert holidays.listed(core.db) == []
