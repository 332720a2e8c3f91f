"""One claimed outbox message on its way to the SMSC: its submits, and what came of them.

The split and the concatenation reference depend only on the text and the message id,
so a retry's parts match the first attempt's, and a retry sends only the segments the
SMSC has not accepted yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from channels.sms.encoding import sms_parts
from channels.sms.pdus import (
    ChannelUnavailable,
    DeliveryFailed,
    NotSent,
    SubmitRequest,
    SubmitResult,
    Submitted,
    status_name,
)
from channels.sms.receipts import canonical_message_id
from core.messaging import outbox

# ESME_RSYSERR, ESME_RMSGQFUL, ESME_RTHROTTLED, ESME_RX_T_APPN: try again later.
TEMPORARY_STATUSES = frozenset({0x08, 0x14, 0x58, 0x64})


@dataclass
class Outgoing:
    """A claimed message and its segments' submits (or why it cannot be sent)."""

    message: outbox.Claimed
    submitted: list[Submitted] | str
    # Which of the message's segments the futures are for (a retry skips those accepted).
    indexes: list[int] = field(default_factory=list)

    @property
    def futures(self) -> list[Submitted]:
        return [] if isinstance(self.submitted, str) else self.submitted

    @property
    def refused(self) -> str | None:
        return self.submitted if isinstance(self.submitted, str) else None

    def finished(self) -> bool:
        return all(future.done() for future in self.futures)


@dataclass(frozen=True)
class Outcome:
    """What came of one finished message: ``sent`` (with the SMSC's ``ids``), ``failed``
    (with its ``reason``), ``unsent`` (never on the wire) or ``retry`` (with the
    ``reason`` and the ids of the segments accepted so far)."""

    result: str
    ids: list[str | None] = field(default_factory=list)
    reason: str = ""


def segments(message: outbox.Claimed, short_code: str
             ) -> list[tuple[int, SubmitRequest]] | str:
    """A submit_sm per segment still to send (with its index), or the reason the text
    cannot be sent."""
    try:
        parts = sms_parts(message.body, message.id % 256)
    except ValueError as exc:
        return f"cannot encode: {exc}"
    accepted = _accepted(message, len(parts))
    destination = message.recipient.removeprefix("+")
    return [
        (index, SubmitRequest(
            source_addr=short_code, destination_addr=destination,
            short_message=segment.payload, data_coding=segment.data_coding,
            esm_class=segment.esm_class,
            # On every segment: the first segment's receipt is the one matched, the
            # others are ignored, and some SMSCs only report segments asked for.
            registered_delivery=True))
        for index, segment in enumerate(parts) if accepted[index] is None
    ]


def outcome(outgoing: Outgoing) -> Outcome:
    """What to record for a finished message: a refusal, a retry (sending only the parts
    not accepted yet), a give-back when nothing was tried, or its provider ids."""
    message = outgoing.message
    if outgoing.refused is not None:
        return Outcome("failed", reason=outgoing.refused)
    prior = message.segments_accepted or ()
    ids: list[str | None] = [None] * max(len(prior), max(outgoing.indexes, default=-1) + 1)
    ids[:len(prior)] = prior
    problem: str | None = None
    refused: int | None = None
    untried = False
    for index, future in zip(outgoing.indexes, outgoing.futures, strict=True):
        try:
            result: SubmitResult = future.result(timeout=0)
        except NotSent:
            untried = True  # never on the wire: no attempt made
            continue
        except (ChannelUnavailable, DeliveryFailed, TimeoutError) as exc:
            problem = problem or (str(exc) or "no submit_sm_resp")
            continue
        if result.accepted:
            # The SMSC has it: sent, whatever its id looks like (an id missing or
            # with spaces must not make the part go again, nor stop the recording).
            ids[index] = _storable_id(result.message_id, message.id, index)
        elif refused is None or result.status not in TEMPORARY_STATUSES:
            refused = result.status
    if refused is not None and refused not in TEMPORARY_STATUSES:
        return Outcome("failed", reason=f"refused: {status_name(refused)}")
    if problem is None and refused is None and all(ids):
        return Outcome("sent", ids)
    if untried and problem is None and refused is None:
        # Nothing of it was tried this time: queued again, due now, no attempt counted
        # and no backoff grown (claimed again once the session is bound).
        return Outcome("unsent", ids)
    return Outcome("retry", ids, problem or status_name(refused or 0))


def _storable_id(message_id: str | None, notification_id: int, index: int) -> str:
    """The SMSC's id for a segment as the outbox stores it: canonical, no spaces, at most
    64 characters; a stand-in id (noid-N-I) when the SMSC gave none (its receipts cannot match)."""
    canonical = "_".join(canonical_message_id(message_id or "").split())[:64]
    return canonical or f"noid-{notification_id}-{index}"


def _accepted(message: outbox.Claimed, count: int) -> list[str | None]:
    """The SMSC's ids of the segments accepted on an earlier attempt (None where not)."""
    prior = list(message.segments_accepted or ())
    if len(prior) != count:  # the text cannot have changed; ignore a record that does not fit
        return [None] * count
    return prior
