"""A small world for Citizen's Voice: the emirate and two agencies, a user of each role
in each, cases walked to any state through the service (as staff and citizens do)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from core.access.actors import (
    ADMIN,
    AGENCY_LEADER,
    COORDINATOR,
    LEADERSHIP,
    SPECIALIST,
    Actor,
)
from core.access.models import StaffUser
from core.directory.models import Department
from core.transactions.models import Transaction
from core.voice.actions import CitizenProof
from core.voice.models import VoiceCase
from tests import factories as f

EMIRATE, MUN, HEALTH = "EMIRATE", "MUN", "HEALTH"
CITIZEN_MOBILE = "0551234567"
PROOF = CitizenProof(mobile=CITIZEN_MOBILE)
T0 = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)  # a Sunday, 09:00 in Riyadh


@dataclass
class World:
    core: Any
    agencies: dict[str, int]
    users: dict[str, Actor] = field(default_factory=dict)
    clock: datetime = T0

    @property
    def voice(self):
        return self.core.voice

    def tick(self) -> datetime:
        self.clock += timedelta(minutes=5)
        return self.clock

    def coordinator(self, agency: str) -> Actor:
        return self.users[f"coord_{agency}"]

    def specialist(self, agency: str) -> Actor:
        return self.users[f"spec_{agency}"]

    def file(self, case_type: str = "complaint", agency: str | None = MUN, **extra) -> str:
        body = {"type": case_type, "text": "الرصيف مكسور أمام المدرسة", "channel": "api",
                "lang": "ar", "citizen": {"mobile": CITIZEN_MOBILE, "name": "سارة"}}
        if agency and agency != EMIRATE:
            body["agency"] = agency
        body.update(extra)
        return self.voice.file_case(body, now=self.tick()).tracking

    def act(self, actor: Actor, tracking: str, action: str, **body):
        return self.voice.act(actor, tracking, {"action": action, **body}, now=self.tick())

    def handling(self, tracking: str) -> str:
        """The code of the agency now handling the case (read as leadership may)."""
        return self.voice.case(self.users["leadership"], tracking).agency

    def walk(self, case_type: str, state: str, agency: str | None = MUN, **extra) -> str:
        """A new case of ``case_type`` brought to ``state`` the usual way."""
        tracking = self.file(case_type, agency, **extra)
        at = self.handling(tracking)
        coordinator, specialist = self.coordinator(at), self.specialist(at)
        suggestion = case_type == "suggestion"
        path = {
            "received": [],
            "assigned": ["assign"],
            "in_progress": ["assign", "start"],
            "under_study": ["assign", "start"],
            "awaiting_citizen": ["assign", "start", "request_info"],
            "answer_drafted": ["assign", "start", "draft"],
            "answered": ["assign", "start", "draft", "approve"],
            "closed": ["assign", "start", "close"],
            "duplicate": ["assign", "start", "merge"],
            "withdrawn": ["assign", "start", "withdraw"],
            "accepted": ["assign", "start", "accept"],
            "planned": ["assign", "start", "accept", "plan"],
            "implemented": ["assign", "start", "accept", "plan", "implement"],
            "rejected": ["assign", "start", "reject"],
        }[state]
        for step in path:
            match step:
                case "assign":
                    self.act(coordinator, tracking, "assign", user=specialist.login)
                case "start":
                    self.act(specialist, tracking, "start")
                case "request_info":
                    self.act(specialist, tracking, "request_info", text="أي مدرسة؟")
                case "draft":
                    self.act(specialist, tracking, "answer", text="سيصلح خلال أسبوع")
                case "merge":
                    other = self.file(case_type, agency, **extra)
                    self.act(coordinator, tracking, "merge", into=other)
                case "withdraw":
                    self.voice.citizen_act(tracking, "withdraw", PROOF, now=self.tick())
                case "close" | "reject":
                    self.act(coordinator, tracking, step, reason="مكرر")
                case _:
                    self.act(coordinator, tracking, step)
        view = self.voice.case(self.users["leadership"], tracking)
        assert view.state == state, (case_type, state, view.state)
        assert suggestion or state not in ("under_study", "accepted")
        return tracking


def add_user(core, login: str, role: str, agency_id: int | None,
             mobile: str | None = None) -> Actor:
    login = login.lower()  # as core.access.users stores logins
    with core.db.write.begin() as session:
        user = StaffUser(login=login, name=login, role=role, agency_id=agency_id,
                         mobile=mobile, password_hash="-")
        session.add(user)
        session.flush()
        return Actor(user.id, login, login, role, agency_id)


@pytest.fixture
def world(core) -> World:
    return build_world(core)


def build_world(core) -> World:
    """The emirate, MUN and HEALTH, and in each a coordinator, two specialists and a
    leader; leadership and an admin."""
    for code in (EMIRATE, MUN, HEALTH):
        core.upsert_agency(code, f.agency(name_en=code))
    from core.voice.categories import agency_by_code

    with core.db.read() as session:
        ids = {code: agency_by_code(session, code).id for code in (EMIRATE, MUN, HEALTH)}
    world = World(core, ids)
    for code, agency_id in ids.items():
        world.users[f"coord_{code}"] = add_user(core, f"coord_{code}", COORDINATOR, agency_id)
        world.users[f"spec_{code}"] = add_user(core, f"spec_{code}", SPECIALIST, agency_id,
                                               mobile="+966543334455")
        world.users[f"spec2_{code}"] = add_user(core, f"spec2_{code}", SPECIALIST, agency_id)
        world.users[f"leader_{code}"] = add_user(core, f"leader_{code}", AGENCY_LEADER,
                                                 agency_id)
    world.users["leadership"] = add_user(core, "leadership", LEADERSHIP, None)
    world.users["admin"] = add_user(core, "admin", ADMIN, None)
    return world


def cases(core) -> list[VoiceCase]:
    """Every case, oldest first (what a channel filed)."""
    with core.db.read() as session:
        return list(session.scalars(select(VoiceCase).order_by(VoiceCase.id)))


def count(core, model, *where) -> int:
    """Rows of ``model`` (matching ``where``)."""
    with core.db.read() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


# --- a transaction held by a department (questions about a transaction) ---------------


def hold_transaction(core, number: str, **registered) -> None:
    """``number`` registered (``registered``: more of the event's fields) and referred to
    the RIGHTS department, which this adds."""
    core.upsert_department("RIGHTS", f.department())
    core.record_event(f.registered(number, "2026-11-20T09:15:00+03:00", **registered))
    core.record_event(f.event("referred", number, "2026-11-20T10:00:00+03:00",
                              department="RIGHTS"))


def rights_id(core) -> int:
    with core.db.read() as session:
        return session.scalars(select(Department.id).where(Department.code == "RIGHTS")).one()


def transaction_id(core, number: str) -> int:
    with core.db.read() as session:
        return session.scalars(select(Transaction.id).where(Transaction.number == number)).one()


def rights_coordinator(world: World) -> Actor:
    """A coordinator of the emirate who works for RIGHTS (the department's inbox)."""
    core = world.core
    actor = add_user(core, "coord_rights", COORDINATOR, world.agencies[EMIRATE])
    with core.db.write.begin() as session:
        session.get(StaffUser, actor.user_id).department_id = rights_id(core)
    return Actor(actor.user_id, actor.login, actor.name, actor.role, actor.agency_id,
                 department_id=rights_id(core))
