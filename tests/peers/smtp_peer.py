"""A real SMTP server for the e-mail channel's tests: aiosmtpd on a loopback port,
keeping every message it accepts, and able to go down and come back on the same port."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"


def _free_port(host: str = HOST) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def network_address() -> str | None:
    """An address of this machine that is not loopback (the interface a packet to the
    network would leave by), or None on a machine without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.254", 9))  # no packet is sent for a UDP connect
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


class _Keeper:
    def __init__(self, peer: SmtpPeer) -> None:
        self.peer = peer

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.peer.refuse_sender:
            return self.peer.refuse_sender
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.peer.hold_rcpt.is_set():
            with self.peer.lock:
                self.peer.rcpts_held += 1
            while self.peer.hold_rcpt.is_set():
                await asyncio.sleep(0.02)
        refusal = self.peer.refuse.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.peer.refuse_data:
            return self.peer.refuse_data
        for address in envelope.rcpt_tos:
            refusal = self.peer.refuse_data_for.get(address.lower())
            if refusal:
                return refusal
        # Kept raw: parsing is left to the reader, off the server's thread.
        with self.peer.lock:
            self.peer.received.append(
                (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
            self.peer.over_tls.append(session.ssl is not None)
        return "250 Message accepted"


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (openssl), for TLS tests: a client trusts it
    through ``SSL_CERT_FILE``."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=IP:{HOST}",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class SmtpPeer:
    """``tls="starttls"`` offers and requires STARTTLS (``tls="starttls-offered"`` offers
    it only, as a local Postfix does); ``tls="ssl"`` is TLS from the start (all with
    ``certificate``, a (cert, key) pair)."""

    def __init__(self, *, tls: str | None = None,
                 certificate: tuple[Path, Path] | None = None, host: str = HOST,
                 login: tuple[str, str] | None = None) -> None:
        """``login`` (username, password): AUTH offered (also without TLS) and required."""
        self.tls = tls
        # Whether each session that delivered a message had upgraded with STARTTLS.
        self.over_tls: list[bool] = []
        self.certificate = certificate
        self.login = login
        self.logins: list[str] = []
        self.host = host
        self.port = _free_port(host)
        self.received: list[tuple[str, list[str], bytes]] = []
        # Recipient address -> SMTP reply to RCPT TO (e.g. "550 No such user").
        self.refuse: dict[str, str] = {}
        # The reply to every MAIL FROM, or after DATA (e.g. "550 5.7.60 SendAs denied",
        # "554 5.2.2 Daily sending quota exceeded"); None accepts.
        self.refuse_sender: str | None = None
        self.refuse_data: str | None = None
        # Recipient address -> the reply after DATA to a message for it (e.g. "554 5.6.0
        # Message content rejected"): the server refusing that one message, not all.
        self.refuse_data_for: dict[str, str] = {}
        # While set, every RCPT TO waits unanswered (a sender caught mid-message, before
        # its data); ``rcpts_held`` counts those that waited.
        self.hold_rcpt = threading.Event()
        self.rcpts_held = 0
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> None:
        options: dict = {}
        if self.tls:
            assert self.certificate is not None
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*map(str, self.certificate))
            if self.tls == "ssl":
                options["ssl_context"] = context
            else:
                options.update(tls_context=context,
                               require_starttls=self.tls == "starttls")
        if self.login is not None:
            options.update(authenticator=self._authenticate, auth_require_tls=False,
                           auth_required=True)
        self._controller = Controller(_Keeper(self), hostname=self.host, port=self.port,
                                      decode_data=False, **options)
        self._controller.start()

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        username = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else ""
        ok = isinstance(auth_data, LoginPassword) and self.login == (
            username, auth_data.password.decode())
        if ok:
            self.logins.append(username)
        return AuthResult(success=ok)

    def stop(self) -> None:
        self.hold_rcpt.clear()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpPeer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            raws = [raw for _, _, raw in self.received]
        return [message_from_bytes(raw, policy=policy.default) for raw in raws]
