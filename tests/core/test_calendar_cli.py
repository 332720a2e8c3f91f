"""``gateway calendar``: the calendar in force, its versions, the overrides; and
``gateway holidays`` writing versions."""

from __future__ import annotations

from click.testing import CliRunner

from gateway.cli import main
from tests.gateway.test_cli import environment


def run(database_url, tmp_path, *args: str):
    return CliRunner().invoke(main, list(args), env=environment(database_url, tmp_path))


def test_overrides_add_list_remove_and_the_versions_they_write(database_url, tmp_path, core):
    added = run(database_url, tmp_path, "calendar", "overrides", "add", "٢٠٢٧-٠٢-٠٨",
                "--through", "2027-03-09", "--hours", "sun-thu=10:00-15:00",
                "--name", "رمضان")
    assert added.exit_code == 0, added.output
    override_id = added.output.split()[1]
    listed = run(database_url, tmp_path, "calendar", "overrides", "list")
    assert f"{override_id}  2027-02-08 – 2027-03-09  رمضان  sun 10:00-15:00;" \
        in listed.output

    clash = run(database_url, tmp_path, "calendar", "overrides", "add", "2027-03-01",
                "--through", "2027-03-20", "--hours", "sun=09:00-12:00")
    assert clash.exit_code == 1 and "overlaps override" in clash.output
    bad = run(database_url, tmp_path, "calendar", "overrides", "add", "2027-04-01",
              "--through", "2027-04-02", "--hours", "sun=9-12")
    assert bad.exit_code == 1 and "not a window such as 07:30-14:30" in bad.output

    holiday = run(database_url, tmp_path, "holidays", "add", "2027-03-10")
    assert holiday.exit_code == 0, holiday.output
    shown = run(database_url, tmp_path, "calendar", "show")
    assert shown.exit_code == 0, shown.output
    assert "week from 2013-06-28: weekend fri+sat; sun 07:30-14:30" in shown.output
    assert "week until then: weekend thu+fri; sun 07:30-14:30" in shown.output
    assert "override 2027-02-08 – 2027-03-09 رمضان: sun 10:00-15:00" in shown.output
    assert "holidays: 1 declared" in shown.output
    assert "holiday added 2027-03-10" in shown.output
    assert "override added 2027-02-08 – 2027-03-09 رمضان" in shown.output
    assert "waiting to be retimed" in shown.output

    removed = run(database_url, tmp_path, "calendar", "overrides", "remove", override_id)
    assert removed.exit_code == 0 and "removed" in removed.output
    again = run(database_url, tmp_path, "calendar", "overrides", "remove", override_id)
    assert again.exit_code == 1 and f"no override {override_id}" in again.output
