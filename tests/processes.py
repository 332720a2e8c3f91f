"""`gateway <command>` in a process of its own, as systemd runs it: started with the
test's settings in its environment, stopped with a signal, its output kept for the
assertion message even when it hangs and has to be killed."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import NATIONAL_ID_KEY


def settings(database_url: str, var_dir: Path) -> dict[str, str]:
    """What every test's gateway runs with: the test database, a var dir, the keys."""
    return {"GATEWAY__DATABASE__URL": database_url, "GATEWAY__VAR_DIR": str(var_dir),
            "GATEWAY__SECURITY__NATIONAL_ID_KEY": NATIONAL_ID_KEY,
            "GATEWAY__GATEWAY__SECRET_KEY": "test-secret"}


def environment(database_url: str | None, var_dir: Path, **more: str) -> dict[str, str]:
    """This process's environment less its GATEWAY* variables (a developer's own would
    leak in), plus ``settings`` (only the var dir without a database URL: the kiosk has
    no database), then ``more`` (GATEWAY__SECTION__KEY=value)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY")}
    env["GATEWAY__VAR_DIR"] = str(var_dir)
    # As make_settings: no quiet hours, or the suite would fail from 22:00 in Riyadh.
    env["GATEWAY__SMS__QUIET_HOURS__ENABLED"] = "false"
    # One web worker (the supervisor still starts it apart): each worker is an interpreter
    # that imports the whole app, and the suite's processes share the machine's cores.
    # tests/gateway/test_webtier.py runs several.
    env["GATEWAY__GATEWAY__WORKERS"] = "1"
    if database_url is not None:
        env.update(settings(database_url, var_dir))
    env.update(more)
    return env


def free_port() -> int:
    """A TCP port nothing listens on now, for a `gateway run` of the test's own."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: str, env: dict[str, str]) -> subprocess.Popen:
    """``python -m gateway.cli <command>``; stdout and stderr together, as text."""
    return subprocess.Popen([sys.executable, "-m", "gateway.cli", command], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python -m gateway.cli <command>`` to its end (a minute at most); stdout, stderr."""
    return subprocess.run([sys.executable, "-m", "gateway.cli", command], env=env,
                          capture_output=True, text=True, timeout=60)


def stop(process: subprocess.Popen, how: signal.Signals = signal.SIGTERM,
         timeout: float = 30) -> str:
    """Send ``how`` (unless the process has ended) and wait for the exit; what it wrote.
    One that does not end within ``timeout`` is killed, so its returncode fails the
    test's exit-status assertion with this output as the message."""
    if process.poll() is None:
        process.send_signal(how)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # Its whole group when it leads one (`make run`): else the children it started
        # keep the output pipe open, and the wait for it hangs as long again.
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(process.pid) == process.pid:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
        output, _ = process.communicate(timeout=timeout)
    return output


def wait_until_serving(process: subprocess.Popen, port: int, timeout: float = 20) -> None:
    """Poll the process's /healthz until it answers 200; fail as soon as it has died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                assert r.status == 200
                return
        except OSError:
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the gateway did not come up"
            time.sleep(0.2)
