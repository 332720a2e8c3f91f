"""README "The two commands": `GATEWAY__GATEWAY__PORT=8090 make run` serves on 8090. The
Makefile's own `run` recipe runs, with a stand-in virtualenv whose `gateway` is this
checkout's (so nothing is installed), on the test database, which already holds a
transaction (so `demo-data --if-empty` loads nothing)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from tests import factories as f
from tests import processes
from tests.conftest import require_peer
from tests.test_architecture import REPO


def stand_in_venv(folder: Path) -> Path:
    """A virtualenv as `make run` expects it, already installed, running this checkout."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    gateway = bin_dir / "gateway"
    gateway.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gateway.cli "$@"\n')
    gateway.chmod(0o755)
    (folder / ".installed-run").touch()  # newer than setup.cfg: no pip install
    return folder


def test_make_run_serves_on_the_port_the_environment_names(database_url, tmp_path, core):
    require_peer(shutil.which("make") is not None, "make")
    core.record_event(f.registered("4471234", "2025-11-23T09:15:00+03:00"))
    port = processes.free_port()
    env = processes.environment(database_url, tmp_path, GATEWAY__GATEWAY__PORT=str(port),
                                PYTHONPATH=str(REPO))
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"VENV={stand_in_venv(tmp_path / 'venv')}"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        # Three interpreters start one after the other (upgrade, demo-data, run): on a
        # loaded 2-core CI machine that alone took over 20 s. A bound on liveness, not speed.
        processes.wait_until_serving(process, port, timeout=90)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        output = processes.stop(process, timeout=60)

    assert f"listening on http://127.0.0.1:{port} " in output, output
    assert "not loaded, the database already has 1 transactions" in output, output
    assert "INFO gateway: stopped" in output and "Traceback" not in output, output
