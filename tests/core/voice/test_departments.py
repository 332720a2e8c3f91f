"""Department staff: the emirate's cases one of its departments holds (enquiries about
its transactions) are that department's to work, and no one else's below the emirate's
coordinators and leadership. The expected tables are written here, apart from
``core.voice.permissions``; each is checked against the service (the case page, the
inbox, the actions), which applies it."""

from __future__ import annotations

from itertools import count

import pytest
from sqlalchemy import select

from core.access.actors import AGENCY_LEADER, COORDINATOR, SPECIALIST, Actor
from core.access.models import StaffUser
from core.directory.models import Department
from core.platform.errors import InvalidRequest, NotAllowed, NotFound
from core.voice import queues
from core.voice.models import VoiceCase
from tests import factories as f
from tests.core.voice.conftest import EMIRATE, MUN

# Who: a department's coordinator, specialist and leader, another department's
# coordinator, the emirate's coordinator and leader (no department), MUN's coordinator,
# leadership.
KINDS = ("dept_coordinator", "dept_specialist", "dept_leader", "other_dept_coordinator",
         "emirate_coordinator", "emirate_leader", "mun_coordinator", "leadership")
# Where: held by RIGHTS, at the emirate with no department, at MUN.
LOCATIONS = ("department", "emirate", "agency")


def sees(kind: str, location: str) -> bool:
    if kind in ("emirate_coordinator", "leadership"):
        return True
    if kind == "emirate_leader":
        return location != "agency"
    if kind in ("dept_coordinator", "dept_leader"):
        return location == "department"
    if kind == "dept_specialist":
        return location == "department"  # the case is assigned to them there
    if kind == "mun_coordinator":
        return location == "agency"
    return False  # another department's coordinator


def may(kind: str, action: str, location: str) -> bool:
    handler = (kind == "dept_coordinator" and location == "department") \
        or (kind == "emirate_coordinator" and location != "agency") \
        or (kind == "mun_coordinator" and location == "agency")
    if action == "route":
        return handler or kind == "emirate_coordinator"
    if action == "refer":
        return (kind == "dept_coordinator" and location == "department") \
            or kind == "emirate_coordinator"
    if action == "answer":
        return handler or (kind == "dept_specialist" and location == "department")
    return handler


_mobiles = count(11)


def add_user(core, login: str, role: str, agency_id: int | None,
             department_id: int | None = None) -> Actor:
    with core.db.write.begin() as session:
        user = StaffUser(login=login, name=login, role=role, agency_id=agency_id,
                         department_id=department_id, mobile=f"+9665000000{next(_mobiles)}",
                         password_hash="-")
        session.add(user)
        session.flush()
        return Actor(user.id, login, login, role, agency_id, department_id)


@pytest.fixture
def depts(world):
    core = world.core
    core.upsert_department("RIGHTS", f.department())
    core.upsert_department("DEEDS", f.department(name_ar="إدارة الصكوك",
                                                 name_en="Deeds Department"))
    with core.db.read() as session:
        ids = {code: ident for code, ident in session.execute(
            select(Department.code, Department.id))}
    emirate = world.agencies[EMIRATE]
    users = {
        "dept_coordinator": add_user(core, "coord_rights", COORDINATOR, emirate,
                                     ids["RIGHTS"]),
        "dept_specialist": add_user(core, "spec_rights", SPECIALIST, emirate, ids["RIGHTS"]),
        "dept_specialist2": add_user(core, "spec2_rights", SPECIALIST, emirate,
                                     ids["RIGHTS"]),
        "dept_leader": add_user(core, "leader_rights", AGENCY_LEADER, emirate,
                                ids["RIGHTS"]),
        "other_dept_coordinator": add_user(core, "coord_deeds", COORDINATOR, emirate,
                                           ids["DEEDS"]),
        "other_dept_specialist": add_user(core, "spec_deeds", SPECIALIST, emirate,
                                          ids["DEEDS"]),
    }
    world.users.update(users)
    world.users["emirate_coordinator"] = world.coordinator(EMIRATE)
    world.users["emirate_leader"] = world.users[f"leader_{EMIRATE}"]
    world.users["mun_coordinator"] = world.coordinator(MUN)
    world.departments = ids
    core.record_event(f.registered("4471234", "2026-11-20T09:15:00+03:00"))
    core.record_event(f.event("referred", "4471234", "2026-11-20T10:00:00+03:00",
                              department="RIGHTS"))
    return world


