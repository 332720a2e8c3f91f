"""The gateway's long-lived parts as the runner's components: the core they share, the web
server, the SMS and e-mail channels, the scheduler.

The channel and server libraries are imported only by the part that needs them: a kiosk
machine runs ``gateway kiosk`` without them.
"""

from __future__ import annotations

import errno
import socket
import threading
from typing import TYPE_CHECKING, Any

from gateway.runner import Part, StartFailed

if TYPE_CHECKING:
    from core.service import Core
    from gateway.settings import Settings


def core_part(core: Core) -> Part:
    """The core, first started and last stopped: every other part works through it."""
    return Part("core", stop=core.close, stop_timeout=30.0)


class WebServer:
    """Waitress serving the app from a thread of its own, and closed from that thread.

    Closing its sockets from another thread pulls them from under its select() (EBADF in
    the loop); so ``stop`` only asks, and the loop ends itself as waitress's own ``run``
    does on SIGTERM: the request threads finish what they are doing (5 s at most), then
    the listening socket closes.
    """

    name = "web"
    stop_timeout = 15.0

    def __init__(self, app: Any, settings: Settings) -> None:
        from waitress.server import create_server
        from waitress.trigger import trigger

        # The server's map is ours, so that a host with several addresses (waitress's
        # MultiSocketServer) is served by the same loop.
        self._map: dict = {}
        host, port = settings.gateway.host, settings.gateway.port
        try:
            self.server = create_server(app, map=self._map, host=host, port=port,
                                        threads=settings.gateway.threads, ident="gateway",
                                        **proxy_options(settings.gateway.trusted_proxies))
        except OSError as exc:
            raise StartFailed(bind_failure(exc, host, port)) from exc
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
        from waitress import wasyncore

        adj = self.server.adj
        try:
            while self._map and not self._stopping.is_set():
                wasyncore.loop(timeout=adj.asyncore_loop_timeout, map=self._map,
                               use_poll=adj.asyncore_use_poll, count=1)
        except BaseException as exc:
            self._failure = exc
        finally:
            self.server.task_dispatcher.shutdown()
            with self._closing:  # no pull on a closed trigger (its fd may be reused)
                self.server.close()
                self._wake.close()
                self._closed = True


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
