"""The gateway's long-lived parts as the runner's components: the core they share, the web
server, the SMS and e-mail channels, the scheduler.

The channel and server libraries are imported only by the part that needs them: a kiosk
machine runs ``gateway kiosk`` without them.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from gateway.runner import Part, StartFailed

if TYPE_CHECKING:
    from core.service import Core
    from gateway.settings import Settings


def core_part(core: Core) -> Part:
    """The core, first started and last stopped: every other part works through it."""
    return Part("core", stop=core.close, stop_timeout=30.0)


# Seconds a stopping web server waits for the requests in flight and their answers
# (within its stop_timeout: then its request threads have 5 s more).
DRAIN_SECONDS = 9.0
# Connections one web process holds open at once (waitress's default is 100). Idle
# keep-alive connections count: a web tier of N workers on one socket holds N times this,
# and a worker at its limit leaves new connections to the others.
CONNECTION_LIMIT = 1000


class WebServer:
    """Waitress serving the app from a thread of its own, and closed from that thread.

    It listens on ``sockets`` when given (bound once by the web tier's supervisor and
    shared by every worker: ``gateway.webtier``), else binds ``gateway.host`` and
    ``gateway.port`` itself. Closing its sockets from another thread pulls them from
    under its poll() (EBADF in the loop); so ``stop`` only asks, and the loop ends itself
    as waitress's own ``run`` does on SIGTERM: the request threads finish what they are
    doing (5 s at most), then the listening socket closes.
    """

    name = "web"
    stop_timeout = 15.0

    def __init__(self, app: Any, settings: Settings,
                 sockets: list[socket.socket] | None = None) -> None:
        from waitress.server import create_server
        from waitress.trigger import trigger

        # The server's map is ours, so that a host with several addresses (waitress's
        # MultiSocketServer) is served by the same loop.
        self._map: dict = {}
        host, port = settings.gateway.host, settings.gateway.port
        where: dict[str, Any] = {"sockets": sockets} if sockets else {"host": host,
                                                                      "port": port}
        try:
            # poll(), not select(): select() cannot watch a descriptor above 1023.
            self.server = create_server(app, map=self._map, threads=settings.gateway.threads,
                                        ident="gateway", connection_limit=CONNECTION_LIMIT,
                                        asyncore_use_poll=True, **where,
                                        **proxy_options(settings.gateway.trusted_proxies))
        except OSError as exc:
            raise StartFailed(bind_failure(exc, host, port)) from exc
        _send_answers_whole(self._map)
        self._wake = trigger(self._map)  # pulled by ``stop`` to end the select() at once
        self._stopping = threading.Event()
        self._closing = threading.Lock()
        self._closed = False
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="web-server", daemon=True)
        self._thread.start()

    def ready(self) -> bool:
        return self.health() and not self._stopping.is_set()

    def health(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stopping.set()
        with self._closing:
            if not self._closed:
                self._wake.pull_trigger()
        if self._thread is not None:
            self._thread.join()
        if self._failure is not None:
            # As when waitress's loop raised in the foreground: the exit status says so.
            raise self._failure

    def _serve(self) -> None:
        adj = self.server.adj
        drain_until: float | None = None
        try:
            while self._map:
                if self._stopping.is_set():
                    if drain_until is None:
                        drain_until = time.monotonic() + DRAIN_SECONDS
                        self._stop_listening()
                    if self._drained() or time.monotonic() > drain_until:
                        break
                poll_once(adj.asyncore_loop_timeout, self._map)
        except BaseException as exc:
            self._failure = exc
        finally:
            self.server.task_dispatcher.shutdown()
            with self._closing:  # no pull on a closed trigger (its fd may be reused)
                self.server.close()
                self._wake.close()
                self._closed = True

    def _stop_listening(self) -> None:
        """No new connection from here on (the other workers still accept on the shared
        socket). Not closed yet: the request threads wake the loop through its trigger."""
        from waitress.server import BaseWSGIServer

        for dispatcher in list(self._map.values()):
            if isinstance(dispatcher, BaseWSGIServer):
                dispatcher.accepting = False

    def _drained(self) -> bool:
        """Close the connections with nothing in flight (a keep-alive client opens its
        next one to another worker); whether none is left. A request being received,
        served or its answer sent keeps its connection until it is done."""
        from waitress.channel import HTTPChannel

        busy = False
        for dispatcher in list(self._map.values()):
            if not isinstance(dispatcher, HTTPChannel):
                continue
            if dispatcher.requests or dispatcher.request is not None \
                    or dispatcher.total_outbufs_len:
                busy = True
            else:
                dispatcher.handle_close()
        return not busy


def _send_answers_whole(channels: dict[int, Any]) -> None:
    """Each listening server's connections send a small answer in one write
    (gateway.waitress_channel)."""
    from waitress.server import BaseWSGIServer

    from gateway.waitress_channel import OneSendChannel

    for dispatcher in channels.values():
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.channel_class = OneSendChannel


# How soon the loop looks again at a channel it left alone because a request thread was
# writing to it (``poll_once``), in milliseconds: poll's finest. On a quiet machine 5 ms
# left the workers idle between answers (bench/inquiry_http.py, found, 32 connections:
# 2,028 req/s on 1.15 cores at 5 ms; 4,857 req/s on 1.83 cores at 1 ms; 3,724 with
# waitress's own loop).
WRITER_RECHECK_MS = 1


def poll_once(timeout: float, channels: dict[int, Any]) -> None:
    """One turn of waitress's loop (``wasyncore.poll2``), without its busy wait.

    Waitress watches a connection for writing whenever its answer has bytes not yet sent,
    even while the request thread writing that answer holds its buffer and is sending them
    itself (``HTTPChannel.write_soon``). The loop then wakes at once, finds the buffer
    locked, and polls again: tens of empty turns per inquiry, each holding the GIL the
    request thread needs to finish, about a third of a web worker's CPU under load
    (bench/inquiry_http.py). Here such a connection is left alone while its buffer is
    held and looked at again within ``WRITER_RECHECK_MS``; the request thread sends what
    it wrote, and pulls the loop's trigger when the client is slow to take it (as before:
    then the buffer is free, or freed while the thread waits) and when it is done.
    """
    import select

    from waitress import wasyncore

    pollster = select.poll()
    wait_ms = int(timeout * 1000)
    for fd, channel in list(channels.items()):
        flags = 0
        if channel.readable():
            flags |= select.POLLIN | select.POLLPRI
        # Listening sockets are never writable.
        if channel.writable() and not channel.accepting:
            if _held_by_writer(channel):
                wait_ms = min(wait_ms, WRITER_RECHECK_MS)
            else:
                flags |= select.POLLOUT
        if flags:
            pollster.register(fd, flags)
    for fd, flags in pollster.poll(wait_ms):
        channel = channels.get(fd)
        if channel is not None:
            wasyncore.readwrite(channel, flags)


def _held_by_writer(channel: Any) -> bool:
    """Whether a request thread is writing this connection's answer now (its output
    buffer's lock is taken while requests are in service)."""
    lock = getattr(channel, "outbuf_lock", None)
    if lock is None or not channel.requests:
        return False
    if lock.acquire(False):
        lock.release()
        return False
    return True