def enquiry(world, location: str) -> str:
    """A received case at ``location``."""
    if location == "department":
        return world.voice.file_case({
            "transaction": "4471234", "text": "متى تصدر الإفادة؟", "channel": "api",
            "citizen": {"mobile": f.MOBILE}}, now=world.tick()).tracking
    return world.file("enquiry", MUN if location == "agency" else None)


def assigned(world, location: str, *, start: bool = False) -> str:
    """A case at ``location`` assigned (to RIGHTS' specialist when RIGHTS holds it), and
    taken up by them (``start``)."""
    tracking = enquiry(world, location)
    if location == "department":
        specialist = world.users["dept_specialist"]
        world.act(world.users["dept_coordinator"], tracking, "assign", user="spec_rights")
    else:
        at = MUN if location == "agency" else EMIRATE
        specialist = world.specialist(at)
        world.act(world.coordinator(at), tracking, "assign", user=f"spec_{at}")
    if start:
        world.act(specialist, tracking, "start")
    return tracking


def department_of(world, tracking: str) -> int | None:
    with world.core.db.read() as session:
        return session.scalar(select(VoiceCase.department_id)
                              .where(VoiceCase.tracking == tracking))


@pytest.mark.parametrize("location", LOCATIONS)
def test_who_sees_a_case_and_finds_it_in_their_lists(depts, location):
    tracking = assigned(depts, location)
    for kind in KINDS:
        actor = depts.users[kind]
        try:
            depts.voice.case(actor, tracking)
            seen = True
        except NotFound:
            seen = False
        assert seen == sees(kind, location), (kind, location)
        listed = {row.tracking for row in depts.voice.cases(actor).cases}
        assert (tracking in listed) == sees(kind, location), (kind, location, "list")
        if actor.role == COORDINATOR:
            with depts.core.db.read() as session:
                page = queues.inbox(session, actor, queues.OPEN,
                                    emirate_id=depts.agencies[EMIRATE], now=depts.clock)
            in_inbox = tracking in {row.tracking for row in page.rows}
            # An inbox is the user's own agency's (and department's) cases.
            expected = sees(kind, location) and (location != "agency"
                                                 or kind == "mun_coordinator")
            assert in_inbox == expected, (kind, location, "inbox")


ACTION_BODIES = {"route": {"agency": "HEALTH"}, "refer": {"department": "DEEDS"},
                 "answer": {"text": "تصدر خلال يومين"}, "close": {"reason": "عولجت"},
                 "comment": {"text": "ملاحظة"}}


@pytest.mark.parametrize("action", ["route", "refer", "answer", "close", "comment"])
@pytest.mark.parametrize("location", LOCATIONS)
def test_who_may_act_on_a_case(depts, location, action):
    for kind in KINDS:  # each on a fresh case: a success changes it
        tracking = assigned(depts, location, start=action == "answer")
        expected = may(kind, action, location) if action != "comment" \
            else sees(kind, location)
        try:
            depts.act(depts.users[kind], tracking, action, **ACTION_BODIES[action])
        except NotFound:
            assert not sees(kind, location) and not expected, (kind, location, action)
            continue
        except NotAllowed:
            assert sees(kind, location) and not expected, (kind, location, action)
            continue
        except InvalidRequest as refused:
            # The emirate's coordinator may refer, but only a case at the emirate.
            assert (kind, action, location) == ("emirate_coordinator", "refer", "agency"), \
                refused
            assert refused.code == "not_at_emirate"
            continue
        assert expected, (kind, location, action)


def test_the_department_works_its_enquiry_to_the_answer(depts):
    coordinator, specialist = depts.users["dept_coordinator"], depts.users["dept_specialist"]
    tracking = enquiry(depts, "department")
    with pytest.raises(InvalidRequest, match="no active specialist"):
        depts.act(coordinator, tracking, "assign", user="spec_deeds")
    desk = depts.voice.case_desk(coordinator, tracking)
    assert {o.code for o in desk.specialists} == {"spec_rights", "spec2_rights",
                                                  f"spec_{EMIRATE}".lower(),
                                                  f"spec2_{EMIRATE}".lower()}
    assert "refer" in desk.actions and "RIGHTS" not in {o.code for o in desk.refer_to}
    depts.act(coordinator, tracking, "assign", user="spec_rights")
    depts.act(specialist, tracking, "start")
    depts.act(specialist, tracking, "answer", text="تصدر الإفادة يوم الأحد")
    depts.act(coordinator, tracking, "approve")
    assert depts.voice.case(coordinator, tracking).state == "answered"


