"""The SMTP sender: drains the outbox's "email" rows, a few claimed at a time, over one
SMTP session per tick.

A reply accepted by the server → ``mark_sent`` (our Message-ID recorded). The server
unreachable or dropping the line, or refusing our sender at MAIL FROM (SendAs denied:
the account's fault, not the citizen's) → ``mark_retry`` with backoff and an alert in the
log; these do not use up the message's attempts (the scheduler's expiry of unsent
notifications, 24 h by default, is the outer bound). A recipient refused at RCPT is about
one message: a 4xx retries it (at most ``max_attempts``), a 5xx fails it, as does a reply
that cannot be written.

A refusal after DATA is about that message when the server accepts others: the session
goes on with the next one, and once another message of the session is accepted, a 5xx
fails the refused one with the server's reason and a 4xx retries it, counting the
attempt. Only when the server refuses every message of a session (two or more; quota or
daily limit exceeded) is it an outage. A message refused alone counts an attempt and is
retried (never failed on that evidence alone), unless the session before it was such an
outage.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime

from channels.email import metrics
from channels.email.compose import compose_reply, message_id_for, sender_address
from channels.email.heartbeat import SenderHeartbeat
from channels.email.login import (
    PlaintextLoginRefused,
    refuse_plaintext_login,
    untrusted_certificate,
    wants_starttls,
)
from channels.email.settings import SmtpSettings
from core.messaging import outbox
from core.messaging.mail import CHANNEL, Composition, MailStore
from core.messaging.retry import RetrySchedule
from core.platform.clock import utcnow
from core.service import Core

log = logging.getLogger(__name__)


class ChannelUnavailable(Exception):
    """The SMTP server cannot be reached, dropped the session, or refuses our sender: try
    again later, the whole round."""


@dataclass(frozen=True)
class _DataRefusal:
    """A message the server refused after DATA, judged once the session shows whether the
    server refuses it alone (its content) or every message (an outage)."""

    item: outbox.Claimed
    code: int
    text: str


@dataclass
class _Session:
    accepted: int = 0
    refused: list[_DataRefusal] = field(default_factory=list)


class SmtpSender:
    """Sends the replies (and e-mail notifications) the outbox holds for channel "email"."""

    def __init__(self, core: Core, settings: SmtpSettings, *,
                 backoff: RetrySchedule | None = None, timeout: float = 20.0, batch: int = 10,
                 allow_plaintext_login: bool = False, voice_address: str = "",
                 heartbeat: SenderHeartbeat | None = None) -> None:
        self.db = core.db
        # Claims name its holder and are made, and begun, only while it is valid; without
        # one (a sender run by hand) they name no holder and go back by age.
        self.heartbeat = heartbeat
        # Citizen's Voice's mails are sent from this address (``email.voice_address``).
        self.voice_address = voice_address
        self.mail = MailStore(core.db)
        self.settings = settings
        self.allow_plaintext_login = allow_plaintext_login
        # 30 s after the first failure, doubling, at most an hour; final after 12.
        self.backoff = backoff or RetrySchedule()
        self.timeout = timeout
        self.batch = batch
        # False after a session in which the server refused every message after DATA: a
        # message refused alone then is not blamed for it.
        self._accepting = True

    def send_due(self, now: datetime | None = None) -> int:
        """Send the due replies, a round at a time over one SMTP session, until none is
        due; how many were sent. When the server fails, the round's unsent replies wait
        for their retry and the rest wait in the outbox for the next tick."""
        session = _Session()
        connection: smtplib.SMTP | None = None
        heartbeat = self.heartbeat
        try:
            while True:
                epoch = heartbeat.epoch if heartbeat else 0  # read first: see claims_valid
                if heartbeat is not None and not heartbeat.valid():
                    return session.accepted
                waiting = outbox.claim_due(self.db, channel=CHANNEL, limit=self.batch,
                                           now=now,
                                           holder=heartbeat.holder if heartbeat else None)
                if not waiting:
                    return session.accepted
                try:
                    composed = self.mail.compositions([item.id for item in waiting])
                    connection = connection or self._connect()
                    while waiting:
                        if heartbeat is not None and not heartbeat.claims_valid(epoch):
                            self._give_back(waiting)
                            return session.accepted
                        self._send_one(connection, waiting[0], composed[waiting[0].id],
                                       session)
                        waiting.pop(0)
                except ChannelUnavailable as exc:
                    log.error("ALERT: e-mail replies cannot be sent: %s; %d waiting in the "
                              "outbox", exc, len(waiting))
                    for item in waiting:
                        self._retry(item, str(exc), counted=False)
                    return session.accepted
        finally:
            self._judge_refusals(session)
            if connection is not None:
                _close(connection)

    def _give_back(self, waiting: list[outbox.Claimed]) -> None:
        """Give back untried the claims the heartbeat's deadline has overtaken: another
        channel may give them back any time now, and would send them too. Should this
        fail, the heartbeat's lapse gives them back."""
        log.warning("%d e-mail replies claimed as the sender's heartbeat lapsed are given "
                    "back unsent", len(waiting))
        for item in waiting:
            outbox.mark_unsent(self.db, item.id, attempt=item.attempts)

    def _send_one(self, connection: smtplib.SMTP, item: outbox.Claimed,
                  composition: Composition, session: _Session) -> None:
        from_address = sender_address(item.kind, self.settings.from_address,
                                      self.voice_address)
        queued_at = composition.queued_at
        try:
            message = compose_reply(item, composition.envelope, from_address=from_address,
                                    queued_at=queued_at, html=composition.html)
        except (ValueError, TypeError) as exc:
            self._failed(item, f"cannot write the reply: {exc}")
            return
        try:
            # The envelope sender stays the responder's: bounces come back to its box.
            refused = connection.send_message(message, from_addr=self.settings.from_address,
                                              to_addrs=[item.recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = next(iter(exc.recipients.values()))
            self._refused(item, code, reason)
            return
        except smtplib.SMTPDataError as exc:
            # This message refused (smtplib has reset the transaction): the session goes
            # on; whether it was the message or the account shows in the others' fate.
            session.refused.append(_DataRefusal(item, exc.smtp_code, _text(exc.smtp_error)))
            return
        except smtplib.SMTPSenderRefused as exc:
            # Our account is refused (SendAs denied): every reply would be.
            raise ChannelUnavailable(f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise ChannelUnavailable(
                    f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}") from exc
            self._refused(item, exc.smtp_code, exc.smtp_error)
            return
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise ChannelUnavailable(f"SMTP connection lost: {exc}") from exc
        except (smtplib.SMTPException, UnicodeError) as exc:
            self._failed(item, f"SMTP: {exc}")
            return
        if refused:
            code, reason = next(iter(refused.values()))
            self._refused(item, code, reason)
            return
        session.accepted += 1
        self._accepting = True
        # The server takes mail: what it refused before this was refused for itself.
        self._judge_refusals(session)
        outbox.mark_sent(self.db, item.id, [message_id_for(item.id, from_address, queued_at)
                                            .strip("<>")[:outbox.PROVIDER_IDS_MAX]],
                         attempt=item.attempts)
        metrics.REPLIES.labels(result="sent").inc()

    def _judge_refusals(self, session: _Session) -> None:
        """Record the outcome of the messages refused after DATA so far in ``session``."""
        refused, session.refused = session.refused, []
        if not refused:
            return
        if session.accepted:
            for refusal in refused:  # the server takes others: refused for their content
                self._refused(refusal.item, refusal.code, refusal.text)
            return
        if len(refused) == 1 and self._accepting:
            [refusal] = refused  # alone: its attempt counts, but no 5xx is final on this
            self._retry(refusal.item, f"SMTP {refusal.code} {refusal.text}")
            return
        # Every message refused: the account (quota, daily limit), not the citizens.
        self._accepting = False
        log.error("ALERT: e-mail replies cannot be sent: the server refuses every message "
                  "(SMTP %s %s); %d waiting in the outbox", refused[0].code, refused[0].text,
                  len(refused))
        for refusal in refused:
            self._retry(refusal.item, f"SMTP {refusal.code} {refusal.text}", counted=False)

    def _refused(self, item: outbox.Claimed, code: int, reason: bytes | str) -> None:
        text = _text(reason)
        if 400 <= code < 500:
            self._retry(item, f"SMTP {code} {text}")
        else:
            self._failed(item, f"SMTP {code} {text}")
            log.warning("reply %s refused for good: SMTP %s", item.id, code)

    def _retry(self, item: outbox.Claimed, reason: str, *, counted: bool = True) -> None:
        """Due again after the backoff; a failure of this message (``counted``) at its
        last attempt is final, an outage of the server never is."""
        if counted and self.backoff.exhausted(item.attempts):
            self._failed(item, f"gave up after {item.attempts} attempts: {reason}")
            return
        outbox.mark_retry(self.db, item.id, reason[:500],
                          utcnow() + self.backoff.after(item.attempts), attempt=item.attempts)
        metrics.REPLIES.labels(result="retry").inc()

    def _failed(self, item: outbox.Claimed, reason: str) -> None:
        outbox.mark_failed(self.db, item.id, reason[:500], attempt=item.attempts)
        metrics.REPLIES.labels(result="failed").inc()

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        starttls = wants_starttls(settings.starttls, settings.host)
        try:
            if settings.ssl:
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    settings.host, settings.port, timeout=self.timeout,
                    context=ssl.create_default_context())
            else:
                connection = smtplib.SMTP(settings.host, settings.port, timeout=self.timeout)
                if starttls:
                    try:
                        connection.starttls(context=ssl.create_default_context())
                    except ssl.SSLCertVerificationError as exc:
                        connection.close()
                        raise ChannelUnavailable(untrusted_certificate(
                            "SMTP", settings.host, settings.port, "email.smtp.starttls",
                            exc)) from exc
            if settings.username:
                if not (settings.ssl or starttls):
                    try:
                        refuse_plaintext_login("SMTP", settings.host,
                                               self.allow_plaintext_login)
                    except PlaintextLoginRefused as exc:
                        _close(connection)
                        raise ChannelUnavailable(str(exc)) from exc
                connection.login(settings.username, settings.password)
            return connection
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelUnavailable(f"SMTP {settings.host}:{settings.port}: {exc}") from exc


def _text(reason: bytes | str) -> str:
    return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)


def _close(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()
