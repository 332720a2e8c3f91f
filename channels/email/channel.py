"""The e-mail channel: the mailbox polled over IMAP, replies sent over SMTP.

One thread. Every ``poll_seconds``, and at once when a second session waiting in IMAP
IDLE (where the server offers it) hears of new mail, the poller, if it holds the mailbox
lease (one poller across every machine), reads the messages above the folder's cursor,
in UID order: each is fetched without being marked read, understood (``parse``), and
stored with its reply queued (``channels.email.voice.receive_mail``: a Citizen's Voice
mail files or acts on a case, any other is an inquiry); only
then is it marked \\Seen and the cursor moved past it. A mail that cannot be understood, or
that the core fails on, is moved to ``failed_folder`` with the reason logged, and the loop
goes on. Every tick, on every machine, the SMTP sender drains the outbox's "email" rows;
its claims stand on its heartbeat (``channels.email.heartbeat``), and the claims of a
sender whose heartbeat has stopped are given back (``recover_orphaned_claims``).

A crash after storing a mail and before marking it read repeats the mail on the next
poll; its Message-ID is stored already, so it is not answered again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from channels.email import metrics, voice
from channels.email.heartbeat import SenderHeartbeat
from channels.email.inquiry import EmailRules
from channels.email.mailbox import UNREADABLE, Mailbox, MailboxUnavailable
from channels.email.parse import UnreadableMail, parse_mail, parse_oversized
from channels.email.sender import SmtpSender
from channels.email.settings import EmailSettings
from core.messaging import outbox
from core.messaging.mail import CHANNEL, DATABASE_AWAY, DATABASE_ERROR
from core.messaging.mailbox import MailboxCursors
from core.platform import leases
from core.platform.clock import utcnow
from core.service import Core

log = logging.getLogger(__name__)

LEASE = "email-poller"
# RFC 2177: a server may end an IDLE after 30 minutes without a word from the client; it
# is issued again after this long, whatever poll_seconds is.
IDLE_RENEW_SECONDS = 25 * 60
# Sizes are asked for this many messages at a time; bodies fetched this many at a time.
_SIZE_BATCH = 100
_FETCH_BATCH = 20


@dataclass(frozen=True)
class Timings:
    tick_seconds: float = 5.0  # how often the outbox is drained
    # Claims that name no holder (made by a sender without a heartbeat) go back this old.
    stale_claims_after: timedelta = timedelta(minutes=10)
    smtp_timeout: float = 20.0  # each wait for the SMTP server
    # The sender's heartbeat (``channels.email.heartbeat``): written this often, and a
    # sender whose heartbeat stood still this long has its claims given back.
    heartbeat_interval: float = 10.0
    heartbeat_lifetime: float = 120.0

    @property
    def heartbeat_margin(self) -> float:
        """How long before its heartbeat's deadline a sender begins no message: one
        message's four waits (MAIL, RCPT, DATA, the end of the data) and two beats."""
        return 4 * self.smtp_timeout + 2 * self.heartbeat_interval


@dataclass
class PollReport:
    """What one poll did, for the log, the lease's state and the tests."""

    stored: int = 0
    duplicates: int = 0
    moved_aside: int = 0
    # Could be neither understood nor moved aside: marked read (and $GatewayUnreadable).
    marked_unreadable: int = 0
    held_by_other: bool = False