def test_refer_moves_a_case_between_the_emirate_and_its_departments(depts):
    emirate, rights = depts.users["emirate_coordinator"], depts.users["dept_coordinator"]
    deeds = depts.users["other_dept_coordinator"]
    tracking = depts.file("enquiry", None)
    with pytest.raises(NotFound):
        depts.voice.case(rights, tracking)
    depts.act(emirate, tracking, "refer", department="RIGHTS")
    assert department_of(depts, tracking) == depts.departments["RIGHTS"]
    depts.voice.case(rights, tracking)  # now theirs
    with pytest.raises(InvalidRequest, match="already there"):
        depts.act(rights, tracking, "refer", department="RIGHTS")
    with pytest.raises(InvalidRequest, match="not known"):
        depts.act(rights, tracking, "refer", department="NOPE")
    with pytest.raises(InvalidRequest, match="department is required"):
        depts.act(rights, tracking, "refer")
    depts.act(rights, tracking, "refer", department="DEEDS")
    with pytest.raises(NotFound):
        depts.voice.case(rights, tracking)
    depts.act(deeds, tracking, "refer", department="-")  # the emirate's general inbox
    assert department_of(depts, tracking) is None
    with pytest.raises(NotFound):
        depts.voice.case(deeds, tracking)
    history = [e.action for e in depts.voice.case(emirate, tracking).history]
    assert history.count("refer") == 3


def test_routing_a_department_s_case_away_leaves_the_department(depts):
    rights = depts.users["dept_coordinator"]
    tracking = enquiry(depts, "department")
    depts.act(rights, tracking, "route", agency=MUN)
    assert department_of(depts, tracking) is None
    with pytest.raises(NotFound):
        depts.voice.case(rights, tracking)
    depts.voice.case(depts.coordinator(MUN), tracking)


def test_the_unrouted_tab_leaves_the_departments_cases_to_them(depts):
    tracking = enquiry(depts, "department")
    emirate = depts.users["emirate_coordinator"]
    with depts.core.db.read() as session:
        def tab(actor, name):
            page = queues.inbox(session, actor, name, emirate_id=depts.agencies[EMIRATE],
                                now=depts.clock)
            return {row.tracking for row in page.rows}
        assert tracking not in tab(emirate, queues.UNROUTED)
        assert tracking in tab(emirate, queues.NEW)
        assert tracking in tab(depts.users["dept_coordinator"], queues.NEW)
        assert queues.UNROUTED not in queues.inbox_tabs(depts.users["dept_coordinator"],
                                                        depts.agencies[EMIRATE])


def test_a_department_s_late_case_alarms_its_coordinator_leader_and_manager(depts):
    from core.voice import alarms, deadlines
    from tests.core.voice.test_alarms import alarm_time, to

    core = depts.core
    tracking = assigned(depts, "department")
    with core.db.read() as session:
        case_id = session.scalar(select(VoiceCase.id).where(VoiceCase.tracking == tracking))
    mobile = {kind: _mobile_of(core, depts.users[kind].login)
              for kind in ("dept_coordinator", "dept_leader", "other_dept_coordinator")}
    alarms.scan(core.db, core.config, now=alarm_time(core, case_id, deadlines.WARNING))
    [warning] = to(core, mobile["dept_coordinator"])
    assert warning.kind == "voice_warning" and tracking in warning.body
    assert to(core, mobile["other_dept_coordinator"]) == []

    alarms.scan(core.db, core.config, now=alarm_time(core, case_id, deadlines.BREACH))
    [breach] = [m for m in to(core, mobile["dept_leader"]) if m.kind == "voice_breach"]
    assert tracking in breach.body
    # The department's manager (the directory's mobile), as for overdue transactions.
    [manager] = to(core, "+966501112233")
    assert manager.kind == "voice_breach" and manager.body == breach.body


def _mobile_of(core, login: str) -> str:
    with core.db.read() as session:
        return session.scalar(select(StaffUser.mobile).where(StaffUser.login == login))