def listening_sockets(host: str, port: int, backlog: int = 1024) -> list[socket.socket]:
    """Bound and listening sockets for ``host`` and ``port``, one per address the host
    name has (as waitress binds them), for worker processes to inherit; StartFailed with
    ``bind_failure``'s line when one cannot be had."""
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _name, address in socket.getaddrinfo(
                host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, socket.IPPROTO_TCP,
                socket.AI_PASSIVE):
            if any(s.family == family and s.getsockname()[:2] == address[:2]
                   for s in sockets):
                continue  # getaddrinfo may answer the same address twice
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise StartFailed(bind_failure(exc, host, port)) from exc
    return sockets


# Why a listening socket could not be had, and which setting changes it.
_BIND_REASONS = {
    errno.EADDRINUSE: ("the port is already in use (another gateway or program listens "
                       "there)", "gateway.port (GATEWAY__GATEWAY__PORT)"),
    errno.EACCES: ("permission denied (a port below 1024 needs privileges)",
                   "gateway.port (GATEWAY__GATEWAY__PORT)"),
    errno.EADDRNOTAVAIL: ("this machine has no such address",
                          "gateway.host (GATEWAY__GATEWAY__HOST)"),
}


def bind_failure(exc: OSError, host: str, port: int) -> str:
    """One line: where the server could not listen, why, and the setting to change."""
    if isinstance(exc, socket.gaierror):
        reason, setting = (f"the host name cannot be resolved ({exc.strerror})",
                           "gateway.host (GATEWAY__GATEWAY__HOST)")
    else:
        reason, setting = _BIND_REASONS.get(
            exc.errno or 0, (exc.strerror or str(exc),
                             "gateway.host and gateway.port (GATEWAY__GATEWAY__HOST, "
                             "GATEWAY__GATEWAY__PORT)"))
    return f"cannot listen on {host}:{port}: {reason}; change {setting}"


