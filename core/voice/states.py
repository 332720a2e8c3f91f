"""The life of a case: its states, which count against the clock, and which actions lead
from one to another. Pure data; ``core.voice.cases`` applies it and says who may act.

A complaint (and an enquiry, which lives the same life)::

    received ──assign──▶ assigned ──start──▶ in_progress ⇄ awaiting_citizen
        │                    │                    │          (clock paused)
        │ route (to another agency, back in its inbox: received)
        │                    └───────answer (a specialist's draft)──▶ answer_drafted
        │                                                        approve │ send back
        │                                                                ▼
        └── not_competent: back to the emirate (received there) ──   answered
                                                                         │ rate / window
    duplicate, withdrawn: side exits from any open state                 ▼
    answered ──reopen (citizen, within voice.reopen_days)──▶ assigned   closed

A suggestion's deadline covers the decision, not the building::

    received → assigned → under_study ⇄ awaiting_citizen
                              │ answer (a specialist's draft) → answer_drafted
                              ▼
                          accepted → planned → implemented
                          rejected (a reason is required)

A suggestion may await the citizen too (asked for more about it: the clock pauses), and
its drafted answer is decided by the coordinator (accept or reject), not approved.
Which action leads from which state is ``core.voice.actions.FROM``.

``close`` (with a reason) ends any open case; closing, rejecting and "not competent"
always need one.
"""

from __future__ import annotations

from typing import Final

COMPLAINT: Final = "complaint"
SUGGESTION: Final = "suggestion"
ENQUIRY: Final = "enquiry"

RECEIVED = "received"
ASSIGNED = "assigned"
IN_PROGRESS = "in_progress"
AWAITING_CITIZEN = "awaiting_citizen"
ANSWER_DRAFTED = "answer_drafted"
ANSWERED = "answered"
CLOSED = "closed"
DUPLICATE = "duplicate"
WITHDRAWN = "withdrawn"
UNDER_STUDY = "under_study"
ACCEPTED = "accepted"
PLANNED = "planned"
IMPLEMENTED = "implemented"
REJECTED = "rejected"

COMPLAINT_STATES = (RECEIVED, ASSIGNED, IN_PROGRESS, AWAITING_CITIZEN, ANSWER_DRAFTED,
                    ANSWERED, CLOSED, DUPLICATE, WITHDRAWN)
SUGGESTION_STATES = (RECEIVED, ASSIGNED, UNDER_STUDY, AWAITING_CITIZEN, ANSWER_DRAFTED,
                     ACCEPTED, PLANNED, IMPLEMENTED, REJECTED, CLOSED, DUPLICATE, WITHDRAWN)
STATES = tuple(dict.fromkeys(COMPLAINT_STATES + SUGGESTION_STATES))

# Nothing more happens to these (a complaint's "answered" is not final: it may be rated,
# reopened, closed).
FINAL = frozenset({CLOSED, DUPLICATE, WITHDRAWN, IMPLEMENTED, REJECTED})
# The answer clock has stopped: the agency has answered or decided.
ANSWER_GIVEN = frozenset({ANSWERED, ACCEPTED, PLANNED}) | FINAL
# The clock is paused: the case waits for the citizen.
PAUSED = frozenset({AWAITING_CITIZEN})
# The clock runs (the states a deadline and an alarm concern).
CLOCK_RUNNING = frozenset(STATES) - ANSWER_GIVEN - PAUSED
# Acknowledged: someone at the agency has taken it up (the first-response target).
UNACKNOWLEDGED = frozenset({RECEIVED})
