"""The call flow as plain Python: a fake inquiry service, no Twilio, no database."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from channels.ivr.flow import (
    LANGUAGE,
    NATIONAL_ID,
    NUMBER,
    OPTIONS,
    Call,
    CallFlow,
    FlowConfig,
    Gather,
    Hangup,
    Speak,
    Transfer,
)
from channels.ivr.hours import WorkingHours
from channels.ivr.speech import answer_speech
from core.transactions.answer import Answer, Name, Outcome, TransactionView
from core.transactions.render import speech_text, status_label
from tests import factories as f

RIYADH = ZoneInfo("Asia/Riyadh")
HOURS = WorkingHours(frozenset({"sun", "mon", "tue", "wed", "thu"}), time(8), time(15), RIYADH)
VIEW = TransactionView(number="4471234", status="referred", subject="طلب",
                       registered_at=datetime(2025, 11, 2, 6, 15, tzinfo=UTC),
                       department=Name("إدارة الحقوق", "Rights Department"))


class FakeCore:
    def __init__(self, outcome: Outcome = Outcome.FOUND) -> None:
        self.outcome = outcome
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        if self.outcome is Outcome.FOUND and request.national_id is None \
                and request.mobile != f.MOBILE_E164:
            return Answer(Outcome.NOT_FOUND)
        return Answer(self.outcome, VIEW if self.outcome is Outcome.FOUND else None)


def flow(core=None, now=datetime(2026, 11, 22, 7, 0, tzinfo=UTC), trust_caller_id=False):
    config = FlowConfig(channel="ivr", tz=RIYADH, short_code="74747", phone_region="SA",
                        default_language="ar", agent_number="+966112345678",
                        ring_seconds=20, hours=HOURS, trust_caller_id=trust_caller_id)
    return CallFlow(config, core or FakeCore(), lambda: now)


def gathers(actions) -> list[Gather]:
    return [a for a in actions if isinstance(a, Gather)]


def test_the_call_starts_with_the_language_menu():
    call = Call("CA1")
    actions = flow().start(call)
    assert gathers(actions)[0].node == LANGUAGE and gathers(actions)[0].num_digits == 1
    assert call.path == [LANGUAGE]


def spoken(actions) -> list[tuple[str, str]]:
    """(language, text) of every sentence the actions speak, prompts included, in order."""
    out = []
    for action in actions:
        for s in (action.sentences if isinstance(action, Speak) else
                  action.prompt if isinstance(action, Gather) else ()):
            out.append((s.lang, s.text))
    return out


def test_the_language_menu_offers_each_language_in_itself_arabic_first():
    assert [lang for lang, _text in spoken(flow().start(Call("CA1")))] == \
        ["ar", "ar", "en", "en"]
    said = spoken(flow().start(Call("CA1")))
    assert said[1][1].startswith("للعربية") and said[2][1].startswith("Welcome")
    assert said[3] == ("en", "For English, press 2.")


def test_a_wrong_key_in_the_language_menu_is_answered_in_both_languages():
    call = Call("CA1")
    line = flow()
    actions = line.answer(call, LANGUAGE, "7", None)
    assert spoken(actions) == [("ar", "هذا الاختيار غير متاح."),
                               ("en", "That is not one of the choices."),
                               spoken(actions)[2], ("en", "For English, press 2.")]
    assert spoken(actions)[2][0] == "ar" and call.language is None
    line.answer(call, LANGUAGE, "8", None)
    actions = line.answer(call, LANGUAGE, "*", None)
    assert isinstance(actions[-1], Hangup) and call.outcome == "gave_up"
    langs = [lang for lang, _text in spoken(actions)]
    assert langs == ["ar"] * 4 + ["en"] * 4  # each language's goodbye said whole
    assert "SMS to 7 4 7 4 7" in spoken(actions)[6][1]


def test_a_dial_report_without_a_transfer_in_progress_changes_nothing():
    line = flow()
    call = Call("CA1", node=OPTIONS, language="en", outcome="status",
                path=["language", "number", "status", "options"])
    for status in ("completed", "busy"):
        actions = line.dial_ended(call, status)  # late, replayed, or never dialled
        assert not call.ended and call.outcome == "status"
        assert gathers(actions)[0].node == OPTIONS
    assert call.path == ["language", "number", "status", "options"]
    line.answer(call, OPTIONS, "0", None)  # Sunday 10:00 in Riyadh: put through
    assert call.outcome == "transfer"
    line.dial_ended(call, "busy")
    assert call.outcome == "agent_busy"
    line.dial_ended(call, "completed")  # the same report again: still at the options
    assert not call.ended and call.outcome == "agent_busy"
    line.answer(call, OPTIONS, "0", None)
    assert isinstance(line.dial_ended(call, "completed")[-1], Hangup)
    assert call.ended and call.outcome == "transferred"


@pytest.mark.parametrize(("keys", "lang"), [("1", "ar"), ("2", "en"), ("", "ar"), (None, "ar"),
                                            ("#", "ar"), ("١", "ar"), ("2#", "en")])
def test_the_language_menu(keys, lang):
    call = Call("CA1")
    actions = flow().answer(call, LANGUAGE, keys, None)
    assert call.language == lang and gathers(actions)[0].node == NUMBER


@pytest.mark.parametrize("keys", ["3", "12", "*", "0", "1*"])
def test_other_keys_in_the_language_menu_are_asked_again(keys):
    call = Call("CA1")
    actions = flow().answer(call, LANGUAGE, keys, None)
    assert call.node == LANGUAGE and call.attempts == 1 and gathers(actions)


def test_the_attested_caller_id_of_the_applicant_skips_the_national_id():
    core = FakeCore()
    call = Call("CA1", node=NUMBER, language="en", caller_attested=True)
    actions = flow(core).answer(call, NUMBER, "4471234#", f.MOBILE_E164)
    assert call.node == OPTIONS and call.outcome == "status"
    assert "4 4 7 1 2 3 4" in actions[0].sentences[0].text  # read back first
    assert core.requests[0].channel == "ivr" and core.requests[0].mobile == f.MOBILE_E164
    assert core.requests[0].first_try


def test_a_caller_id_nobody_vouches_for_is_neither_credential_nor_origin():
    # The applicant's mobile as caller ID, as anyone can set it: the ID is asked, and the
    # inquiry carries the ID alone; the mobile is not its origin either.
    core = FakeCore()
    call = Call("CA9", node=NUMBER, language="en")
    actions = flow(core).answer(call, NUMBER, "4471234#", f.MOBILE_E164)
    assert core.requests == [] and gathers(actions)[0].node == NATIONAL_ID
    flow(core).answer(call, NATIONAL_ID, f.OTHER_NATIONAL_ID + "#", f.MOBILE_E164)
    [request] = core.requests
    assert request.mobile is None and request.origin is None
    assert request.national_id == f.OTHER_NATIONAL_ID


def test_trusting_caller_ids_lets_any_caller_id_answer():
    core = FakeCore()
    call = Call("CA1", node=NUMBER, language="en")
    flow(core, trust_caller_id=True).answer(call, NUMBER, "4471234#", f.MOBILE_E164)
    assert call.outcome == "status" and core.requests[0].mobile == f.MOBILE_E164


def test_another_caller_id_is_asked_for_the_national_id_then_answered():
    core = FakeCore()
    call = Call("CA1", node=NUMBER, language="en")
    assert gathers(flow(core).answer(call, NUMBER, "4471234#", "+966569876543"))[0].node \
        == NATIONAL_ID
    actions = flow(core).answer(call, NATIONAL_ID, f.NATIONAL_ID + "#", "+966569876543")
    assert call.outcome == "status" and call.replay
    assert core.requests[-1].national_id == f.NATIONAL_ID
    assert core.requests[-1].number_text == "4471234"
    assert any(isinstance(a, Speak) for a in actions)


def test_a_landline_or_hidden_caller_costs_no_inquiry_before_the_id():
    for caller in (None, "anonymous", "+966112345678", "x" * 500):
        core = FakeCore()
        call = Call("CA1", node=NUMBER, language="ar")
        flow(core).answer(call, NUMBER, "4471234#", caller)
        assert core.requests == [] and call.node == NATIONAL_ID


def test_too_many_failures_end_the_call_at_once():
    core = FakeCore(Outcome.RATE_LIMITED)
    call = Call("CA1", node=NATIONAL_ID, language="ar", number="4471234")
    actions = flow(core).answer(call, NATIONAL_ID, f.NATIONAL_ID, None)
    assert isinstance(actions[-1], Hangup) and call.outcome == "rate_limited"
    assert call.ended and call.replay == ()


def test_three_wrong_answers_then_goodbye_with_sms_and_portal():
    call = Call("CA1", node=NUMBER, language="en")
    line = flow()
    for _ in range(2):
        actions = line.answer(call, NUMBER, "1#", None)
        assert gathers(actions)[0].prompt[0].text.startswith("Enter the transaction number")
    actions = line.answer(call, NUMBER, "", None)
    assert isinstance(actions[-1], Hangup)
    text = " ".join(s.text for a in actions if isinstance(a, Speak) for s in a.sentences)
    assert "SMS to 7 4 7 4 7" in text and "portal" in text and "Goodbye" in text


@pytest.mark.parametrize(("now", "transfer"), [
    (datetime(2026, 11, 22, 5, 0, tzinfo=UTC), True),    # Sunday 08:00 Riyadh
    (datetime(2026, 11, 22, 11, 59, tzinfo=UTC), True),  # Sunday 14:59
    (datetime(2026, 11, 22, 12, 0, tzinfo=UTC), False),  # Sunday 15:00
    (datetime(2026, 11, 22, 4, 59, tzinfo=UTC), False),  # Sunday 07:59
    (datetime(2026, 11, 20, 7, 0, tzinfo=UTC), False),   # Friday
    (datetime(2026, 11, 21, 7, 0, tzinfo=UTC), False),   # Saturday
])
def test_the_agent_only_within_working_hours(now, transfer):
    call = Call("CA1", node=OPTIONS, language="ar")
    actions = flow(now=now).answer(call, OPTIONS, "0", None)
    assert any(isinstance(a, Transfer) for a in actions) is transfer


def test_a_webhook_for_another_menu_repeats_the_current_one():
    call = Call("CA1", node=NUMBER, language="ar")
    actions = flow().answer(call, OPTIONS, "9", None)
    assert not call.ended and gathers(actions)[0].node == NUMBER


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_spoken_answer_says_what_the_core_renders(lang):
    speech = answer_speech(Answer(Outcome.FOUND, VIEW), lang, RIYADH)
    core_says = speech_text(Answer(Outcome.FOUND, VIEW), lang, RIYADH)
    assert core_says.startswith(f"{speech[0].text} {speech[1].text}.")


@pytest.mark.parametrize("status", ["registered", "referred", "assigned", "issued",
                                    "reply_received", "closed"])
def test_every_status_is_spoken_as_the_core_labels_it(status):
    view = TransactionView(number="1", status=status, subject="", registered_at=VIEW.registered_at,
                           department=VIEW.department, destination_agency=Name("وزارة", "Ministry"),
                           reply_expected=status == "issued")
    for lang in ("ar", "en"):
        spoken = answer_speech(Answer(Outcome.FOUND, view), lang, RIYADH)[1]
        assert spoken.text == status_label(view, lang)
        assert all(phrase in spoken.text for phrase in spoken.phrases)


def test_the_hours_name_a_run_of_days_or_each_day():
    from datetime import time

    from channels.ivr.speech import working_hours

    week = working_hours("en", ["sun", "mon", "tue", "wed", "thu"], time(8), time(15))
    assert week.text == "Our employees answer calls Sunday to Thursday, from 8:00 to 15:00."
    odd = working_hours("en", ["thu", "sat"], time(9, 30), time(13))
    assert odd.text == "Our employees answer calls Thursday, Saturday, from 9:30 to 13:00."
    assert odd.phrases == ("Our employees answer calls", "Thursday", "Saturday", "from",
                           "9", "30", "to", "13")
    arabic = working_hours("ar", ["sun", "mon", "tue"], time(8), time(15))
    assert "من الأحد إلى الثلاثاء" in arabic.text
