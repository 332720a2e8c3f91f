"""The mailbox poller's cursor in the core: it moves forward only, and starts again when
the folder's UIDVALIDITY changes."""

from __future__ import annotations

from core.messaging.mailbox import Cursor, MailboxCursors


def test_the_cursor_moves_forward_and_restarts_with_a_new_uidvalidity(core):
    cursors = MailboxCursors(core.db)
    cursors.save("box", 7, 10)
    cursors.save("box", 7, 5)
    assert cursors.get("box") == Cursor(7, 10)

    cursors.save("box", 8, 2)
    assert cursors.get("box") == Cursor(8, 2)
