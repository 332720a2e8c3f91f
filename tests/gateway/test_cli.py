from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from core.platform.db import Database
from core.voice.demo import cases_present
from gateway.cli import main
from tests import factories as f
from tests import processes
from tests.test_architecture import REPO, imported_modules

HEADER = "number,registered_at,subject,applicant_name,national_id,mobile\n"


def environment(database_url: str, var_dir: Path, **extra: str | None) -> dict:
    return {"GATEWAY_CONFIG": None, **processes.settings(database_url, var_dir), **extra}


@pytest.fixture
def gateway(database_url, tmp_path, core):
    """Run ``gateway ARGS`` against the test database (``core`` empties it afterwards)."""

    def run(*args: str, **env: str | None):
        return CliRunner().invoke(main, list(args),
                                  env=environment(database_url, tmp_path, **env))

    return run


def test_db_upgrade_migrates_a_fresh_sqlite_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"

    result = CliRunner().invoke(main, ["db", "upgrade"], env=environment(url, tmp_path))

    assert result.exit_code == 0, result.output
    assert "database at revision" in result.stdout
    database = Database(url)
    try:
        assert {"transactions", "notifications", "api_tokens"} <= \
            set(inspect(database.engine).get_table_names())
    finally:
        database.dispose()


def test_a_failed_db_upgrade_says_one_line_without_the_password(tmp_path):
    """Nothing listens on the port: the upgrade fails, as a real process would print it."""
    password = "S3cr%t%(pw)s%"
    url = make_url(f"postgresql+psycopg://gw@127.0.0.1:{processes.free_port()}/gw") \
        .set(password=password).render_as_string(hide_password=False)

    result = subprocess.run([sys.executable, "-m", "gateway.cli", "db", "upgrade"],
                            env=processes.environment(url, tmp_path), capture_output=True,
                            text=True, timeout=60)

    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: the upgrade failed: "), lines
    assert "S3cr" not in result.stderr and quote(password, safe="") not in result.stderr


