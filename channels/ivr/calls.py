"""The line's calls in the core's call log (core/calls/log.py): a ``Call`` (the menus'
state) to and from the log's ``CallRecord``, once per webhook.

A caller ID the network attested is kept as the path's first step, ``attested``: the call
log shows it, and the later webhooks (which need not carry the attestation) read it back.
Should a very long path lose its start to the column's size, the call only loses the
attestation, and is asked for the national ID like any other.
"""

from __future__ import annotations

from datetime import timedelta

from channels.ivr.flow import Call
from core.calls.log import CallLog, CallRecord

ATTESTED = "attested"


class CallStore:
    """``CallLog`` speaking in ``Call``s: what the line loads, saves and ends."""

    def __init__(self, log: CallLog) -> None:
        self._log = log

    def create(self, call: Call, caller: str | None) -> bool:
        """Store a new call; False when Twilio retried the first webhook (see CallLog)."""
        return self._log.create(_record(call), caller)

    def load(self, call_sid: str) -> Call | None:
        record = self._log.load(call_sid)
        return _call(record) if record is not None else None

    def save(self, call: Call) -> bool:
        """Write the call back; True when this save ended it."""
        return self._log.save(_record(call))

    def close_abandoned(self, older_than: timedelta) -> dict[tuple[str, str], int]:
        return self._log.close_abandoned(older_than)

    def hung_up(self, call_sid: str, duration: int | None) -> Call | None:
        """The status callback; the call when this ended it, else None."""
        record = self._log.hung_up(call_sid, duration)
        return _call(record) if record is not None else None


def _record(call: Call) -> CallRecord:
    path = [ATTESTED, *call.path] if call.caller_attested else call.path
    return CallRecord(call_sid=call.call_sid, channel=call.channel, node=call.node,
                      language=call.language, attempts=call.attempts, number=call.number,
                      replay=call.replay_json(), path=" ".join(path),
                      outcome=call.outcome, ended=call.ended, started_at=call.started_at)


def _call(record: CallRecord) -> Call:
    path = record.path.split()
    attested = path[:1] == [ATTESTED]
    return Call(call_sid=record.call_sid, channel=record.channel, node=record.node,
                language=record.language, attempts=record.attempts, number=record.number,
                replay=Call.replay_from(record.replay), path=path[1:] if attested else path,
                outcome=record.outcome, ended=record.ended, started_at=record.started_at,
                caller_attested=attested)
