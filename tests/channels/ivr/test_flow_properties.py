"""Properties of the phone line's menus under whatever keys a caller (or a forged
webhook) sends: any text in ``Digits``, for any menu, any number of times.

The flow never raises, always answers with a question or a goodbye, ends the call after
three wrong tries in a row, and what it reads back is bounded whatever was sent."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from channels.ivr.flow import LANGUAGE, NATIONAL_ID, NUMBER, OPTIONS, Call, Gather, Hangup, Speak
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
