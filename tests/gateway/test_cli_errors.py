"""What an operator meets when a command fails, run as real processes (as systemd or a
shell runs them): one last line on stderr saying what is wrong and which setting or
variable controls it, the documented exit status, no traceback unless ``--debug``, and
never the database password."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from core.calendar import holidays
from core.transactions.models import Transaction
from tests import factories as f
from tests import processes
from tests.gateway.test_cli import HEADER

PASSWORD = "S3cr%t-pw"
DATABASE_SETTING = "database.url (GATEWAY__DATABASE__URL)"


def gateway(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python -m gateway.cli ARGS`` to its end; stdout and stderr apart."""
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def last_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert lines, result
    return lines[-1]


def assert_one_clear_line(result: subprocess.CompletedProcess, *expected: str) -> None:
    """Exit status 1, the last stderr line names what is wrong, no traceback."""
    assert result.returncode == 1, result.stderr
    line = last_line(result)
    assert line.startswith("Error: "), result.stderr
    for text in expected:
        assert text in line, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def unreachable_url(scheme: str = "postgresql+psycopg") -> str:
    """A database URL with a password, on a port where nothing listens."""
    return make_url(f"{scheme}://gw@127.0.0.1:{processes.free_port()}/gw") \
        .set(password=PASSWORD).render_as_string(hide_password=False)


# --- the port the web server listens on ------------------------------------------------


@pytest.fixture
def port_in_use():
    """A port another program listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.mark.parametrize("command", ["web", "run"])
def test_a_port_in_use_ends_in_one_line_naming_the_port_and_the_setting(
        database_url, tmp_path, core, port_in_use, command):
    env = processes.environment(database_url, tmp_path, GATEWAY__GATEWAY__HOST="127.0.0.1",
                                GATEWAY__GATEWAY__PORT=str(port_in_use))

    result = gateway(command, env=env)

    assert_one_clear_line(result, f"cannot listen on 127.0.0.1:{port_in_use}",
                          "already in use", "gateway.port (GATEWAY__GATEWAY__PORT)")


@pytest.mark.parametrize("args", [["--debug", "web"], ["web", "--debug"]],
                         ids=["before the command", "after the command"])
def test_debug_shows_the_traceback_and_still_ends_with_the_line(
        database_url, tmp_path, core, port_in_use, args):
    env = processes.environment(database_url, tmp_path, GATEWAY__GATEWAY__HOST="127.0.0.1",
                                GATEWAY__GATEWAY__PORT=str(port_in_use))

    result = gateway(*args, env=env)

    assert result.returncode == 1, result.stderr
    assert "Traceback" in result.stderr and "Address already in use" in result.stderr
    assert last_line(result).startswith(f"Error: cannot listen on 127.0.0.1:{port_in_use}")


# --- the database --------------------------------------------------------------------


@pytest.mark.parametrize("args", [["db", "upgrade"], ["web"], ["scheduler"],
                                  ["holidays", "list"]])
def test_an_unreachable_database_ends_in_one_line_without_the_password(tmp_path, args):
    result = gateway(*args, env=processes.environment(unreachable_url(), tmp_path))

    assert_one_clear_line(result, "Connection refused", DATABASE_SETTING)
    assert "S3cr" not in result.stderr + result.stdout
    assert result.stdout == ""


@pytest.mark.parametrize("args", [["db", "upgrade"], ["web"], ["token", "revoke",
                                                               "--name", "x"]])
def test_an_unknown_url_scheme_ends_in_one_line_naming_the_setting(tmp_path, args):
    result = gateway(*args, env=processes.environment(unreachable_url("foo"), tmp_path))

    assert_one_clear_line(result, "no database driver for the scheme foo://",
                          DATABASE_SETTING)
    assert "NoSuchModuleError" not in result.stderr and "S3cr" not in result.stderr


# --- gateway import ------------------------------------------------------------------


def clean_file(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(HEADER + f"4471001,2025-10-05,طلب إفادة,نورة,{f.NATIONAL_ID},"
                    f"{f.MOBILE}\n", encoding="utf-8")
    return path


def transactions(core) -> int:
    with core.db.read() as session:
        return session.scalar(select(func.count()).select_from(Transaction))


def test_import_of_a_missing_file_exits_one_as_its_help_says(database_url, tmp_path, core):
    missing = tmp_path / "nowhere.csv"

    result = gateway("import", str(missing),
                     env=processes.environment(database_url, tmp_path))

    assert_one_clear_line(result, f"{missing}: no such file")


def test_import_refuses_an_errors_file_in_a_folder_that_does_not_exist(database_url,
                                                                        tmp_path, core):
    errors = tmp_path / "no" / "such" / "folder" / "errors.csv"

    result = gateway("import", str(clean_file(tmp_path)), "--errors", str(errors),
                     env=processes.environment(database_url, tmp_path))

    assert_one_clear_line(result, f"the folder of the errors file {errors} does not exist",
                          "Nothing was imported")
    assert not (tmp_path / "no").exists()
    assert transactions(core) == 0


def test_import_with_nothing_rejected_writes_no_errors_file_and_says_so(database_url,
                                                                        tmp_path, core):
    errors = tmp_path / "errors.csv"

    result = gateway("import", str(clean_file(tmp_path)), "--errors", str(errors),
                     env=processes.environment(database_url, tmp_path))

    assert result.returncode == 0, result.stderr
    assert "no rows rejected; no errors file written" in result.stdout
    assert "rejected rows and their reasons" not in result.stdout
    assert not errors.exists()
    assert transactions(core) == 1


# --- --config on every group; gateway holidays -------------------------------------


@pytest.mark.parametrize("args", [["holidays", "{config}", "list"],
                                  ["token", "{config}", "revoke", "--name", "x"],
                                  ["db", "{config}", "upgrade"],
                                  ["prompts", "{config}", "render"]],
                         ids=["holidays", "token", "db", "prompts"])
def test_every_group_takes_config_before_its_command(database_url, tmp_path, args):
    missing = tmp_path / "group.yaml"
    env = processes.environment(database_url, tmp_path,
                                GATEWAY_CONFIG=str(tmp_path / "from-the-environment.yaml"))
    args = [part for arg in args for part in
            (["--config", str(missing)] if arg == "{config}" else [arg])]

    result = gateway(*args, env=env)

    assert_one_clear_line(result, f"configuration file {missing} does not exist")


def test_holidays_says_when_a_holiday_is_renamed(database_url, tmp_path, core):
    env = processes.environment(database_url, tmp_path)
    first = gateway("holidays", "add", "2027-03-09", "--name", "عيد الفطر", env=env)

    again = gateway("holidays", "add", "2027-03-09", "--through", "2027-03-10",
                    "--name", "يوم التأسيس", env=env)
    same = gateway("holidays", "add", "2027-03-09", "--name", "يوم التأسيس", env=env)

    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "1 day(s) added, 1 renamed, 0 already holidays"
    assert same.stdout.strip() == "0 day(s) added, 0 renamed, 1 already holidays"
    assert [(h.day, h.name) for h in holidays.listed(core.db)] == [
        (date(2027, 3, 9), "يوم التأسيس"), (date(2027, 3, 10), "يوم التأسيس")]


def test_an_unexpected_failure_is_one_line_without_the_password_and_points_to_debug():
    from gateway.commands.options import describe_failure

    url = unreachable_url()
    failure = RuntimeError(f"boom while talking to {url}\nsecond line")

    line = describe_failure(failure, url)

    assert line.startswith("unexpected failure: RuntimeError: boom while talking to ")
    assert "S3cr" not in line and "second line" not in line
    assert line.endswith("(run the command again with --debug for the traceback)")
