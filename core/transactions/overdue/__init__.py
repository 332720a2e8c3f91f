"""The overdue rule (DOMAIN.md §1, item 4): an outgoing transaction the agency has not
answered in time earns its department manager an SMS, then a reminder every few days.

A transaction is *awaiting a reply* while it is issued with ``reply_expected`` and no
``reply_received`` or ``closed`` event has come. Its department's reply period
(``Department.reply_days``, else ``scheduler.overdue_reply_days``) counts calendar days
or working days (``Department.reply_day_count``, else ``scheduler.overdue_day_count``;
see ``core.workdays``) from the day after the issue date. The reply is due by the end of
the period's last day (``due_on``); on the next counted day the transaction is overdue
and the manager is told. After that, a reminder goes every ``scheduler.overdue_repeat_days``
counted days after the last message, until the reply or the close stops the clock.
Dates are local (``locale.timezone``), the day starting at midnight; but managers are
staff, told at the start of the working day, and for a working-day rule on a working day
only (one found overdue, or a reminder falling due, on a Friday, a Saturday or a declared
holiday waits for the next working day): a day's messages (first and reminders) go
from ``scheduler.overdue_send_at`` (08:00) local time, and a scan before it sends none.
Holding the decision until then, rather than queueing at midnight for 08:00, means a
reply that comes in the night still stops the morning's message.

Exactly once: message N of transaction T has the outbox cause "overdue:T:N", and is written
in the same database transaction as the ``OverdueFollowUp`` row that records cycle N. The
first cycle is claimed by inserting that row (``ON CONFLICT DO NOTHING``), later ones by
an update of ``cycles`` guarded by the clock still being due, so two scans racing (two
machines, a restart mid-scan) cannot both send a cycle; on PostgreSQL they also take
disjoint rows (``SKIP LOCKED``). A transaction first found long after its deadline gets
one message, not the missed ones.

Cost: each department's candidates are one range of an index, the reminders one range of
``next_reminder_at``, so a scan reads what is due, not the table. The writes are a few
statements per batch of ``BATCH`` whatever its size (``INSERT ... SELECT`` for the clocks
and, through ``outbox.enqueue_alike``, for the messages), and the text is rendered once per
issue date and agency (``Texts``): for thousands due, Python per row costs more than SQL.

The parts, one module each: ``rule`` (a department's rule and when it is overdue),
``message`` (the manager's message and its cause key), ``scanning`` (the scan: first
messages and reminders) and ``clocks`` (stopping the clocks). Callers use this package's
names (``overdue.scan(...)``), not the modules'.
"""

from core.transactions.overdue.clocks import STOPPED_BY, silence, stop_answered, stop_clock
from core.transactions.overdue.message import KIND, Awaiting, Texts, cause_key, overdue_sms
from core.transactions.overdue.rule import (
    NO_DEPARTMENT,
    Rule,
    load_rules,
    overdue_conditions,
    reminder_due,
    sending,
    start_of,
)
from core.transactions.overdue.scanning import BATCH, SCAN_LEASE, ScanResult, scan

__all__ = [
    "BATCH",
    "KIND",
    "NO_DEPARTMENT",
    "SCAN_LEASE",
    "STOPPED_BY",
    "Awaiting",
    "Rule",
    "ScanResult",
    "Texts",
    "cause_key",
    "load_rules",
    "overdue_conditions",
    "overdue_sms",
    "reminder_due",
    "scan",
    "sending",
    "silence",
    "start_of",
    "stop_answered",
    "stop_clock",
]
