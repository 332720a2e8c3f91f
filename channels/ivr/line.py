"""The toll-free line: the call store, the menus and the metrics, for any front end.

The Twilio webhooks and the staff call simulator both drive calls through ``Line``; each
renders the returned actions its own way (TwiML, a web page).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from channels.ivr.calls import CallStore
from channels.ivr.flow import Action, Call, CallFlow, CitizenVoice, FlowConfig, Recording
from channels.ivr.hours import WorkingHours
from channels.ivr.metrics import CALLS_ENDED, CALLS_STARTED
from channels.ivr.settings import IvrConfiguration
from core.calls.log import CALL_SID_MAX
from core.platform.clock import utcnow
from core.service import Core
from core.transactions.answer import Answer
from core.transactions.inquiry import InquiryRequest

log = logging.getLogger(__name__)

# A call still open this long got no status callback (or the caller hung up on the
# simulator page): it is logged as hung up and its last answer forgotten.
ABANDONED_AFTER = timedelta(hours=2)
# How often a process looks for such calls (when a call starts).
ABANDONED_CHECK_SECONDS = 300.0


class Line:
    def __init__(self, store: CallStore, flow: CallFlow, channel: str) -> None:
        self._store = store
        self._flow = flow
        self.channel = channel
        self._next_check = 0.0

    @classmethod
    def build(cls, core: Core, settings: IvrConfiguration, channel: str = "ivr",
              now: Callable[[], datetime] = lambda: datetime.now(UTC),
              inquire: Callable[[InquiryRequest], Answer] | None = None,
              voice: CitizenVoice | None = None) -> Line:
        """The line on ``core``; ``inquire`` is the core's inquiry service unless given
        (the call simulator counts its failures apart). ``voice``: Citizen's Voice on the
        line (the main menu), when ``ivr.complaints.enabled`` and ``voice.enabled``."""
        agent = settings.ivr.agent
        complaints = settings.ivr.complaints
        config = FlowConfig(
            channel=channel, tz=core.config.tz, short_code=core.config.sms.short_code,
            phone_region=core.config.locale.phone_region,
            default_language=core.config.locale.default_language,
            agent_number=agent.number, ring_seconds=agent.ring_seconds,
            hours=WorkingHours(frozenset(agent.days), agent.start, agent.end, core.config.tz),
            trust_caller_id=settings.ivr.trust_caller_id,
            complaints=voice is not None and complaints.enabled and core.config.voice.enabled,
            max_record_seconds=complaints.max_record_seconds,
            min_record_seconds=complaints.min_record_seconds,
            read_answers=settings.ivr.voice.mode == "say")
        return cls(CallStore(core.calls),
                   CallFlow(config, inquire or core.inquire, now, voice=voice), channel)

    def call_started(self, call_sid: str, caller: str | None, attested: bool = False
                     ) -> list[Action]:
        """A call's first webhook: the call is stored with its first menu's state at once.
        ``attested``: the network vouched for the caller ID (kept for the whole call)."""
        call = Call(call_sid=call_sid[:CALL_SID_MAX], channel=self.channel,
                    started_at=utcnow(), caller_attested=attested)
        actions = self._flow.start(call)
        if self._store.create(call, caller):
            CALLS_STARTED.labels(self.channel).inc()
            self.close_abandoned()
            return actions
        # Twilio asked again for a call it started: the menu it is at.
        known = self._store.load(call_sid)
        if known is None:
            raise RuntimeError(f"call {call_sid} refused as a duplicate, yet not stored")
        return self._after(known, self._flow.start(known))

    def keys(self, call_sid: str, node: str, digits: str | None, caller: str | None,
             attested: bool = False) -> list[Action]:
        """Keys pressed (or silence) for ``node``; an unknown call starts from the top
        (``attested`` counts only then: a known call keeps what its start said)."""
        call = self._store.load(call_sid)
        if call is None:
            return self.call_started(call_sid, caller, attested)
        return self._after(call, self._flow.answer(call, node, digits, caller))

    def dial_ended(self, call_sid: str, status: str | None, caller: str | None,
                   attested: bool = False) -> list[Action]:
        call = self._store.load(call_sid)
        if call is None:
            return self.call_started(call_sid, caller, attested)
        return self._after(call, self._flow.dial_ended(call, status))

    def recorded(self, call_sid: str, recording: Recording | None, caller: str | None,
                 attested: bool = False, reply_to: str | None = None) -> list[Action]:
        """A voice message ended (``recording`` None: nothing was recorded);
        ``reply_to``: the mobile keyed in for the SMS."""
        call = self._store.load(call_sid)
        if call is None:
            return self.call_started(call_sid, caller, attested)
        return self._after(call, self._flow.recorded(call, recording, caller, reply_to))

    def hung_up(self, call_sid: str, duration: int | None = None) -> None:
        ended = self._store.hung_up(call_sid, duration)
        if ended is not None:
            CALLS_ENDED.labels(ended.channel, ended.outcome or "hung_up").inc()
            log.info("%s call %s ended: the caller hung up (%s), path %s", ended.channel,
                     ended.call_sid, ended.outcome, " ".join(ended.path))

    def call(self, call_sid: str) -> Call | None:
        return self._store.load(call_sid)

    def fault(self, call_sid: str | None, *, look_up: bool = True) -> list[Action]:
        """What the caller hears when a webhook failed on our side (the database down, an
        error in the inquiry service): an apology and the self-service options, then the
        line hangs up. In the call's language when ``look_up`` and its row can still be
        read. Writes nothing: the status callback (or the abandoned-call sweep) ends the
        call."""
        language = None
        if call_sid and look_up:
            try:
                call = self._store.load(call_sid)
            except Exception:  # the fault may well be the database itself
                call = None
            language = call.language if call is not None else None
        return self._flow.fault(language)

    def close_abandoned(self, *, force: bool = False) -> None:
        """Log calls left open as hung up (at most every few minutes unless forced)."""
        if not force and time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + ABANDONED_CHECK_SECONDS
        for (channel, outcome), count in self._store.close_abandoned(ABANDONED_AFTER).items():
            CALLS_ENDED.labels(channel, outcome).inc(count)

    def _after(self, call: Call, actions: list[Action]) -> list[Action]:
        if self._store.save(call):
            CALLS_ENDED.labels(call.channel, call.outcome or "ended").inc()
            # The call log's line: no caller number at all (the row keeps it masked).
            log.info("%s call %s ended: %s, language %s, path %s", call.channel,
                     call.call_sid, call.outcome, call.language, " ".join(call.path))
        return actions
