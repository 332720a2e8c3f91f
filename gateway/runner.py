"""One way to run the gateway's long-lived parts, so that every command stops the same way.

``gateway run``, ``web``, ``sms``, ``email`` and ``scheduler`` differ only in the parts they
start. The runner starts them in order, waits for SIGTERM or Ctrl-C (or for a part that
ends on its own), stops them in the reverse order, each within its own time, and says
how it went as the exit status: 0 when every part stopped cleanly, 1 otherwise.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import select
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

# The commands' own logger: "INFO gateway: stopped" is the last line of a clean stop.
log = logging.getLogger("gateway")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StartFailed(Exception):
    """A part could not start for a reason the operator fixes (a port in use): the message
    is the one line the command ends with, naming the setting to change."""


class StopFlag:
    """A stop asked for, by a signal handler or by another thread, and waited for.

    Setting it takes no lock. A handler that took one, as ``threading.Event.set`` does,
    deadlocks the process for good when the signal lands while the main thread holds that
    same lock inside ``Event.wait`` (Python runs the handler in the main thread, between
    two of its bytecodes): a SIGTERM then stops nothing, ever. The waiter sleeps in
    ``poll`` on a pipe the setter writes a byte to instead.
    """

    def __init__(self) -> None:
        self._set = False
        self._closed = False
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._poll = select.poll()
        self._poll.register(self._read, select.POLLIN)

    def set(self) -> None:
        self._set = True
        if not self._closed:  # once closed, the descriptor's number may be another file's
            with contextlib.suppress(BlockingIOError):  # full: the waiter wakes anyway
                os.write(self._write, b"!")

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float) -> bool:
        """Return when set or after ``timeout`` seconds; whether it is set."""
        if not self._set:
            self._poll.poll(timeout * 1000)
        return self._set

    def close(self) -> None:
        """Let go of the pipe (from the thread that waits); a later ``set`` still sets."""
        if not self._closed:
            self._closed = True
            os.close(self._read)
            os.close(self._write)


class Component(Protocol):
    """A long-lived part of the gateway, as the runner drives it."""

    name: str
    # Seconds the runner waits for ``stop`` before it gives up on the part (exit status 1).
    stop_timeout: float

    def start(self) -> None:
        """Begin the work in the background and return."""

    def ready(self) -> bool:
        """Whether the part does its work now (bound, listening, scheduled)."""

    def health(self) -> bool:
        """False once the part has ended on its own: the run then stops."""

    def stop(self) -> None:
        """End the work, letting what is in flight finish; return when done."""


def _always() -> bool:
    return True


def _nothing() -> None:
    return None


@dataclass
class Part:
    """A component made of callables, for a part whose object has start and stop."""

    name: str
    start: Callable[[], None] = _nothing
    stop: Callable[[], None] = _nothing
    ready: Callable[[], bool] = _always
    health: Callable[[], bool] = _always
    stop_timeout: float = 60.0


def frozen_heap() -> Part:
    """A command's last part: once every other part has started, the objects made so far
    (modules, the app, its routes, templates and settings: hundreds of thousands, alive
    until the process ends) are put out of the garbage collector's reach (``gc.freeze``).
    Its full collections then no longer walk them all, each a pause of every thread of a
    web worker at once: under a flood of failed inquiries the p99 was 32-68 ms in ten
    runs without, 26-33 ms in nine with (bench/inquiry_http.py, same machine, same hour).
    """

    def freeze() -> None:
        gc.collect()  # what start-up left for garbage goes first, not kept for good
        gc.freeze()

    return Part("frozen heap", start=freeze, stop=gc.unfreeze)


class Runner:
    """Start the components in order; on a stop signal, stop them in the reverse order."""

    def __init__(self, components: Sequence[Component], *, check_every: float = 1.0,
                 signals: Sequence[signal.Signals] = STOP_SIGNALS) -> None:
        self.components = list(components)
        self.check_every = check_every
        self.signals = tuple(signals)
        self._stop = StopFlag()
        self._started: list[Component] = []

    def request_stop(self) -> None:
        """What SIGTERM and Ctrl-C do: the run stops at its next look."""
        self._stop.set()

    def stopping(self) -> bool:
        """Whether a stop was asked for: a part whose start waits long (the web tier's,
        for its workers) gives up waiting, and the run stops without the rest started."""
        return self._stop.is_set()

    def ready(self) -> bool:
        """Every component started and ready."""
        return len(self._started) == len(self.components) and all(
            component.ready() for component in self._started)

    def run(self) -> int:
        """Start, wait for a stop, stop; the exit status. A component that fails to start
        stops the ones already started, then its exception goes on (exit status 1)."""
        previous = {signum: signal.signal(signum, self._on_signal) for signum in self.signals}
        try:
            try:
                for component in self.components:
                    if self._stop.is_set():
                        break  # a stop asked for during the start: the rest never start
                    component.start()
                    self._started.append(component)
            except BaseException:
                self._stop_started()
                raise
            self._wait()
            clean = self._stop_started()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self._stop.close()
        if not clean:
            return 1
        log.info("stopped")
        return 0

    def _on_signal(self, _signum: int, _frame: object) -> None:
        # A second signal while stopping changes nothing: the stop is under way.
        self._stop.set()

    def _wait(self) -> None:
        while not self._stop.wait(self.check_every):
            if not all(component.health() for component in self._started):
                return

    def _stop_started(self) -> bool:
        """Stop the started components, the last started first; whether all stopped
        cleanly. One that fails or overruns its time is logged, and the rest still stop."""
        clean = True
        while self._started:
            clean = _stop_one(self._started.pop()) and clean
        return clean


def _stop_one(component: Component) -> bool:
    failure: list[BaseException] = []

    def stop() -> None:
        try:
            component.stop()
        except BaseException as exc:  # reported by the runner's thread below
            failure.append(exc)

    # In a thread of its own, so that a stop that hangs cannot hold the others up.
    thread = threading.Thread(target=stop, name=f"stop-{component.name}", daemon=True)
    thread.start()
    thread.join(component.stop_timeout)
    if thread.is_alive():
        log.warning("%s did not stop within %.0f s; stopping the rest", component.name,
                    component.stop_timeout)
        return False
    if failure:
        log.error("%s stopped with an error", component.name, exc_info=failure[0])
        return False
    return True
