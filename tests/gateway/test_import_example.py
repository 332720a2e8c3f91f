"""README "Importing transactions (CSV)" as an operator types it: `gateway demo-data`, then
`gateway import docs/import-example.csv` as processes, from the repository root. Every row
is imported, at every stage a file can carry; the progress bar is drawn only when stderr
is a terminal; the README names every column the importer takes."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios

from sqlalchemy import select

from core.transactions.importer import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from core.transactions.models import Transaction
from tests import processes
from tests.test_architecture import REPO

EXAMPLE = "docs/import-example.csv"
SUMMARY = "11 rows: {} imported, {} already present, 0 rejected"


def gateway(env: dict[str, str], *args: str, **streams) -> subprocess.CompletedProcess:
    """``gateway ARGS`` in the repository root, as the README runs it."""
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], cwd=REPO, env=env,
                          text=True, timeout=120, **streams)


def on_a_terminal(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess, str]:
    """``gateway ARGS`` with stderr on a pseudo-terminal 100 columns wide; what it drew."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        result = gateway(env, *args, stdout=subprocess.PIPE, stderr=slave)
    finally:
        os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other end is closed and drained
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    return result, drawn.decode("utf-8", "replace")


def test_the_example_imports_every_row_over_the_demo_data(database_url, tmp_path, core):
    env = processes.environment(database_url, tmp_path)
    demo = gateway(env, "demo-data", "--transactions", "3", capture_output=True)
    assert demo.returncode == 0, demo.stdout + demo.stderr

    first = gateway(env, "import", EXAMPLE, capture_output=True)

    assert first.returncode == 0, first.stdout + first.stderr
    assert SUMMARY.format(11, 0) in first.stdout
    assert first.stderr == "", "no progress bar, nothing else, when stderr is a pipe"
    with core.db.read() as session:
        statuses = dict(session.execute(select(Transaction.number, Transaction.status)
                                        .where(Transaction.number.like("4471%"))).all())
    assert len(statuses) == 11
    assert set(statuses.values()) == {"registered", "referred", "issued",
                                      "reply_received", "closed"}

    again, drawn = on_a_terminal(env, "import", EXAMPLE)

    assert again.returncode == 0, again.stdout + drawn
    assert SUMMARY.format(0, 11) in again.stdout
    assert "import: 100%" in drawn and "11/11" in drawn, drawn


def test_without_the_demo_departments_the_rows_naming_one_are_rejected(database_url,
                                                                      tmp_path, core):
    result = gateway(processes.environment(database_url, tmp_path), "import", EXAMPLE,
                     capture_output=True)

    assert result.returncode == 1
    assert "2 imported, 0 already present, 9 rejected" in result.stdout
    assert "department PRIVATE-RIGHTS is not known" in result.stderr


def test_the_example_and_the_readme_name_every_column():
    header = (REPO / EXAMPLE).read_text(encoding="utf-8").splitlines()[0].split(",")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Importing transactions (CSV)"):]
    section = section[:section.index("\n### ", 1)]

    assert set(header) == {*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS}
    assert [name for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
            if f"`{name}`" not in section] == []
    assert f"gateway import {EXAMPLE}" in section and "gateway demo-data" in section