class EmailChannel:
    """``start``/``stop`` inside ``gateway run``, or ``run_until`` for ``gateway email``."""

    def __init__(self, core: Core, settings: EmailSettings, *,
                 timings: Timings | None = None) -> None:
        self.core = core
        self.settings = settings
        self.timings = timings or Timings()
        self.rules = EmailRules(
            own_addresses=own_addresses(settings),
            max_replies_per_hour=settings.max_replies_per_hour,
            authserv_ids=frozenset(settings.authserv_ids),
            voice_address=settings.voice_address)
        self.cursors = MailboxCursors(core.db)
        self.holder = leases.holder_name("email")
        self.heartbeat = SenderHeartbeat(
            core, self.holder, interval=self.timings.heartbeat_interval,
            lifetime=self.timings.heartbeat_lifetime, margin=self.timings.heartbeat_margin,
            alive=self._loop_alive)
        self.sender = SmtpSender(core, settings.smtp, timeout=self.timings.smtp_timeout,
                                 allow_plaintext_login=settings.allow_plaintext_login,
                                 voice_address=settings.voice_address,
                                 heartbeat=self.heartbeat)
        # Other senders' heartbeats as this channel has seen them, to give back the claims
        # of those that stopped.
        self._senders = outbox.Heartbeats(leases.EMAIL_SENDER_PREFIX)
        self._next_orphan_check = 0.0
        self._lease_ttl = timedelta(seconds=max(60, 3 * settings.imap.poll_seconds))
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # A second session waiting in IDLE while this process holds the lease, and when
        # its IDLE was issued (on ``_clock``).
        self._watcher: Mailbox | None = None
        self._idle_since = 0.0
        self._clock = time.monotonic

    # --- running -----------------------------------------------------------------------

    def start(self) -> None:
        if not self.rules.authserv_ids:
            log.warning("e-mail: email.authserv_ids is empty: no mail is answered (a "
                        "reply goes only to a From our mail server authenticated)")
        self._recovered(outbox.recover_stale_claims(
            self.core.db, self.timings.stale_claims_after, channel=CHANNEL))
        self._stopping.clear()
        # The heartbeat first: the sender's claims name it, and another channel gives back
        # those of a holder without a live heartbeat.
        self.heartbeat.start()
        self._thread = threading.Thread(target=self._loop, name="email-channel", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        stopped = True
        if self._thread is not None:
            self._thread.join(timeout)
            stopped = not self._thread.is_alive()
            self._thread = None
        self.heartbeat.stop(timeout)
        if stopped:
            try:
                self.heartbeat.release()
            except DATABASE_ERROR:
                log.exception("could not give up the e-mail sender's heartbeat (it will "
                              "expire)")
        else:
            # Its claims are still this sender's: the heartbeat's lapse gives them back.
            log.warning("the e-mail channel's thread did not stop in %.0f s; its "
                        "sender's heartbeat is left to expire", timeout)
        self._release()

    def _loop_alive(self) -> bool:
        """Whether the thread that sends runs (or has not been started yet)."""
        return self._thread is None or self._thread.is_alive()

    def recover_orphaned_claims(self) -> None:
        """Give back the claims of e-mail senders whose heartbeat has stopped (a SIGKILLed
        process: at once when it ran on this machine, else once its heartbeat has stood
        still for its lifetime as this process counts it); a live sender's, never."""
        self._recovered(outbox.recover_claims_of_stopped_holders(
            self.core.db, self._senders, channel=CHANNEL))

    def _recover_orphans_due(self) -> None:
        now = self._clock()
        if now >= self._next_orphan_check:
            self._next_orphan_check = now + self.timings.heartbeat_interval
            self.recover_orphaned_claims()

    @staticmethod
    def _recovered(recovered: int) -> None:
        if recovered:
            log.warning("%d e-mail replies claimed by a sender that stopped are queued "
                        "again", recovered)

    @property
    def idling(self) -> bool:
        """Whether a session waits in IDLE for new mail (this process holds the lease)."""
        return self._watcher is not None

    def run_until(self, stop: threading.Event) -> None:
        """Run in the foreground until ``stop`` is set (``gateway email``)."""
        self.start()
        try:
            while not stop.wait(1.0):
                if self._thread is not None and not self._thread.is_alive():
                    break
        finally:
            self.stop()

    def _loop(self) -> None:
        next_poll = time.monotonic()
        tick = min(self.timings.tick_seconds, self.settings.imap.poll_seconds)
        try:
            while not self._stopping.is_set():
                if time.monotonic() >= next_poll:
                    self._guarded(self._poll_and_watch)
                    next_poll = time.monotonic() + self.settings.imap.poll_seconds
                self._guarded(self._recover_orphans_due)
                self._guarded(self.sender.send_due)
                if self._wait(tick):
                    next_poll = 0.0  # new mail: read it now
        finally:
            self._unwatch()

    def _poll_and_watch(self) -> None:
        """Poll; then, while we hold the lease, wait for new mail in IDLE if offered."""
        if self._watcher is not None:
            try:
                self._watcher.idle_stop()
            except MailboxUnavailable:
                self._unwatch()
        try:
            report = self.poll()
        except BaseException:
            self._unwatch()  # watch again once a poll succeeds
            raise
        if report.held_by_other:
            self._unwatch()
            return
        if self._watcher is None:
            watcher = self._mailbox()
            watcher.open()
            if not watcher.can_idle():
                watcher.close()
                return
            self._watcher = watcher
        self._watcher.idle_start()
        self._idle_since = self._clock()

    def _wait(self, seconds: float) -> bool:
        """Sleep until the next tick; True when IDLE reported new mail. An IDLE issued
        ``IDLE_RENEW_SECONDS`` ago is issued again first."""
        if self._watcher is None:
            self._stopping.wait(seconds)
            return False
        try:
            if idle_renewal_due(self._idle_since, self._clock()):
                arrived = self._watcher.idle_stop()
                self._watcher.idle_start()
                self._idle_since = self._clock()
                if arrived:
                    return True
            return self._watcher.idle_wait(seconds)
        except MailboxUnavailable as exc:
            log.warning("IDLE ended: %s; polling every %ss", exc,
                        self.settings.imap.poll_seconds)
            self._unwatch()
            return False

    def _unwatch(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            with contextlib.suppress(MailboxUnavailable):
                watcher.idle_stop()
            watcher.close()

    def _guarded(self, work) -> None:
        # The loop outlives any one failure: a server down, the database away, a bug.
        try:
            work()
        except MailboxUnavailable as exc:
            log.warning("mailbox unavailable: %s", exc)
        except Exception:
            log.exception("e-mail channel: %s failed; trying again later", work.__name__)

    # --- one poll ----------------------------------------------------------------------

    def poll(self) -> PollReport:
        """Read what is new in the mailbox, if this process holds the poller's lease."""
        report = PollReport()
        if not leases.acquire(self.core.db, LEASE, self.holder, self._lease_ttl):
            report.held_by_other = True
            metrics.POLLS.labels(result="held_by_other").inc()
            return report
        mailbox = self._mailbox()
        try:
            mailbox.open()
            self._read(mailbox, report)
        except MailboxUnavailable:
            metrics.POLLS.labels(result="unavailable").inc()
            # Let a machine that can reach the mailbox take over at once.
            self._release()
            raise
        finally:
            mailbox.close()
        metrics.POLLS.labels(result="ok").inc()
        leases.renew(self.core.db, LEASE, self.holder, self._lease_ttl, state={
            "mailbox": mailbox.key, "polled_at": utcnow().isoformat(),
            "stored": report.stored, "moved_aside": report.moved_aside,
            "marked_unreadable": report.marked_unreadable})
        if report.stored or report.moved_aside or report.marked_unreadable:
            log.info("mailbox %s: %d stored, %d duplicates, %d moved aside, %d marked "
                     "unreadable", mailbox.key, report.stored, report.duplicates,
                     report.moved_aside, report.marked_unreadable)
        return report

    def _mailbox(self) -> Mailbox:
        return Mailbox(self.settings.imap,
                       allow_plaintext_login=self.settings.allow_plaintext_login)

    def _release(self) -> None:
        try:
            leases.release(self.core.db, LEASE, self.holder)
        except DATABASE_ERROR:
            log.exception("could not release the mailbox lease (it will expire)")

    def _read(self, mailbox: Mailbox, report: PollReport) -> None:
        db = self.core.db
        place = self.cursors.get(mailbox.key)
        if place is not None and place.uidvalidity != mailbox.uidvalidity:
            log.warning("mailbox %s: UIDVALIDITY changed (%s -> %s); reading unread mail "
                        "again", mailbox.key, place.uidvalidity, mailbox.uidvalidity)
            place = None
        uids = mailbox.new_uids(place.last_uid if place else None)
        for start in range(0, len(uids), _SIZE_BATCH):
            sizes = mailbox.sizes(uids[start:start + _SIZE_BATCH])
            for chunk in self._chunks(uids[start:start + _SIZE_BATCH], sizes):
                if self._stopping.is_set():
                    return
                done = self._handle_chunk(mailbox, chunk, sizes, report)
                # Marked read, and the cursor moved, only once their outcomes are stored.
                mailbox.mark_seen(done)
                if place is not None:
                    self.cursors.save(mailbox.key, mailbox.uidvalidity, chunk[-1])
                # Reading only the unread, the read mail between them is not ours to
                # answer: no cursor until the whole unread list is done (below), else the
                # next poll would read by UID from the middle and answer read mail.
            if not leases.renew(db, LEASE, self.holder, self._lease_ttl):
                log.warning("mailbox lease lost to another poller; stopping this poll")
                return
        if place is None and mailbox.uidnext > 1:
            # Every unread mail is handled: from now on, read by UID (what came since).
            self.cursors.save(mailbox.key, mailbox.uidvalidity, mailbox.uidnext - 1)

    def _chunks(self, uids: list[int], sizes: dict[int, int]) -> list[list[int]]:
        """Messages fetched together: a few at a time, and never much more than one
        message's worth of bytes (oversized ones alone)."""
        chunks: list[list[int]] = []
        chunk: list[int] = []
        total = 0
        for uid in uids:
            size = sizes.get(uid, 0)
            if chunk and (len(chunk) >= _FETCH_BATCH
                          or total + size > self.settings.max_message_bytes):
                chunks.append(chunk)
                chunk, total = [], 0
            chunk.append(uid)
            total += size
        if chunk:
            chunks.append(chunk)
        return chunks

    def _handle_chunk(self, mailbox: Mailbox, chunk: list[int], sizes: dict[int, int],
                      report: PollReport) -> list[int]:
        """Store each message's outcome; the UIDs to mark read."""
        limit = self.settings.max_message_bytes
        readable = [uid for uid in chunk if uid in sizes and sizes[uid] <= limit]
        raws = mailbox.whole(readable) if readable else {}
        done = []
        for uid in chunk:
            size = sizes.get(uid)
            if size is None:
                continue  # expunged since the search
            try:
                if size > limit:
                    header = mailbox.header(uid)
                    mail = parse_oversized(header, size) if header is not None else None
                else:
                    mail = parse_mail(raws[uid]) if uid in raws else None
            except UnreadableMail as exc:
                self._move_aside(mailbox, uid, exc.reason, report)
                continue
            if mail is not None and self._store(mailbox, uid, mail, report):
                done.append(uid)
        return done

    def _store(self, mailbox: Mailbox, uid: int, mail, report: PollReport) -> bool:
        try:
            received = voice.receive_mail(self.core, mail, self.rules)
        except DATABASE_AWAY:
            raise  # the database is away: leave the mail unread, try again next poll
        except DATABASE_ERROR as exc:
            # The database refuses something in this mail: it must not block the mailbox.
            log.exception("mail UID %s could not be stored", uid)
            self._move_aside(mailbox, uid, f"could not be stored: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:120] if str(exc) else ''}",
                             report)
            return False
        except Exception as exc:
            log.exception("mail UID %s could not be handled", uid)
            self._move_aside(mailbox, uid, f"could not be handled: {type(exc).__name__}",
                             report)
            return False
        if received.duplicate:
            report.duplicates += 1
            metrics.MAILS.labels(result="duplicate").inc()
        else:
            report.stored += 1
            metrics.MAILS.labels(result=received.status).inc()
        return True

    def _move_aside(self, mailbox: Mailbox, uid: int, reason: str,
                    report: PollReport) -> None:
        """Out of the way of the next polls: moved to ``failed_folder``, or, when the
        server refuses that (no such folder may be created, no right to move), marked
        \\Seen and ``$GatewayUnreadable`` where it is."""
        folder = self.settings.imap.failed_folder
        try:
            moved_to = mailbox.move_aside(uid, folder)
        except MailboxUnavailable as exc:
            # Left as it was, the mail would stop every poll here: the cursor waits for it.
            mailbox.mark_unreadable(uid)
            log.error("mail UID %s in %s could not be moved to %s (%s); marked read and %s "
                      "where it is: %s", uid, mailbox.key, folder, exc,
                      UNREADABLE.decode(), reason)
            report.marked_unreadable += 1
            metrics.MAILS.labels(result="marked_unreadable").inc()
            return
        log.warning("mail UID %s in %s moved to %s: %s", uid, mailbox.key, moved_to, reason)
        report.moved_aside += 1
        metrics.MAILS.labels(result="moved_aside").inc()


def idle_renewal_due(issued_at: float, now: float) -> bool:
    """Whether an IDLE issued at ``issued_at`` must be issued again at ``now`` (seconds on
    a monotonic clock), before a server ends it (RFC 2177: after 30 minutes or later)."""
    return now - issued_at >= IDLE_RENEW_SECONDS


def own_addresses(settings: EmailSettings) -> frozenset[str]:
    """Our addresses, which never get a reply: the From of our replies, the IMAP and SMTP
    usernames that are addresses, and the aliases configured (``email.own_addresses``)."""
    candidates = (settings.smtp.from_address, settings.voice_address,
                  settings.imap.username, settings.smtp.username, *settings.own_addresses)
    return frozenset(a.strip().lower() for a in candidates if "@" in a)
