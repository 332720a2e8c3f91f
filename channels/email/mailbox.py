"""The citizens' mailbox over IMAP (IMAPClient), by UID: list what is new, fetch without
marking read (``BODY.PEEK``), mark read or move aside once the outcome is committed.

IMAP, socket and TLS errors become ``MailboxUnavailable`` here; nothing above this module
catches IMAPClient's exceptions.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable, Iterable
from functools import wraps

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from channels.email.login import (
    PlaintextLoginRefused,
    refuse_plaintext_login,
    untrusted_certificate,
    wants_starttls,
)
from channels.email.settings import ImapSettings

SEEN = b"\\Seen"
DELETED = b"\\Deleted"
# Set, with \Seen, on a mail that could be neither understood nor moved aside, so that a
# person can find it (a search for the keyword) and no poll stops at it again.
UNREADABLE = b"$GatewayUnreadable"


class MailboxUnavailable(Exception):
    """The IMAP server cannot be reached, refused us, or dropped the session."""


def _translated(method: Callable) -> Callable:
    @wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except PlaintextLoginRefused as exc:
            raise MailboxUnavailable(str(exc)) from exc
        except (IMAPClientError, OSError) as exc:
            raise MailboxUnavailable(f"IMAP {self.settings.host}:{self.settings.port}: "
                                     f"{type(exc).__name__}: {exc}") from exc
    return wrapper


class Mailbox:
    """One IMAP session on the configured folder; ``open`` then ``close``."""

    def __init__(self, settings: ImapSettings, *, timeout: float = 30.0,
                 allow_plaintext_login: bool = False) -> None:
        self.settings = settings
        self.timeout = timeout
        self.allow_plaintext_login = allow_plaintext_login
        self.uidvalidity = 0
        self.uidnext = 0
        self._client: IMAPClient | None = None

    @property
    def key(self) -> str:
        """Names this folder of this mailbox (for the cursor and the lease)."""
        s = self.settings
        return f"{s.username}@{s.host}:{s.port}/{s.folder}"[:255]

    @_translated
    def open(self) -> None:
        s = self.settings
        context = ssl.create_default_context() if s.ssl else None
        client = IMAPClient(s.host, s.port, ssl=s.ssl, ssl_context=context,
                            timeout=self.timeout)
        try:
            encrypted = s.ssl
            if not encrypted and wants_starttls(s.starttls, s.host) \
                    and client.has_capability("STARTTLS"):
                try:
                    client.starttls(ssl.create_default_context())
                except ssl.SSLCertVerificationError as exc:
                    raise MailboxUnavailable(untrusted_certificate(
                        "IMAP", s.host, s.port, "email.imap.starttls", exc)) from exc
                encrypted = True
            if not encrypted:
                refuse_plaintext_login("IMAP", s.host, self.allow_plaintext_login)
            client.login(s.username, s.password)
            selected = client.select_folder(s.folder)
        except BaseException:
            # A failed TLS handshake leaves no socket to shut: keep the first error.
            with contextlib.suppress(OSError):
                client.shutdown()
            raise
        self._client = client
        self.uidvalidity = int(selected[b"UIDVALIDITY"])
        # The UID the next message will get: everything below it exists already.
        self.uidnext = int(selected.get(b"UIDNEXT", 0))

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except (IMAPClientError, OSError):
            with contextlib.suppress(OSError):
                client.shutdown()

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise MailboxUnavailable("the mailbox is not open")
        return self._client

    @_translated
    def new_uids(self, after: int | None) -> list[int]:
        """UIDs above ``after``, ascending; with no place yet, the unread ones."""
        if after is None:
            return sorted(self.client.search(["UNSEEN"]))
        # "n:*" always matches the highest UID, even when it is below n.
        return sorted(uid for uid in self.client.search(["UID", f"{after + 1}:*"])
                      if uid > after)

    @_translated
    def sizes(self, uids: Iterable[int]) -> dict[int, int]:
        fetched = self.client.fetch(list(uids), ["RFC822.SIZE"])
        return {uid: int(data[b"RFC822.SIZE"]) for uid, data in fetched.items()}

    @_translated
    def whole(self, uids: list[int]) -> dict[int, bytes]:
        """The whole messages, left unread, in one command; one that vanished meanwhile
        is missing from the answer."""
        fetched = self.client.fetch(uids, ["BODY.PEEK[]"])
        return {uid: bytes(data[b"BODY[]"]) for uid, data in fetched.items()
                if data.get(b"BODY[]") is not None}

    @_translated
    def header(self, uid: int) -> bytes | None:
        data = self.client.fetch([uid], ["BODY.PEEK[HEADER]"]).get(uid)
        if not data or data.get(b"BODY[HEADER]") is None:
            return None
        return bytes(data[b"BODY[HEADER]"])

    @_translated
    def mark_seen(self, uids: list[int]) -> None:
        if uids:
            self.client.add_flags(uids, [SEEN])

    @_translated
    def move_aside(self, uid: int, folder: str) -> str:
        """Move the message to ``folder`` (created when missing), for a person to look at;
        the folder's name on the server (``folder_name``)."""
        client = self.client
        folder = self.folder_name(folder)
        if not client.folder_exists(folder):
            client.create_folder(folder)
        if client.has_capability("MOVE"):
            client.move([uid], folder)
            return folder
        client.copy([uid], folder)
        client.add_flags([uid], [DELETED])
        if client.has_capability("UIDPLUS"):
            client.uid_expunge([uid])
        else:
            client.expunge()
        return folder

    @_translated
    def folder_name(self, folder: str) -> str:
        """``folder`` as this server names it: in the personal namespace (``INBOX.`` on
        Courier and Cyrus-style servers) unless it is written there already or is INBOX,
        with "/" between levels written as the server's delimiter."""
        client = self.client
        if folder.upper() == "INBOX" or not client.has_capability("NAMESPACE"):
            return folder
        personal = client.namespace().personal or ()
        if not personal:
            return folder
        prefix, delimiter = (_text(part) for part in personal[0])
        if delimiter and delimiter != "/":
            folder = folder.replace("/", delimiter)
        if prefix and not folder.upper().startswith(prefix.upper()):
            folder = prefix + folder
        return folder

    @_translated
    def mark_unreadable(self, uid: int) -> None:
        """\\Seen and ``$GatewayUnreadable`` (or only \\Seen where the server keeps no
        keywords): the mail stays where it is, and no poll reads it again."""
        client = self.client
        try:
            client.add_flags([uid], [SEEN, UNREADABLE])
        except IMAPClientError:
            client.add_flags([uid], [SEEN])

    # --- IDLE: told at once when mail arrives, where the server offers it ------------

    @_translated
    def can_idle(self) -> bool:
        return self.client.has_capability("IDLE")

    @_translated
    def idle_start(self) -> None:
        self.client.idle()

    @_translated
    def idle_wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds in IDLE; True when new mail arrived."""
        return _new_mail(self.client.idle_check(timeout=timeout))

    @_translated
    def idle_stop(self) -> bool:
        """End the IDLE; True when the server reported new mail as it ended."""
        _text_reply, responses = self.client.idle_done()
        return _new_mail(responses)


def _new_mail(responses) -> bool:
    return any(isinstance(r, tuple) and len(r) > 1 and r[1] in (b"EXISTS", b"RECENT")
               for r in responses)


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("ascii", "replace") if isinstance(value, bytes) else value