# Only the client's address and scheme come from the proxies: links and Twilio's
# signatures use gateway.public_url, so a forwarded Host is never needed (nor believed).
TRUSTED_PROXY_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-proto"})


def proxy_options(trusted_proxies: int) -> dict[str, Any]:
    """Waitress's proxy settings for ``gateway.trusted_proxies``.

    Waitress is the one place that reads ``X-Forwarded-*``: with N proxies in front,
    ``REMOTE_ADDR`` becomes the address the N-th proxy from us reports (the N-th entry of
    ``X-Forwarded-For`` from its right end), so whatever a client wrote to the left of it
    is ignored; with none, every forwarded header is deleted before the app sees it.
    Either way the app (rate limits, the /metrics allow-list, logs) reads only
    ``request.remote_addr``. A malformed header from the proxies is a 400.
    """
    if not trusted_proxies:
        return {"clear_untrusted_proxy_headers": True}
    return {"trusted_proxy": "*", "trusted_proxy_count": trusted_proxies,
            "trusted_proxy_headers": set(TRUSTED_PROXY_HEADERS),
            "clear_untrusted_proxy_headers": True}


def sms_part(core: Core, settings: Settings) -> tuple[Part, Any]:
    """The SMS channel's binds in this process (and the binds themselves, for the health
    page): on stop each waits for its answers in flight, then gives its heartbeat and its
    bind slot up."""
    from channels.sms.binds import SmsBinds
    from channels.sms.channel import shorten_gil_turns, timings_for

    shorten_gil_turns()
    binds = SmsBinds(core, settings.sms, timings=timings_for(settings))
    # Its stop joins, per bind and all at once, the loop (15 s), the SMPP session (10 s),
    # then the heartbeat (15 s).
    return Part("sms", start=binds.start, stop=binds.stop, ready=binds.ready,
                stop_timeout=60.0), binds


def email_part(core: Core, settings: Settings, *, alone: bool) -> Part:
    """The e-mail channel; ``alone`` (``gateway email``), the run ends with its loop."""
    from channels.email.channel import EmailChannel

    channel = EmailChannel(core, settings.email)

    def looping() -> bool:
        thread = channel._thread  # EmailChannel has no public "running" yet
        return thread is not None and thread.is_alive()

    return Part("email", start=channel.start, stop=channel.stop, ready=looping,
                health=looping if alone else (lambda: True), stop_timeout=60.0)


def scheduler_part(core: Core, settings: Settings) -> Part:
    """The scheduler: on stop a running job finishes, then the scan lease goes."""
    from scheduler import Scheduler

    scheduler = Scheduler(core, settings, fetcher=recording_fetcher(settings))
    return Part("scheduler", start=scheduler.start, stop=scheduler.stop,
                ready=lambda: scheduler.running)


def recording_fetcher(settings: Settings):
    """What fetches the phone line's voice messages from Twilio (None while the IVR or
    Citizen's Voice on the line is off)."""
    from scheduler.recordings import RecordingFetcher

    ivr = settings.ivr
    if not (ivr.enabled and ivr.complaints.enabled):
        return None
    return RecordingFetcher(ivr.twilio.account_sid, ivr.twilio.auth_token,
                            ivr.twilio.recording_hosts)