def test_token_create_prints_a_working_token_alone_on_the_last_line(gateway, client):
    result = gateway("token", "create", "--role", "records", "--name", "records-system")

    assert result.exit_code == 0, result.output
    token = result.stdout.splitlines()[-1]
    assert token.startswith("gw_") and " " not in token
    assert token not in result.stderr
    r = client.put("/api/v1/agencies/MOI", json=f.agency(),
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.json


def test_token_create_refuses_an_unknown_role(gateway):
    result = gateway("token", "create", "--role", "admin", "--name", "x")

    assert result.exit_code == 2
    assert "admin" in result.output


def test_import_of_a_clean_file_exits_zero(gateway, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(HEADER + f"4471001,2025-10-05,طلب إفادة,نورة,{f.NATIONAL_ID},"
                    f"{f.MOBILE}\n", encoding="utf-8")

    result = gateway("import", str(path))

    assert result.exit_code == 0, result.output
    assert "1 rows: 1 imported, 0 already present, 0 rejected" in result.stdout


def test_import_with_a_bad_row_exits_non_zero_and_names_the_line(gateway, tmp_path):
    path = tmp_path / "in.csv"
    errors = tmp_path / "errors.csv"
    path.write_text(HEADER
                    + f"4471001,2025-10-05,طلب إفادة,نورة,{f.NATIONAL_ID},{f.MOBILE}\n"
                    + "4471002,2025-10-05,طلب إفادة,نورة,3234567890,\n", encoding="utf-8")

    result = gateway("import", str(path), "--errors", str(errors))

    assert result.exit_code == 1
    assert "1 imported, 0 already present, 1 rejected" in result.stdout
    assert "line 3 (number 4471002): national_id: National ID must start with 1" \
        in result.stderr
    content = errors.read_text(encoding="utf-8-sig")
    assert "national_id: National ID must start with 1" in content
    assert "3234567890" not in content and ",********90," in content
    assert stat.S_IMODE(errors.stat().st_mode) == 0o600


def test_import_of_a_file_missing_a_column_exits_non_zero_before_importing(gateway,
                                                                          tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("number,registered_at,applicant_name\n4471001,2025-10-05,نورة\n",
                    encoding="utf-8")

    result = gateway("import", str(path))

    assert result.exit_code == 1
    assert "missing column(s): subject" in result.stderr
    assert "Nothing was imported" in result.stderr


def test_import_help_tells_the_columns_and_the_exit_status():
    result = CliRunner().invoke(main, ["import", "--help"])

    assert result.exit_code == 0
    assert "applicant_name" in result.stdout
    assert "1 when any row was" in " ".join(result.stdout.split())


def test_demo_data_if_empty_twice_loads_once(gateway):
    first = gateway("demo-data", "--if-empty", "--transactions", "12")
    second = gateway("demo-data", "--if-empty", "--transactions", "12")

    assert first.exit_code == 0, first.output
    assert "demo data loaded" in first.stdout
    assert "1447001   1234567897" in first.stdout
    assert second.exit_code == 0, second.output
    assert "not loaded, the database already has 12 transactions" in second.stdout


def test_demo_data_if_empty_leaves_a_database_in_use_alone(gateway, core):
    # A live database (transactions, no Citizen's Voice yet) that `make run` starts on:
    # no demo staff with the printed demo password, no made-up cases, no demo agencies.
    core.record_event(f.registered("4471234", "2026-11-23T09:15:00+03:00"))

    result = gateway("demo-data", "--if-empty", "--cases", "5")

    assert result.exit_code == 0, result.output
    assert "not loaded, the database already has 1 transactions and 0 Citizen's Voice " \
        "cases" in result.stdout
    assert core.users.list_users() == []
    assert cases_present(core.db) == 0
    assert not core.users.agency_exists("AMANA")


def test_a_bad_config_value_names_the_key_and_the_variable(gateway):
    result = gateway("db", "upgrade", GATEWAY__GATEWAY__PORT="eighty")

    assert result.exit_code == 1
    assert "gateway.port (GATEWAY__GATEWAY__PORT)" in result.stderr
    assert "Traceback" not in result.output


def test_a_missing_config_file_is_named(gateway, tmp_path):
    missing = tmp_path / "nowhere.yaml"

    result = gateway("db", "upgrade", "--config", str(missing))

    assert result.exit_code == 1
    assert f"configuration file {missing} does not exist" in result.stderr


@pytest.mark.parametrize("where", ["before the command", "after the command"])
def test_config_is_taken_before_or_after_the_command(gateway, tmp_path, where):
    missing = tmp_path / "nowhere.yaml"
    args = (["--config", str(missing), "db", "upgrade"] if where == "before the command"
            else ["db", "upgrade", "--config", str(missing)])

    result = gateway(*args, GATEWAY_CONFIG=str(tmp_path / "from-the-environment.yaml"))

    assert result.exit_code == 1
    assert f"configuration file {missing} does not exist" in result.stderr


def test_the_commands_own_config_wins_over_the_groups(gateway, tmp_path):
    result = gateway("--config", str(tmp_path / "group.yaml"), "db", "upgrade",
                     "--config", str(tmp_path / "own.yaml"))

    assert result.exit_code == 1
    assert "own.yaml does not exist" in result.stderr


def test_run_serves_and_stops_cleanly_on_sigterm(database_url, tmp_path, core):
    port = processes.free_port()
    process = processes.start("run", processes.environment(
        database_url, tmp_path, GATEWAY__GATEWAY__PORT=str(port)))
    try:
        processes.wait_until_serving(process, port)
    finally:
        output = processes.stop(process, timeout=20)
    assert process.returncode == 0, output
    assert output.rstrip().endswith("INFO gateway: stopped")
    assert "Traceback" not in output


def test_token_revoke_stops_the_token_and_says_so(gateway, app):
    token = gateway("token", "create", "--role", "kiosk", "--name", "kiosk-airport-3")
    value = token.output.strip().splitlines()[-1]

    revoked = gateway("token", "revoke", "--name", "kiosk-airport-3")
    again = gateway("token", "revoke", "--name", "kiosk-airport-3")

    assert revoked.exit_code == 0 and "revoked 1 token" in revoked.output
    assert again.exit_code != 0 and "no live token" in again.output
    response = app.test_client().post("/api/v1/inquiries", json={"number": "4471234",
                                      "national_id": f.NATIONAL_ID},
                                      headers={"Authorization": f"Bearer {value}"})
    assert response.status_code == 401


CLI_FILES = ["gateway/cli.py", "gateway/runner.py", "gateway/components.py",
             *sorted(str(p.relative_to(REPO)) for p in (REPO / "gateway/commands").glob("*.py"))]


@pytest.mark.parametrize("path", CLI_FILES)
def test_the_cli_reaches_the_database_only_through_core_functions(path):
    imported = imported_modules((REPO / path).read_text(encoding="utf-8"))

    assert not [name for name in imported
                if name.split(".")[0] == "sqlalchemy" or name in ("core.platform.db", "core.schema")
                or name.endswith(".models")]
