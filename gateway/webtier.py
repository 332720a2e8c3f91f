"""The web tier on every core: one supervisor process, several worker processes.

``gateway web`` and ``gateway run`` bind the listening socket once, in the process the
command started (the supervisor), then start ``gateway.workers`` web workers: fresh
interpreters (``python -m gateway.worker``; never a fork of this process, whose threads
and database connections a fork would copy half-made), each running waitress on the
inherited socket, where the kernel hands each new connection to one of them. Waitress
reads a whole request before a thread takes it, so a slow client costs a socket, not a
worker. Under ``gateway run`` one more worker, the background one, runs the SMS and
e-mail channels and the scheduler: once, not once per web worker.

A worker that dies (a crash, SIGKILL, the OOM killer) is replaced at once; one that ends
before it serves is started again after 1, 2, 4, 8 s, and the fifth such end in a row
ends the run (exit status 1); at the start, the first such end does. On SIGTERM or
Ctrl-C the supervisor stops the web workers (each lets its requests in flight finish),
then the background one, and exits 0 when every one stopped cleanly. A worker whose
supervisor is gone (even by SIGKILL) stops too.

What the workers share is kept outside their memory: the database (rate limits, leases,
the SMS channel's heartbeat, staff sessions, IVR calls) and the run directory: the
Prometheus multiprocess files (``/metrics`` sums every worker's counters, those of
workers since replaced too) and the name of the SMS channel's heartbeat, for /healthz.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.runner import STOP_SIGNALS, StartFailed

if TYPE_CHECKING:
    from gateway.settings import Settings

log = logging.getLogger("gateway")

# The directory holding the ``gateway`` package: the workers import the same code.
ROOT = Path(__file__).resolve().parent.parent
METRICS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

# What a worker runs: a fresh interpreter (the role and number follow).
WORKER_PROGRAM = (sys.executable, "-m", "gateway.worker")
# Seconds a worker has to build its app and serve (a loaded machine, a slow database).
START_SECONDS = 120.0
# Ends before serving, in a row, after which the run ends instead of starting it again;
# the wait before the next try, doubled after each.
FAILED_STARTS = 5
RETRY_AFTER = 1.0
# How often the supervisor looks at its workers (a dead one is replaced this soon).
LOOK_EVERY = 0.1
# The longest a worker's own runner takes to stop its parts (each within its own time:
# gateway.components), and a margin; past it the worker is killed (exit status 1).
STOP_SECONDS = {"web": 15.0 + 30.0 + 5.0,
                "background": 60.0 * 3 + 30.0 + 10.0}


def cores() -> int:
    """The cores this process may run on (its CPU affinity: a container's or taskset's
    share, not the whole machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def worker_count(settings: Settings) -> int:
    """``gateway.workers``, or one per core when it is 0."""
    return settings.gateway.workers or cores()


@dataclass(frozen=True)
class RunDirectory:
    """What the workers of one run share on disk: a private temporary directory,
    removed when the run ends (systemd's PrivateTmp removes one a killed run left)."""

    path: Path

    @property
    def metrics(self) -> Path:
        return self.path / "metrics"

    @property
    def sms_holder(self) -> Path:
        return self.path / "sms-holder"

    def record_sms_holders(self, holders: list[str]) -> None:
        """Name the SMS binds' heartbeat holders (the background worker's, once they
        start), one a line, whole or not at all."""
        temporary = self.sms_holder.with_suffix(".new")
        temporary.write_text("\n".join(holders))
        temporary.replace(self.sms_holder)

    def sms_holder_reader(self) -> Callable[[], str | None]:
        """For a web worker's /healthz: the holders of the SMS binds running beside it,
        one a line (None before they started)."""

        def read() -> str | None:
            try:
                return self.sms_holder.read_text() or None
            except FileNotFoundError:
                return None

        return read


@contextmanager
def run_directory() -> Iterator[RunDirectory]:
    path = Path(tempfile.mkdtemp(prefix="gateway-run-"))
    try:
        run = RunDirectory(path)
        run.metrics.mkdir()
        yield run
    finally:
        shutil.rmtree(path, ignore_errors=True)


def ended(returncode: int) -> str:
    """How a process ended, in words: "exit status 1", "killed by SIGKILL"."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


class Worker:
    """One place in the web tier ("web 2", "background") and the process now in it."""

    def __init__(self, role: str, number: int) -> None:
        self.role = role
        self.number = number
        self.label = f"web worker {number}" if role == "web" else "background worker"
        self.process: subprocess.Popen[bytes] | None = None
        self.ready = False
        self.failed_starts = 0
        self.restart_at: float | None = None
        self._ready_pipe: int | None = None

    def spawn(self, orders: dict[str, Any], pass_fds: tuple[int, ...],
              env: dict[str, str]) -> None:
        """Start a fresh interpreter in this place, its orders on its stdin."""
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        # The new interpreter starts with the stop signals blocked (a child inherits its
        # parent's thread's mask): a stop sent while it still imports, before
        # gateway.worker has its handlers, waits for them instead of killing it
        # (SIGTERM's default), and the worker then starts and stops cleanly.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            self.process = subprocess.Popen(
                [*WORKER_PROGRAM, self.role, str(self.number)],
                stdin=subprocess.PIPE, pass_fds=(*pass_fds, write_end), env=env,
                # Not in the terminal's process group: Ctrl-C reaches the supervisor,
                # which stops the workers in order.
                process_group=0)
        except BaseException:
            os.close(read_end)
            raise
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            os.close(write_end)
        self._ready_pipe = read_end
        self.ready = False
        self.restart_at = None
        assert self.process.stdin is not None
        # Stdin stays open: its end tells the worker the supervisor is gone.
        self.process.stdin.write(json.dumps({**orders, "ready_fd": write_end}).encode()
                                 + b"\n")
        self.process.stdin.flush()
        log.info("%s started (pid %d)", self.label, self.process.pid)

    def look(self) -> int | None:
        """Note whether the worker serves now; its return code once it has ended."""
        if self.process is None:
            return None
        if not self.ready and self._ready_pipe is not None:
            with suppress(BlockingIOError):
                self.ready = os.read(self._ready_pipe, 1) == b"1"
        return self.process.poll()

    def forget(self) -> None:
        """Let go of an ended process's pipes."""
        if self._ready_pipe is not None:
            os.close(self._ready_pipe)
            self._ready_pipe = None
        if self.process is not None and self.process.stdin is not None:
            with suppress(OSError):  # it is gone: nothing buffered matters
                self.process.stdin.close()

    def signal(self, signum: signal.Signals) -> None:
        if self.process is not None and self.process.poll() is None:
            with suppress(ProcessLookupError):
                self.process.send_signal(signum)


class Workers:
    """The supervisor's one component: the web workers on ``sockets`` and, when
    ``background``, the worker running the channels and the scheduler."""

    name = "workers"

    def __init__(self, settings: Settings, sockets: list[socket.socket], run: RunDirectory,
                 *, web: int, background: bool, debug: bool = False,
                 stop_requested: Callable[[], bool] = lambda: False) -> None:
        self.run = run
        # The runner's word that a stop was asked for (SIGTERM during a slow start).
        self._stop_requested = stop_requested
        self.sockets = sockets
        self.web = [Worker("web", number) for number in range(1, web + 1)]
        self.background = [Worker("background", 1)] if background else []
        self.stop_timeout = (STOP_SECONDS["web"] + STOP_SECONDS["background"] * background
                             + 10.0)
        self._orders = {
            "settings": settings.model_dump(mode="json"), "run_dir": str(run.path),
            "sockets": [sock.fileno() for sock in sockets], "debug": debug,
            "sms_beside": background and settings.sms.enabled}
        self._env = {**os.environ, METRICS_VARIABLE: str(run.metrics),
                     "PYTHONPATH": os.pathsep.join(
                         [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        self._stopping = threading.Event()
        self._gave_up: str | None = None
        self._monitor: threading.Thread | None = None

    @property
    def all(self) -> list[Worker]:
        return [*self.web, *self.background]

    def start(self) -> None:
        """Start every worker and wait until each serves; StartFailed (the others
        stopped) when one ends first. A stop asked for meanwhile ends the wait: ``stop``
        then stops them, started or not (each keeps the signal until it can obey it)."""
        for worker in self.all:
            self._spawn(worker)
        deadline = time.monotonic() + START_SECONDS
        while not all(worker.ready for worker in self.all):
            if self._stop_requested():
                return
            for worker in self.all:
                returncode = worker.look()
                if returncode is not None and not worker.ready:
                    self._stop_all()
                    raise StartFailed(f"the {worker.label} ended before it served "
                                      f"({ended(returncode)}); the lines above say why")
            if time.monotonic() > deadline:
                self._stop_all()
                raise StartFailed(f"the workers did not serve within {START_SECONDS:.0f} s")
            time.sleep(LOOK_EVERY)
        self._monitor = threading.Thread(target=self._watch, name="workers", daemon=True)
        self._monitor.start()

    def ready(self) -> bool:
        return not self._stopping.is_set() and all(worker.ready for worker in self.all)

    def health(self) -> bool:
        """False once a worker could not be started again: the run then stops."""
        return self._gave_up is None

    def stop(self) -> None:
        """The web workers first (their requests in flight finish), then the background
        one; raises when one did not stop cleanly, or the run ended for a worker."""
        self._stopping.set()
        if self._monitor is not None:
            self._monitor.join()
        unclean = self._stop_group(self.web, STOP_SECONDS["web"])
        unclean += self._stop_group(self.background, STOP_SECONDS["background"])
        if self._gave_up is not None:
            raise RuntimeError(self._gave_up)
        if unclean:
            raise RuntimeError("; ".join(unclean))

    def pids(self) -> dict[str, int]:
        """The process in each place now (for tests and the operator's log)."""
        return {worker.label: worker.process.pid for worker in self.all
                if worker.process is not None}

    def _spawn(self, worker: Worker) -> None:
        worker.spawn({**self._orders, "role": worker.role, "number": worker.number},
                     tuple(sock.fileno() for sock in self.sockets), self._env)

    def _watch(self) -> None:
        """Replace each worker that ends, until the run stops."""
        while not self._stopping.wait(LOOK_EVERY):
            for worker in self.all:
                if self._stopping.is_set():
                    return
                try:
                    self._look_after(worker)
                except Exception:  # never a supervisor that silently stopped replacing
                    log.exception("could not restart the %s", worker.label)
                    self._give_up(f"the {worker.label} could not be restarted")
                if self._gave_up is not None:
                    return

    def _look_after(self, worker: Worker) -> None:
        if worker.restart_at is not None:
            if time.monotonic() >= worker.restart_at:
                self._spawn(worker)
            return
        returncode = worker.look()
        if returncode is None:
            if worker.ready:
                worker.failed_starts = 0
            return
        worker.forget()
        if worker.ready:
            log.warning("the %s (pid %d) ended (%s); starting another", worker.label,
                        worker.process.pid if worker.process else 0, ended(returncode))
            self._spawn(worker)
            return
        worker.failed_starts += 1
        if worker.failed_starts >= FAILED_STARTS:
            self._give_up(f"the {worker.label} ended before it served "
                          f"{FAILED_STARTS} times in a row ({ended(returncode)})")
            return
        delay = RETRY_AFTER * 2.0 ** (worker.failed_starts - 1)
        log.warning("the %s ended before it served (%s); starting it again in "
                    "%.0f s", worker.label, ended(returncode), delay)
        worker.restart_at = time.monotonic() + delay

    def _give_up(self, why: str) -> None:
        log.error("%s: stopping", why)
        self._gave_up = why

    def _stop_group(self, workers: list[Worker], seconds: float) -> list[str]:
        """SIGTERM to each, then wait for all, killing those still running after
        ``seconds``; what was unclean, in words."""
        for worker in workers:
            worker.signal(signal.SIGTERM)
        deadline = time.monotonic() + seconds
        unclean = []
        for worker in workers:
            process = worker.process
            if process is None or worker.restart_at is not None:
                continue  # no process in this place (waiting to start again)
            try:
                returncode = process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("the %s did not stop within %.0f s; killing it",
                            worker.label, seconds)
                process.kill()
                returncode = process.wait()
            worker.forget()
            if returncode != 0:
                unclean.append(f"the {worker.label} stopped with {ended(returncode)}")
        return unclean

    def _stop_all(self) -> None:
        self._stop_group(self.web, STOP_SECONDS["web"])
        self._stop_group(self.background, STOP_SECONDS["background"])
