"""Who may do what to a case, in which state: the full matrix of role × agency × action,
and of action × state, against tables written here independently of
``core.voice.permissions`` and ``core.voice.actions``.

Each test walks fresh cases to the state the action needs and tries it as every kind of
user in turn; a refusal must change nothing (same history, same outbox), so one case
serves every refusal until someone succeeds. Outcomes: "ok", or the refusal's HTTP
meaning: "404" (not found, or not theirs to see: the same), "403" (``NotAllowed``),
"409" (``WrongState``).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.messaging.models import Notification
from core.platform.errors import NotAllowed, NotFound, WrongState
from core.voice import states
from core.voice.actions import CitizenProof
from tests.core.voice.conftest import EMIRATE, HEALTH, MUN, PROOF

KINDS = ("handler", "other_coordinator", "emirate_coordinator", "assignee", "colleague",
         "other_specialist", "own_leader", "other_leader", "emirate_leader", "leadership",
         "admin")
# Where the case is: with an agency, with the emirate (filed without one), or with the
# emirate because it is a complaint about MUN's own staff (MUN's people are the "other"
# ones there, and must see nothing of it).
LOCATIONS = ("agency", "emirate", "own_staff")


def user_of(world, kind: str, location: str):
    at = MUN if location == "agency" else EMIRATE
    other = HEALTH if location == "agency" else MUN
    login = {
        "handler": f"coord_{at}", "other_coordinator": f"coord_{other}",
        "emirate_coordinator": f"coord_{EMIRATE}", "assignee": f"spec_{at}",
        "colleague": f"spec2_{at}", "other_specialist": f"spec_{other}",
        "own_leader": f"leader_{at}", "other_leader": f"leader_{other}",
        "emirate_leader": f"leader_{EMIRATE}", "leadership": "leadership", "admin": "admin",
    }[kind]
    return world.users[login]


# --- the rules, as the issue and the README state them ---------------------------------

def sees(kind: str, location: str) -> bool:
    at_emirate = location != "agency"
    return kind in ("handler", "emirate_coordinator", "assignee", "own_leader",
                    "leadership") or (kind == "emirate_leader" and at_emirate)


def may(kind: str, action: str, location: str) -> bool:
    at_emirate = location != "agency"
    handler = kind == "handler" or (kind == "emirate_coordinator" and at_emirate)
    if action == "route":
        return handler or kind == "emirate_coordinator"
    if action in ("start",):
        return kind == "assignee"
    if action in ("request_info", "answer"):
        return handler or kind == "assignee"
    if action == "not_competent":
        return handler and not at_emirate
    if action == "comment":
        return sees(kind, location)
    return handler


C, S = "complaint", "suggestion"
# (case type, state) each action is tried in for the role dimension: one it is allowed in.
TRIED_IN = {
    "route": (C, "assigned"), "assign": (C, "assigned"), "start": (C, "assigned"),
    "request_info": (C, "in_progress"), "answer": (C, "in_progress"),
    "approve": (C, "answer_drafted"), "send_back": (C, "answer_drafted"),
    "not_competent": (C, "assigned"), "reject": (S, "under_study"),
    "accept": (S, "under_study"), "plan": (S, "accepted"), "implement": (S, "planned"),
    "close": (C, "in_progress"), "merge": (C, "in_progress"), "comment": (C, "in_progress"),
}

_C_OPEN = {"received", "assigned", "in_progress"}
_S_OPEN = {"received", "assigned", "under_study"}
# (action, family) -> the states it may be taken in; "answer" by each role apart.
STATE_OK = {
    ("route", C): _C_OPEN, ("route", S): _S_OPEN,
    ("assign", C): _C_OPEN, ("assign", S): _S_OPEN,
    ("start", C): {"assigned"}, ("start", S): {"assigned"},
    ("request_info", C): {"assigned", "in_progress"},
    ("request_info", S): {"assigned", "under_study"},
    ("draft", C): {"in_progress", "answer_drafted"},
    ("draft", S): {"under_study", "answer_drafted"},
    ("send", C): _C_OPEN | {"answer_drafted"}, ("send", S): set(),
    ("approve", C): {"answer_drafted"}, ("approve", S): set(),
    ("send_back", C): {"answer_drafted"}, ("send_back", S): {"answer_drafted"},
    ("not_competent", C): _C_OPEN, ("not_competent", S): _S_OPEN,
    ("reject", C): set(), ("reject", S): _S_OPEN | {"answer_drafted"},
    ("accept", C): set(), ("accept", S): _S_OPEN | {"answer_drafted"},
    ("plan", C): set(), ("plan", S): {"accepted"},
    ("implement", C): set(), ("implement", S): {"accepted", "planned"},
    ("close", C): _C_OPEN | {"awaiting_citizen", "answer_drafted", "answered"},
    ("close", S): _S_OPEN | {"awaiting_citizen", "answer_drafted", "accepted", "planned"},
    ("merge", C): _C_OPEN | {"awaiting_citizen", "answer_drafted"},
    ("merge", S): _S_OPEN | {"awaiting_citizen", "answer_drafted"},
    ("comment", C): set(states.COMPLAINT_STATES), ("comment", S): set(states.SUGGESTION_STATES),
    ("citizen_reply", C): {"awaiting_citizen"}, ("citizen_reply", S): {"awaiting_citizen"},
    ("withdraw", C): _C_OPEN | {"awaiting_citizen", "answer_drafted"},
    ("withdraw", S): _S_OPEN | {"awaiting_citizen", "answer_drafted"},
    ("reopen", C): {"answered"}, ("reopen", S): set(),
    ("rate", C): {"answered"}, ("rate", S): {"accepted", "planned", "implemented", "rejected"},
}


# --- trying --------------------------------------------------------------------------------

def body_for(world, action: str, tracking: str, case_type: str, location: str) -> dict:
    at = MUN if location == "agency" else EMIRATE
    return {
        "route": {"agency": HEALTH}, "assign": {"user": f"spec2_{at}"},
        "request_info": {"text": "متى حدث ذلك؟"}, "answer": {"text": "تم الإصلاح"},
        "send_back": {"reason": "أضف التاريخ"}, "not_competent": {"reason": "ليست لنا"},
        "reject": {"reason": "غير ممكن"}, "accept": {"text": "سننفذه"},
        "close": {"reason": "عولجت"}, "comment": {"text": "ملاحظة"},
        "merge": {"into": world.walk(case_type, "received", **_where(location))},
    }.get(action, {})


def _where(location: str) -> dict:
    if location == "agency":
        return {"agency": MUN}
    if location == "emirate":
        return {"agency": None}
    return {"agency": MUN, "about_own_staff": True}


def footprint(world, tracking: str) -> tuple[int, int, str]:
    view = world.voice.case(world.users["leadership"], tracking)
    with world.core.db.read() as session:
        queued = session.scalar(select(func.count()).select_from(Notification))
    return len(view.history), queued, view.state


def outcome(call) -> str:
    try:
        call()
    except NotFound:
        return "404"
    except NotAllowed:
        return "403"
    except WrongState:
        return "409"
    return "ok"


def try_as(world, actor, tracking: str, action: str, body: dict) -> str:
    before = footprint(world, tracking)
    result = outcome(lambda: world.act(actor, tracking, action, **body))
    if result != "ok":
        assert footprint(world, tracking) == before, f"a refused {action} changed the case"
    return result


ROLE_CASES = [(location, action) for location in LOCATIONS for action in TRIED_IN
              if not (location == "own_staff" and TRIED_IN[action][0] == S)]


@pytest.mark.parametrize(("location", "action"), ROLE_CASES,
                         ids=[f"{loc}-{act}" for loc, act in ROLE_CASES])
def test_who_may_do_what_by_role_and_agency(world, location, action):
    case_type, state = TRIED_IN[action]
    expected, found = {}, {}
    tracking = None
    for kind in KINDS:
        expected[kind] = ("404" if not sees(kind, location)
                          else "ok" if may(kind, action, location) else "403")
        if tracking is None:
            tracking = world.walk(case_type, state, **_where(location))
        body = body_for(world, action, tracking, case_type, location)
        found[kind] = try_as(world, user_of(world, kind, location), tracking, action, body)
        if found[kind] == "ok":
            tracking = None  # the next one needs a fresh case in the same state
    assert found == expected


def test_a_case_about_an_agencys_own_staff_is_invisible_to_it(world):
    tracking = world.walk(C, "received", agency=MUN, about_own_staff=True)
    for login in ("coord_MUN", "spec_MUN", "leader_MUN"):
        with pytest.raises(NotFound):
            world.voice.case(world.users[login], tracking)
        assert tracking not in [row.tracking for row in
                                world.voice.cases(world.users[login]).cases]
    view = world.voice.case(world.users["coord_EMIRATE"], tracking)
    assert (view.agency, view.about_agency, view.about_own_staff) == (EMIRATE, MUN, True)
    # Nor may the emirate route it to them; elsewhere it may.
    assert outcome(lambda: world.act(world.users["coord_EMIRATE"], tracking, "route",
                                     agency=MUN)) == "403"
    world.act(world.users["coord_EMIRATE"], tracking, "route", agency=HEALTH)
    assert world.handling(tracking) == HEALTH


# --- every action in every state, by one who may ---------------------------------------------

STAFF_RULES = ("route", "assign", "start", "request_info", "draft", "send", "approve",
               "send_back", "not_competent", "reject", "accept", "plan", "implement",
               "close", "merge", "comment")
STATE_CASES = [(case_type, rule) for case_type in (C, S, "enquiry") for rule in STAFF_RULES]


@pytest.mark.parametrize(("case_type", "rule"), STATE_CASES,
                         ids=[f"{t}-{r}" for t, r in STATE_CASES])
def test_which_state_allows_which_action(world, case_type, rule):
    family = S if case_type == S else C
    all_states = states.SUGGESTION_STATES if family == S else states.COMPLAINT_STATES
    by_specialist = rule in ("start", "draft")
    action = "answer" if rule in ("draft", "send") else rule
    expected, found = {}, {}
    for state in all_states:
        ok = state in STATE_OK[(rule, family)]
        expected[state] = ("404" if by_specialist and state == "received"
                           else "ok" if ok else "409")
        tracking = world.walk(case_type, state)
        actor = world.specialist(MUN) if by_specialist else world.coordinator(MUN)
        body = body_for(world, action, tracking, case_type, "agency")
        found[state] = try_as(world, actor, tracking, action, body)
    assert found == expected


STRANGER = CitizenProof(mobile="0569876543")
CITIZEN_CASES = [(case_type, action) for case_type in (C, S, "enquiry")
                 for action in ("citizen_reply", "withdraw", "reopen", "rate")]


@pytest.mark.parametrize(("case_type", "action"), CITIZEN_CASES,
                         ids=[f"{t}-{a}" for t, a in CITIZEN_CASES])
def test_the_citizens_own_acts_by_state(world, case_type, action):
    family = S if case_type == S else C
    all_states = states.SUGGESTION_STATES if family == S else states.COMPLAINT_STATES
    extra = {"text": "المدرسة الابتدائية"} if action == "citizen_reply" else \
        {"rating": 4} if action == "rate" else {}
    expected, found = {}, {}
    for state in all_states:
        expected[state] = "ok" if state in STATE_OK[(action, family)] else "409"
        tracking = world.walk(case_type, state)
        before = footprint(world, tracking)
        # Someone else's mobile: not found, whatever the state.
        assert outcome(lambda t=tracking: world.voice.citizen_act(
            t, action, STRANGER, now=world.tick(), **extra)) == "404"
        found[state] = outcome(lambda t=tracking: world.voice.citizen_act(
            t, action, PROOF, now=world.tick(), **extra))
        if found[state] != "ok":
            assert footprint(world, tracking) == before
    assert found == expected


def test_lists_and_single_reads_agree_on_who_sees_what(world):
    """``visible_to`` (lists, SQL) and ``may_see`` (one case) are the same rule."""
    cases = [world.walk(C, "assigned", **_where(location)) for location in LOCATIONS]
    cases.append(world.walk(S, "received", agency=HEALTH))
    for actor in world.users.values():
        listed = {row.tracking for row in world.voice.cases(actor).cases}
        readable = {tracking for tracking in cases
                    if outcome(lambda t=tracking, a=actor: world.voice.case(a, t)) == "ok"}
        assert listed == readable, actor.login
