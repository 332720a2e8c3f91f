"""What the SMPP session and its callers exchange: command statuses, the submit and
deliver_sm values, a submit's future, the errors callers see, and the segment pacing.

Plain values: the channel's parts speak these without touching smpplib's client, which
only the session thread does (``smpp``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import smpplib.consts

log = logging.getLogger(__name__)

ESME_ROK = 0x00
ESME_RX_T_APPN = 0x64  # temporary: the SMSC delivers the PDU again later
# Permanent: the SMSC must not deliver it again. For a PDU that cannot be read, whose same
# bytes would fail again after every redelivery.
ESME_RX_P_APPN = 0x65

_STATUS_NAMES = {
    value: name.removeprefix("SMPP_")
    for name, value in vars(smpplib.consts).items()
    if name.startswith("SMPP_ESME_") and isinstance(value, int)
}


def status_name(status: int) -> str:
    """``ESME_RTHROTTLED (0x58)``: an SMPP command_status as an operator reads it."""
    return f"{_STATUS_NAMES.get(status, 'ESME_UNKNOWN')} (0x{status:02x})"


class ChannelUnavailable(Exception):
    """No bind to the SMSC, or the connection dropped while a submit was in flight."""


class NotSent(ChannelUnavailable):
    """The submit never reached the wire (the connection ended or the session stopped
    before its turn): nothing was tried, the SMSC cannot have it."""


class DeliveryFailed(Exception):
    """The SMSC did not answer a submit in time."""


@dataclass(frozen=True)
class SubmitRequest:
    """One ``submit_sm`` (one segment of a message)."""

    source_addr: str
    destination_addr: str
    short_message: bytes
    data_coding: int
    esm_class: int = 0
    registered_delivery: bool = True
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 1
    dest_addr_npi: int = 1


@dataclass(frozen=True)
class SubmitResult:
    """The ``submit_sm_resp``: its status and, when accepted, the SMSC's message id."""

    status: int
    message_id: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == ESME_ROK


@dataclass(frozen=True)
class DeliverSm:
    """A ``deliver_sm`` as plain values (MO text or a delivery receipt)."""

    source_addr: str
    destination_addr: str
    esm_class: int
    data_coding: int
    short_message: bytes
    sequence: int
    sar_msg_ref_num: int | None = None
    sar_total_segments: int | None = None
    sar_segment_seqnum: int | None = None
    receipted_message_id: str | None = None
    message_state: int | None = None


class Submitted:
    """The answer to one queued submit_sm, once the SMSC gives it.

    A lighter ``concurrent.futures.Future`` (which builds a Condition apiece): nothing
    waits on it; the channel polls ``done`` and is called back. Completed once, on the
    session thread; callbacks may be added from any thread.
    """

    __slots__ = ("_outcome", "_callbacks", "_sendable")
    _lock = threading.Lock()

    def __init__(self, sendable: Callable[[], bool] | None = None) -> None:
        self._outcome: SubmitResult | BaseException | None = None
        self._callbacks: list[Callable[[Submitted], object]] = []
        self._sendable = sendable

    def sendable(self) -> bool:
        """Whether it may still go on the wire (its sender's ``sendable`` says so)."""
        return self._sendable is None or self._sendable()

    def done(self) -> bool:
        return self._outcome is not None

    def cancelled(self) -> bool:
        return False

    def result(self, timeout: float | None = 0) -> SubmitResult:
        """The ``SubmitResult``; raises what the submit failed with, or TimeoutError
        while it is not answered yet (this never waits)."""
        outcome = self._outcome
        if outcome is None:
            raise TimeoutError("the submit_sm has no answer yet")
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def set_result(self, result: SubmitResult) -> None:
        self._finish(result)

    def set_exception(self, error: BaseException) -> None:
        self._finish(error)

    def add_done_callback(self, callback: Callable[[Submitted], object]) -> None:
        with self._lock:
            if self._outcome is None:
                self._callbacks.append(callback)
                return
        callback(self)

    def _finish(self, outcome: SubmitResult | BaseException) -> None:
        with self._lock:
            if self._outcome is not None:
                return
            self._outcome = outcome
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback(self)
            except Exception:
                log.exception("a submit's callback failed")


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; the clock is injectable."""

    def __init__(self, rate: float, burst: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens = burst
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def take(self, tokens: float = 1.0) -> bool:
        """Take ``tokens`` when there are enough; False (nothing taken) otherwise."""
        self._refill()
        if self._tokens + 1e-9 >= tokens:
            self._tokens -= tokens
            return True
        return False

    def wait_time(self, tokens: float = 1.0) -> float:
        """Seconds until ``take(tokens)`` would succeed."""
        self._refill()
        return max(0.0, (tokens - self._tokens) / self.rate)
