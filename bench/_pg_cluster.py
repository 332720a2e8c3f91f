"""A throwaway PostgreSQL cluster that a bench can crash and start again.

``.ci/postgres.sh`` keeps one cluster per checkout for the test suite; the chaos bed needs
its own, on a port of its own, to stop it the hard way (``pg_ctl stop -m immediate``:
every backend killed, no checkpoint, as a crash) while the test suite's cluster goes on.
As root it runs as the ``postgres`` user, as .ci/postgres.sh does.

``fsync`` is off (this machine does not crash, only the server does), but
``synchronous_commit`` stays on: an immediate stop must not lose a commit that a client
was told of, or the bed would count losses the gateway did not cause.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                   key=lambda p: [int(x) for x in p.parent.name.split(".") if x.isdigit()])
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def available() -> tuple[bool, str]:
    """Whether initdb and pg_ctl are here, and why not."""
    bindir = _bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        return False, "PostgreSQL's server binaries (initdb, pg_ctl) are not installed"
    return True, ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ThrowawayPostgres:
    """initdb into a temporary directory, start on a free loopback port, crash, restart."""

    def __init__(self, *, max_connections: int = 300) -> None:
        bindir = _bindir()
        if bindir is None:
            raise RuntimeError(available()[1])
        self.bindir = bindir
        self.max_connections = max_connections
        self.port = 0
        self.data: Path | None = None
        self.runas = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/gateway"

    def _as_owner(self, *command: str, check: bool = True,
                  timeout: float = 120) -> subprocess.CompletedProcess:
        argv = [*(["runuser", "-u", self.runas, "--"] if self.runas else []), *command]
        return subprocess.run(argv, capture_output=True, text=True, check=check,
                              timeout=timeout)

    def start(self) -> ThrowawayPostgres:
        # /tmp, not a folder under /root: the postgres user must reach it.
        self.data = Path(tempfile.mkdtemp(prefix="gateway-pg-cluster-", dir="/tmp"))
        if self.runas:
            shutil.chown(self.data, self.runas)
        self.data.chmod(0o700)
        self._as_owner(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                       "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        self.port = free_port()
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                       f"unix_socket_directories = ''\nfsync = off\n"
                       f"full_page_writes = off\nmax_connections = {self.max_connections}\n"
                       "log_min_messages = warning\n")
        self._pg_ctl_start()
        subprocess.run([str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", "postgres", "gateway"], check=True, capture_output=True)
        return self

    def _pg_ctl_start(self) -> None:
        assert self.data is not None
        self._as_owner(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                       str(self.data / "server.log"), "-w", "-t", "60", "start")
        deadline = time.monotonic() + 30
        while subprocess.run([str(self.bindir / "pg_isready"), "-q", "-h", "127.0.0.1",
                              "-p", str(self.port)]).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not come up: {self.log_tail()}")
            time.sleep(0.2)

    def crash(self) -> None:
        """Stop at once, as a crash would (every backend killed, no checkpoint)."""
        assert self.data is not None
        self._as_owner(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                       "-w", "-t", "60", "stop", check=False)

    def restart(self, down_seconds: float = 3.0) -> None:
        """Crash, stay down ``down_seconds``, start again on the same port."""
        self.crash()
        time.sleep(down_seconds)
        self._pg_ctl_start()

    def log_tail(self) -> str:
        path = self.data / "server.log" if self.data else None
        return path.read_text(errors="replace")[-2000:] if path and path.exists() else ""

    def stop(self) -> None:
        if self.data is None:
            return
        self._as_owner(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                       "-w", "-t", "30", "stop", check=False)
        shutil.rmtree(self.data, ignore_errors=True)
        self.data = None

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
