"""The mailbox poller's place in each folder: the last UID whose outcome is committed,
valid while the folder's UIDVALIDITY is unchanged (then the poller reads unread mail)."""

from __future__ import annotations

from dataclasses import dataclass

from core.messaging.models import MailboxCursor
from core.platform.clock import utcnow
from core.platform.db import Database


@dataclass(frozen=True)
class Cursor:
    uidvalidity: int
    last_uid: int


class MailboxCursors:
    """The cursors table, for the e-mail channel (which never sees a session)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, mailbox: str) -> Cursor | None:
        """Where the poller stopped in ``mailbox`` (its key), or None: not read yet."""
        with self.db.read() as session:
            row = session.get(MailboxCursor, mailbox)
            return Cursor(row.uidvalidity, row.last_uid) if row else None

    def save(self, mailbox: str, uidvalidity: int, last_uid: int) -> None:
        """Remember the last UID whose outcome is committed (never moves backwards within
        one UIDVALIDITY)."""
        with self.db.write.begin() as session:
            row = session.get(MailboxCursor, mailbox)
            if row is None:
                session.add(MailboxCursor(mailbox=mailbox, uidvalidity=uidvalidity,
                                          last_uid=last_uid, updated_at=utcnow()))
            elif row.uidvalidity != uidvalidity or last_uid > row.last_uid:
                row.uidvalidity, row.last_uid = uidvalidity, last_uid
