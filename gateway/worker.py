"""A worker process of the web tier (``gateway.webtier``): ``python -m gateway.worker ROLE N``.

Started by the supervisor, never by hand. It reads its orders, one JSON line, from stdin:
the settings the supervisor loaded (so every worker runs exactly those), the listening
sockets' descriptors it inherited, the run directory. It runs its parts with the runner
every command uses (SIGTERM: requests in flight finish, then the core closes, flushing
the inquiry log) and tells the supervisor it serves through its ready pipe (a web worker
just before it takes its first connection). Its stdin stays open while the supervisor
lives: its end stops the worker as SIGTERM would.

``web``: waitress serving the app on the shared sockets. ``background`` (``gateway run``
only): the SMS and e-mail channels when enabled, and the scheduler.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

import click

from gateway.commands.options import configure_logging, describe_failure, open_core
from gateway.runner import STOP_SIGNALS, Component, Part, Runner, StopFlag, frozen_heap
from gateway.settings import Settings
from gateway.webtier import RunDirectory

log = logging.getLogger("gateway")


def main() -> None:
    # A stop asked for while the worker is still starting (a replacement being built when
    # the run stops) is kept for its runner: the worker then starts and stops cleanly.
    early = StopFlag()  # never an Event: a handler must take no lock (StopFlag says why)
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda _signum, _frame: early.set())
    # Blocked by the supervisor until these handlers were set (gateway.webtier): one
    # sent meanwhile is delivered now.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    orders = json.loads(sys.stdin.readline())
    role, number = orders["role"], orders["number"]
    configure_logging(f"{role} {number}" if role == "web" else role)
    settings = Settings.model_validate(orders["settings"])
    try:
        status = run(orders, settings, early)
    except click.ClickException as exc:  # the database's schema is not this version's
        log.error("%s", exc.format_message())
        status = 1
    except Exception as exc:
        log.error("%s", describe_failure(exc, settings.database.url,
                                         debug=orders["debug"]),
                  exc_info=orders["debug"])
        status = 1
    sys.exit(status)


def run(orders: dict[str, Any], settings: Settings, early: StopFlag) -> int:
    from gateway.components import core_part

    core = open_core(settings)
    run_dir = RunDirectory(Path(orders["run_dir"]))
    supervisor = SupervisorWatch()
    watch = Part("supervisor", start=supervisor.start, health=supervisor.alive)
    ready = Part("ready", start=lambda: _tell_ready(orders["ready_fd"]))
    parts: list[Component] = [core_part(core)]
    try:
        if orders["role"] == "web":
            # Ready is told before the first connection is taken: a worker that answered
            # anyone has told it, so its death, even during the start, is one the
            # supervisor replaces, never "ended before it served" (which ends the run at
            # the start and resets the connections waiting on the shared socket).
            parts.extend([watch, ready, _web_server(core, settings, orders, run_dir)])
        else:
            parts.extend([*_background(core, settings, run_dir), watch, ready])
    except BaseException:
        core.close()
        raise
    runner = Runner([*parts, frozen_heap()])
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda _signum, _frame: runner.request_stop())
    if early.is_set():
        runner.request_stop()
    early.close()  # its handlers are replaced: nothing sets it any more
    return runner.run()


def _web_server(core, settings: Settings, orders: dict[str, Any],
                run_dir: RunDirectory) -> Component:
    from gateway.app import create_app
    from gateway.components import WebServer

    # waitress's loop thread (the sockets) and its request threads hand each request to
    # each other twice; with CPython's 5 ms switch interval the loop waits for the GIL
    # behind a busy request thread, and answers stall. 0.5 ms, as the SMS channel: at 32
    # and 256 connections 15-60 % more inquiries a second and a lower p99
    # (bench/inquiry_http.py, interleaved runs on the 2-core machine).
    sys.setswitchinterval(0.0005)
    app = create_app(settings, core)
    if orders["sms_beside"]:
        app.extensions["sms_holder"] = run_dir.sms_holder_reader()
    sockets = [socket.socket(fileno=fd) for fd in orders["sockets"]]
    return WebServer(app, settings, sockets)


def _background(core, settings: Settings, run_dir: RunDirectory) -> list[Component]:
    """As ``gateway run`` started them in one process: SMS, e-mail, the scheduler."""
    from gateway.components import email_part, scheduler_part, sms_part

    parts: list[Component] = []
    if settings.sms.enabled:
        sms, binds = sms_part(core, settings)
        run_dir.record_sms_holders([channel.heartbeat.holder for channel in binds.channels])
        parts.append(sms)
    if settings.email.enabled:
        parts.append(email_part(core, settings, alone=False))
    parts.append(scheduler_part(core, settings))
    return parts


def _tell_ready(fd: int) -> None:
    os.write(fd, b"1")
    os.close(fd)


class SupervisorWatch:
    """Whether the supervisor lives: the end of stdin (its pipe's other end closed, as
    when it dies) says it is gone."""

    def __init__(self) -> None:
        self._gone = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._wait, name="supervisor-watch", daemon=True).start()

    def alive(self) -> bool:
        return not self._gone.is_set()

    def _wait(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stdin.read()
        if not self._gone.is_set():
            self._gone.set()


if __name__ == "__main__":
    main()
