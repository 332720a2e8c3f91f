"""The SMPP session: one transceiver bind, one thread that owns the socket.

(About 420 lines: one thread's loop, bind to reconnect, reads best in one place.)

smpplib is not thread-safe and ``send_message`` does not wait for ``submit_sm_resp``, so
nothing but the session thread touches the client. Other threads hand ``SubmitRequest``s
to ``SmppSession.submit`` (a thread-safe queue) and get a ``Submitted`` that completes with
the SMSC's ``submit_sm_resp``, matched by sequence number (SMSCs answer out of order).

The thread reads with ``select`` before ``read_once`` (a short socket timeout would cut
a PDU in two), hands each read burst of ``deliver_sm`` to a thread of its own (the
deliveries thread: the channel stores and answers the burst there, ``on_deliver``) and
sends their ``deliver_sm_resp`` when it is done, keeps at most ``window`` submits in
flight, paces them with a token bucket counted in segments, sends ``enquire_link`` every
``enquire_link_interval`` seconds, answers the SMSC's ``unbind`` (smpplib does not), and
reconnects with a capped backoff when the connection drops, the bind is refused or the
SMSC has been silent too long.

smpplib's and the socket's exceptions end here: callers see ``ChannelUnavailable``
(the connection ended while a submit was on the wire: the SMSC may have it),
``NotSent`` (a ``ChannelUnavailable`` for a submit that never left this process: the
connection ended, or the session stopped, before its turn) and ``DeliveryFailed``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from channels.sms import frames, metrics
from channels.sms.pdus import (
    ESME_RX_P_APPN,
    ESME_RX_T_APPN,
    ChannelUnavailable,
    DeliverSm,
    DeliveryFailed,
    NotSent,
    SubmitRequest,
    SubmitResult,
    Submitted,
    TokenBucket,
    status_name,
)
from channels.sms.smpp_client import SmppClient, field_text

log = logging.getLogger(__name__)

__all__ = ["SmppSession"]


class _Reconnect(Exception):
    """Leave the bound loop and bind again (the SMSC unbound, went silent, dropped)."""


class _Unbind(_Reconnect):
    """Unbind and wait until binding is allowed again (the bind's slot is not ours)."""


@dataclass
class _InFlight:
    future: Submitted
    sent_at: float


@dataclass
class _Burst:
    """A read burst of ``deliver_sm`` on the deliveries thread: its sequence numbers and
    PDUs (None: unreadable), and the statuses once ``on_deliver`` has returned."""

    client: SmppClient  # the connection its deliver_sm_resp go back on, and no other
    delivered: list[tuple[int, DeliverSm | None]]
    statuses: list[int] | None = None


class SmppSession:
    """A transceiver bind kept up by its own thread; ``submit`` from any thread.

    ``on_deliver`` gets the ``deliver_sm``s of one read burst (everything read since the
    previous burst was handed over) on the deliveries thread and returns one
    ``deliver_sm_resp`` status for each, in order; the responses are sent only after it
    returns, so the channel can store a burst in one commit before any of it is
    acknowledged. One burst at a time: what is read meanwhile waits for the next.

    Why a thread of its own: storing and answering a burst of a few hundred messages
    takes tens of milliseconds, and while the session thread did it the window stood
    still (ten submits per burst in a flood; the answers went out only once the flood
    had been stored, each window then waiting on the channel's loop). The session thread
    now keeps the window turning while the burst is stored.
    """

    read_burst = 256

    def __init__(
        self, *, host: str, port: int, system_id: str, password: str,
        on_deliver: Callable[[list[DeliverSm]], list[int]], system_type: str = "", window: int = 10,
        throughput_per_second: float = 50.0, enquire_link_interval: float = 30.0,
        silence_timeout: float | None = None, response_timeout: float = 30.0,
        reconnect_delay: float = 10.0, reconnect_max: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        may_bind: Callable[[], bool] = lambda: True,
    ) -> None:
        self.host, self.port = host, port
        self.system_id, self.password, self.system_type = system_id, password, system_type
        self.window = window
        self.on_deliver = on_deliver
        self.enquire_link_interval = enquire_link_interval
        # Two enquire_links unanswered (and nothing else heard) means the SMSC is gone.
        self.silence_timeout = silence_timeout or enquire_link_interval * 2.5
        self.response_timeout = response_timeout
        self.reconnect_delay, self.reconnect_max = reconnect_delay, reconnect_max
        self._clock = clock
        # Asked before each bind and while bound: False, and the session unbinds and waits
        # (the channel holds none of the account's bind slots now).
        self.may_bind = may_bind
        # Just under the agreed rate, so the SMSC's own counter never throttles us.
        self._bucket = TokenBucket(throughput_per_second * 0.95, 1.0, clock)
        # Two levels: urgent submits (answers to inquiries) go before every bulk one
        # queued (notifications), whenever they were queued.
        self._urgent: queue.Queue[tuple[SubmitRequest, Submitted]] = queue.Queue()
        self._queue: queue.Queue[tuple[SubmitRequest, Submitted]] = queue.Queue()
        self._held: tuple[SubmitRequest, Submitted] | None = None
        self._in_flight: dict[int, _InFlight] = {}
        self._stopping = threading.Event()
        self._bound = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: SmppClient | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._sleeping = True
        # The burst on the deliveries thread, if any; that thread takes bursts from
        # ``_bursts`` and puts them back in ``_stored`` (None: stop).
        self._burst: _Burst | None = None
        self._bursts: queue.SimpleQueue[_Burst | None] = queue.SimpleQueue()
        self._stored: queue.SimpleQueue[_Burst] = queue.SimpleQueue()
        self._deliveries: threading.Thread | None = None
        self.binds = 0  # successful binds so far, for health and tests
        self.segments_sent = 0  # submit_sm sent so far, for the heartbeat's throughput

    # --- the public side (any thread) ------------------------------------------------

    @property
    def bound(self) -> bool:
        return self._bound.is_set()

    @property
    def running(self) -> bool:
        """Whether the session thread was started and is alive (it never ends on its own;
        a dead one means no submit will ever be answered)."""
        return (self._thread is not None and self._thread.is_alive()
                and self._deliveries is not None and self._deliveries.is_alive())

    def wait_bound(self, timeout: float) -> bool:
        return self._bound.wait(timeout)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the SMPP session is already running")
        self._deliveries = threading.Thread(target=self._deliver, name="smpp-deliveries",
                                            daemon=True)
        self._deliveries.start()
        self._thread = threading.Thread(target=self._run, name="smpp-session", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Unbind, disconnect and end the thread; submits still queued fail."""
        self._stopping.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
        self._bursts.put(None)
        if self._deliveries is not None:
            self._deliveries.join(timeout)
        self._fail_queued(NotSent("not sent: the SMPP session stopped"))
        self._wake_r.close()
        self._wake_w.close()

    def submit(self, request: SubmitRequest) -> Submitted:
        """Queue one submit_sm; the Submitted gives its ``SubmitResult`` or raises
        ``ChannelUnavailable`` / ``DeliveryFailed``."""
        return self.submit_many([request])[0]

    def submit_many(self, requests: list[SubmitRequest], *, urgent: bool = False,
                    sendable: Callable[[], bool] | None = None) -> list[Submitted]:
        """Queue several submit_sm in this order, waking the session thread once;
        ``urgent`` ones go on the wire before any bulk one still queued. One whose
        ``sendable`` says no when its turn comes is not sent: it fails with ``NotSent``
        (the sender's claim on it has lapsed meanwhile)."""
        futures: list[Submitted] = [Submitted(sendable) for _ in requests]
        if self._stopping.is_set():
            for future in futures:
                future.set_exception(NotSent("not sent: the SMPP session stopped"))
            return futures
        line = self._urgent if urgent else self._queue
        for request, future in zip(requests, futures, strict=True):
            line.put((request, future))
        # Only a sleeping session thread needs the wake-up byte (a send() each is costly);
        # it says it sleeps before its last look at the queue, so none is missed.
        if self._sleeping:
            self._wake()
        return futures

    def _wake(self) -> None:
        # OSError: closed on stop, or the buffer is full and the thread is awake anyway.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    # --- the session thread ----------------------------------------------------------

    def _run(self) -> None:
        delay = self.reconnect_delay
        while not self._stopping.is_set():
            if not self.may_bind():
                self._stopping.wait(0.25)
                continue
            try:
                self._connect()
            except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError,
                    OSError) as exc:
                log.warning("SMPP bind to %s:%s failed (%s); retrying in %.0f s",
                            self.host, self.port, exc, delay)
                self._disconnect()
                self._stopping.wait(delay)
                delay = min(delay * 2, self.reconnect_max)
                continue
            delay = self.reconnect_delay
            try:
                self._serve()
            except _Unbind as exc:
                log.warning("SMPP session to %s:%s unbinds: %s", self.host, self.port, exc)
                self._disconnect(unbind=True)
                continue
            except _Reconnect as exc:
                log.warning("SMPP session to %s:%s ends: %s", self.host, self.port, exc)
            except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError,
                    OSError) as exc:
                log.warning("SMPP connection to %s:%s lost: %r", self.host, self.port, exc)
            except Exception:
                # Whatever it was, the thread must live on: a dead session thread with the
                # bind still reported up would silence the short code.
                log.exception("SMPP session to %s:%s failed; binding again",
                              self.host, self.port)
            self._disconnect()
            if not self._stopping.is_set():
                self._stopping.wait(delay)
        self._disconnect()

    def _connect(self) -> None:
        # A long socket timeout: reads happen only after select says data is there,
        # and a timeout in the middle of a PDU would misalign the stream.
        client = SmppClient(self.host, self.port, timeout=max(self.response_timeout, 5.0),
                         allow_unknown_opt_params=True)
        client.set_message_sent_handler(self._on_submit_sm_resp)
        client.set_error_pdu_handler(self._on_error_pdu)
        self._client = client
        client.connect()
        # Small PDUs one after another: without TCP_NODELAY, Nagle's algorithm and the
        # peer's delayed ACK hold some of them back by up to 40 ms.
        client._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.bind_transceiver(system_id=self.system_id, password=self.password,
                                system_type=self.system_type)
        client.last_read_at = time.monotonic()
        self.binds += 1
        self._bound.set()
        metrics.BINDS.inc()
        log.info("SMPP bound to %s:%s as transceiver", self.host, self.port)

    def _disconnect(self, *, unbind: bool = False) -> None:
        self._bound.clear()
        client, self._client = self._client, None
        if client is not None and client._socket is not None:
            if ((unbind or self._stopping.is_set())
                    and client.state == smpplib.consts.SMPP_CLIENT_STATE_BOUND_TRX):
                self._unbind(client)
            with contextlib.suppress(OSError):
                client.disconnect()
        # A burst still being stored is answered on no connection: the SMSC delivers it
        # again, and the channel recognises the redelivery.
        self._burst = None
        in_flight, self._in_flight = self._in_flight, {}
        for entry in in_flight.values():
            if not entry.future.done():
                entry.future.set_exception(ChannelUnavailable(
                    "the connection ended before the submit_sm_resp: the SMSC may have it"))
        if self._held is not None:
            _, future = self._held
            self._held = None
            future.set_exception(NotSent("not sent: the connection ended"))
        self._fail_queued(NotSent("not sent: the connection ended"))

    def _unbind(self, client: SmppClient) -> None:
        try:
            client.send_pdu(smpplib.smpp.make_pdu("unbind", client=client))
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                if not client.buffered() and not select.select(
                        [client._socket], [], [], 0.1)[0]:
                    continue
                pdu = client.read_pdu()
                if pdu.command == "unbind_resp":
                    return
                # An answer to a submit still in flight, ahead of the unbind_resp: recorded
                # as any other (dropped, the message would count as maybe-sent and go twice).
                if pdu.command == "submit_sm_resp":
                    self._on_submit_sm_resp(pdu)
                elif pdu.command == "generic_nack":
                    self._on_error_pdu(pdu)
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError):
            return

    def _fail_queued(self, error: Exception) -> None:
        for line in (self._urgent, self._queue):
            while True:
                try:
                    _, future = line.get_nowait()
                except queue.Empty:
                    break
                if not future.done():
                    future.set_exception(error)

    def queued(self) -> bool:
        """Whether submits wait in the session (queued, or held back by the rate)."""
        return self._held is not None or not (self._urgent.empty() and self._queue.empty())

    def _next_queued(self) -> tuple[SubmitRequest, Submitted]:
        try:
            return self._urgent.get_nowait()
        except queue.Empty:
            return self._queue.get_nowait()

    def _serve(self) -> None:
        client = self._client
        assert client is not None
        last_enquire = time.monotonic()
        while not self._stopping.is_set():
            self._answer_stored(client)
            wait = self._send_ready(client)
            now = time.monotonic()
            # Responses that came while this thread was busy (storing a burst) are read
            # before anything is declared late or silent.
            pending = client.buffered() or select.select([client._socket], [], [], 0)[0]
            if not pending:
                self._expire_in_flight(now)
                if now - client.last_read_at > self.silence_timeout:
                    raise _Reconnect(f"nothing heard for {self.silence_timeout:.0f} s")
            if not self.may_bind():
                raise _Unbind("this channel holds none of the account's binds now")
            if now - last_enquire >= self.enquire_link_interval:
                client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=client))
                last_enquire = now
            timeout = min(wait, 0.5, max(0.0, last_enquire + self.enquire_link_interval - now))
            self._sleeping = True
            if self.queued() and len(self._in_flight) < self.window or client.buffered():
                timeout = 0.0
            readable, _, _ = select.select([client._socket, self._wake_r], [], [], timeout)
            self._sleeping = False
            if self._wake_r in readable:
                try:
                    while self._wake_r.recv(4096):
                        pass
                except BlockingIOError:
                    pass
            if client._socket in readable or client.buffered():
                self._read(client)
            self._answer_stored(client)

    def _read(self, client: SmppClient) -> None:
        """Read every PDU the socket holds (up to ``read_burst``), then answer the burst's
        deliver_sms together."""
        for _ in range(self.read_burst):
            client.read_once(auto_send_enquire_link=False)
            pdu = client.last_pdu
            if pdu is not None and pdu.command == "unbind":
                self._answer_all(client)
                resp = smpplib.smpp.make_pdu("unbind_resp", client=client)
                resp.sequence = pdu.sequence
                client.send_pdu(resp)
                raise _Reconnect("the SMSC unbound")
            if client.buffered():
                continue
            readable, _, _ = select.select([client._socket], [], [], 0)
            if not readable:
                break
        self._hand_over(client)

    # --- deliveries (the burst on the deliveries thread) -----------------------------

    def _hand_over(self, client: SmppClient) -> None:
        """Give the deliveries read so far (up to ``read_burst``) to the deliveries
        thread, unless it is busy with a burst (then they wait for the next)."""
        if self._burst is None and client.delivered:
            delivered = client.delivered[:self.read_burst]
            del client.delivered[:self.read_burst]
            self._burst = _Burst(client, delivered)
            self._bursts.put(self._burst)

    def _answer_stored(self, client: SmppClient) -> None:
        """Send the ``deliver_sm_resp`` of the burst the deliveries thread finished (if
        it has), then hand it the deliveries read meanwhile."""
        while True:
            try:
                burst = self._stored.get_nowait()
            except queue.Empty:
                break
            if burst is not self._burst or burst.client is not client:
                continue  # of a connection that ended: the SMSC delivers it again
            self._burst = None
            self._respond(client, burst)
        self._hand_over(client)

    def _answer_all(self, client: SmppClient) -> None:
        """Store and answer every delivery read, waiting for the deliveries thread (the
        SMSC unbinds: nothing read may go unanswered)."""
        while self._burst is not None or client.delivered:
            self._hand_over(client)
            burst = self._burst
            assert burst is not None
            while True:
                done = self._stored.get(timeout=self.response_timeout)
                if done is burst:
                    break
            self._burst = None
            self._respond(client, burst)

    @staticmethod
    def _respond(client: SmppClient, burst: _Burst) -> None:
        statuses = iter(burst.statuses or ())
        client.send_frames("deliver_sm_resp", [frames.deliver_sm_resp(
            sequence, ESME_RX_P_APPN if pdu is None else next(statuses, ESME_RX_T_APPN))
            for sequence, pdu in burst.delivered])

    def _deliver(self) -> None:
        """The deliveries thread: each burst through ``on_deliver``, then back to the
        session thread (woken for it)."""
        while True:
            burst = self._bursts.get()
            if burst is None:
                return
            readable = [pdu for _, pdu in burst.delivered if pdu is not None]
            try:
                burst.statuses = self.on_deliver(readable) if readable else []
            except Exception:
                log.exception("%d deliver_sm not handled; asking the SMSC to redeliver",
                              len(readable))
                burst.statuses = [ESME_RX_T_APPN] * len(readable)
            self._stored.put(burst)
            self._wake()

    def _send_ready(self, client: SmppClient) -> float:
        """Send queued submits the window and the rate allow, in one write; seconds until
        the next may go."""
        pdus = []
        wait = 0.5
        while len(self._in_flight) + len(pdus) < self.window:
            if self._held is None:
                try:
                    self._held = self._next_queued()
                except queue.Empty:
                    break
            request, future = self._held
            if future.cancelled():
                self._held = None
                continue
            if not future.sendable():
                self._held = None
                future.set_exception(NotSent("not sent: its claim lapsed before its turn"))
                continue
            if not self._bucket.take():
                wait = self._bucket.wait_time()
                break
            self._held = None
            sequence = client.next_sequence()
            pdus.append((sequence, frames.submit_sm(sequence, request), future))
        if pdus:
            sent_at = time.monotonic()
            for sequence, _, future in pdus:
                self._in_flight[sequence] = _InFlight(future, sent_at)
            client.send_frames("submit_sm", [pdu for _, pdu, _ in pdus])
            metrics.SEGMENTS_SENT.inc(len(pdus))
            self.segments_sent += len(pdus)
        return wait

    def _expire_in_flight(self, now: float) -> None:
        for sequence, entry in list(self._in_flight.items()):
            if now - entry.sent_at > self.response_timeout:
                del self._in_flight[sequence]
                if not entry.future.done():
                    entry.future.set_exception(DeliveryFailed(
                        f"no submit_sm_resp within {self.response_timeout:.0f} s"))

    # --- smpplib's handlers (run inside read_once, on the session thread) ------------

    def _on_submit_sm_resp(self, pdu, **_kwargs) -> None:
        # smpplib calls this for error statuses too: the status decides, not the call.
        entry = self._in_flight.pop(pdu.sequence, None)
        if entry is None or entry.future.done():
            log.warning("submit_sm_resp for unknown sequence %s", pdu.sequence)
            return
        message_id = field_text(getattr(pdu, "message_id", None)) or None
        entry.future.set_result(SubmitResult(pdu.status, message_id if pdu.status == 0 else None))

    def _on_error_pdu(self, pdu) -> None:
        # Replacing smpplib's default, which raises and would end the read loop.
        if pdu.command == "generic_nack":
            entry = self._in_flight.pop(pdu.sequence, None)
            if entry is not None and not entry.future.done():
                entry.future.set_result(SubmitResult(pdu.status))
        elif pdu.command != "submit_sm_resp":
            log.warning("SMPP %s with status %s", pdu.command, status_name(pdu.status))
