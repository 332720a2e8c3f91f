"""Properties of the phone line's menus under whatever keys a caller (or a forged
webhook) sends: any text in ``Digits``, for any menu, any number of times.

The flow never raises, always answers with a question or a goodbye, ends the call after
three wrong tries in a row, and what it reads back is bounded whatever was sent."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from channels.ivr.flow import (
    LANGUAGE,
    NATIONAL_ID,
    NODES,
    NUMBER,
    OPTIONS,
    Call,
    Gather,
    Hangup,
    Record,
    Recording,
    Speak,
)
from core.platform.errors import TooMany
from core.transactions.answer import Outcome
from tests.channels.ivr.test_flow import FakeCore, flow
from tests.properties import PROPERTY, outside_text

keys = st.one_of(st.none(), outside_text,
                 st.text(alphabet="0123456789*#", max_size=80),
                 st.text(alphabet="٠١٢٣٤٥٦٧٨٩#", max_size=30))
nodes = st.sampled_from([LANGUAGE, NUMBER, NATIONAL_ID, OPTIONS, "agent", "", "x" * 100])
callers = st.none() | st.sampled_from(["+966551234567", "anonymous", "", "+1", "0551234567"])
outcomes = st.sampled_from(list(Outcome))


@PROPERTY
@given(st.lists(st.tuples(st.booleans(), nodes, keys, callers), max_size=25), outcomes)
def test_any_keys_get_a_question_or_a_goodbye(presses, outcome):
    line = flow(FakeCore(outcome))
    call = Call("CA-fuzz")
    line.start(call)
    for current_node, node, pressed, caller in presses:
        actions = line.answer(call, call.node if current_node else node, pressed, caller)
        assert actions and isinstance(actions[-1], (Gather, Hangup)), actions
        spoken = sum(len(s.text) for a in actions if isinstance(a, Speak) for s in a.sentences)
        assert spoken < 5000
        if call.ended:
            assert line.answer(call, call.node, pressed, caller) == [Hangup()]
    assert len(call.path) <= 3 * len(presses) + 1


@PROPERTY
@given(st.lists(st.text(alphabet="*abc٫", min_size=1, max_size=10).map(lambda k: k + "#"),
                min_size=3, max_size=3))
def test_three_wrong_answers_end_the_call(wrong):
    line = flow()
    call = Call("CA-wrong")
    line.start(call)
    for pressed in wrong:
        actions = line.answer(call, call.node, pressed, None)
    assert call.ended and isinstance(actions[-1], Hangup)


class FakeVoice:
    """Citizen's Voice as the flow sees it: files every message (once per call), knows
    one case for one mobile, refuses when told to."""

    def __init__(self, refuse: bool) -> None:
        self.refuse = refuse
        self.filed: dict[str, str] = {}

    def file_complaint(self, call_sid, lang, mobile, origin, recording):
        if self.refuse:
            raise TooMany("too many", code="too_many_cases")
        return self.filed.setdefault(call_sid, "7000000004")

    def case(self, tracking, mobile, origin, *, first_try=False):
        if self.refuse and not first_try:
            raise TooMany("too many", code="too_many_attempts")
        return None


voice_nodes = st.sampled_from([*NODES, "", "x" * 30])
recordings = st.none() | st.builds(Recording, url=st.just("https://api.twilio.com/R"),
                                   seconds=st.integers(0, 400))
steps = st.one_of(
    st.tuples(st.just("keys"), st.booleans(), voice_nodes, keys, callers),
    st.tuples(st.just("recorded"), recordings, callers,
              st.none() | st.sampled_from(["0569876543", "garbage", "+966551234567"])))


@PROPERTY
@given(st.lists(steps, max_size=25), st.booleans())
def test_with_citizens_voice_any_keys_or_recordings_get_a_question_or_a_goodbye(
        presses, refuse):
    from tests.channels.ivr.test_flow import FakeCore

    voice = FakeVoice(refuse)
    line = flow_with_voice(FakeCore(), voice)
    call = Call("CA-voice")
    line.start(call)
    for step in presses:
        if step[0] == "keys":
            _, current_node, node, pressed, caller = step
            actions = line.answer(call, call.node if current_node else node, pressed,
                                  caller)
        else:
            _, recording, caller, reply_to = step
            actions = line.recorded(call, recording, caller, reply_to)
        assert actions and isinstance(actions[-1], (Gather, Record, Hangup)), actions
        if call.ended:
            assert line.answer(call, call.node, "1", None) == [Hangup()]
    assert len(voice.filed) <= 1


def flow_with_voice(core, voice):
    from channels.ivr.flow import CallFlow, FlowConfig
    from tests.channels.ivr.test_flow import HOURS, RIYADH

    config = FlowConfig(channel="ivr", tz=RIYADH, short_code="74747", phone_region="SA",
                        default_language="ar", agent_number="", ring_seconds=20,
                        hours=HOURS, complaints=True)
    return CallFlow(config, core, voice=voice)
