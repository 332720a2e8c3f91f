"""The notification outbox: rows written inside the caller's unit of work, sent later.

A sender takes work from here, never from memory. ``cause_key`` is unique, so the same
cause (an event, an overdue cycle) can never produce a second message.

A message's states: pending → sending (``claim_due``) → sent (``mark_sent``) → delivered or
failed (``mark_delivered``); sending → pending again (``mark_retry``, ``mark_unsent``,
``recover_claims_of_stopped_holders``, ``recover_stale_claims``) or failed
(``mark_failed``); pending → expired
(``expire_undeliverable``). Every transition updates only rows in the state it leaves, so a
late or repeated call changes nothing and says so (False or 0).

A claim's ``attempts`` is its fencing token: every claim adds one, so a sender that passes
the ``attempt`` it claimed (``Claimed.attempts``) records an outcome only on its own claim.
A sender that stalled past ``recover_stale_claims`` and woke up after the row was claimed
again changes nothing; the new claim's outcome stands. (``mark_unsent`` takes the attempt
back: the holder gives up a claim it never tried, and no one else holds that number.)

The jobs, one module each: ``enqueue`` (putting messages in; priorities; depth), ``claims``
(claiming due messages and ending each claim), ``receipts`` (delivery receipts), ``upkeep``
(claims of dead senders given back, old messages expired); ``table`` holds what they share.
Callers use this package's names (``outbox.claim_due(...)``), not the modules'.
"""

from core.messaging.outbox.claims import (
    PROVIDER_IDS_MAX,
    Sent,
    claim,
    claim_due,
    join_provider_ids,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_sent_and_claim,
    mark_sent_many,
    mark_unsent,
)
from core.messaging.outbox.enqueue import (
    PRIORITY_ANSWER,
    PRIORITY_CITIZEN,
    PRIORITY_STAFF,
    depth,
    enqueue,
    enqueue_alike,
    enqueue_claimed,
    enqueue_many,
    enqueue_new,
)
from core.messaging.outbox.receipts import (
    Applied,
    Receipt,
    later_part,
    mark_delivered,
    mark_delivered_many,
)
from core.messaging.outbox.table import Claimed
from core.messaging.outbox.upkeep import (
    Heartbeats,
    expire_undeliverable,
    recover_claims_of_stopped_holders,
    recover_stale_claims,
)

__all__ = [
    "PRIORITY_ANSWER",
    "PRIORITY_CITIZEN",
    "PRIORITY_STAFF",
    "PROVIDER_IDS_MAX",
    "Applied",
    "Claimed",
    "Heartbeats",
    "Receipt",
    "Sent",
    "claim",
    "claim_due",
    "depth",
    "enqueue",
    "enqueue_alike",
    "enqueue_claimed",
    "enqueue_many",
    "enqueue_new",
    "expire_undeliverable",
    "join_provider_ids",
    "later_part",
    "mark_delivered",
    "mark_delivered_many",
    "mark_failed",
    "mark_retry",
    "mark_sent",
    "mark_sent_and_claim",
    "mark_sent_many",
    "mark_unsent",
    "recover_claims_of_stopped_holders",
    "recover_stale_claims",
]
