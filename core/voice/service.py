"""Citizen's Voice as the gateway and the channels call it: each call one database
transaction, the case's change, its event and its notifications together.

``now`` may be given to every call that changes a case: the demo loader files and works
cases at past times so that the back office shows cases of every age.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.access import audit
from core.access.actors import Actor
from core.directory.models import Agency
from core.platform.clock import utcnow
from core.platform.db import Database
from core.platform.errors import InvalidRequest, NotFound
from core.platform.settings import CoreSettings
from core.voice import actions, cases, categories, permissions, states, views
from core.voice.actions import CitizenProof
from core.voice.models import VoiceCase


@dataclass(frozen=True)
class Filed:
    """What the one who filed a case is told (and what a citizen may know of it)."""

    tracking: str
    type: str
    state: str
    agency: str
    acknowledge_due: datetime | None
    answer_due: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {"tracking": self.tracking, "type": self.type, "state": self.state,
                "agency": self.agency,
                "acknowledge_due": _iso(self.acknowledge_due),
                "answer_due": _iso(self.answer_due)}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class VoiceService:
    def __init__(self, db: Database, config: CoreSettings, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._config = config
        self._clock = clock

    def file_case(self, data: Any, *, actor: Actor | None = None,
                  now: datetime | None = None) -> Filed:
        """File a case (the API's body: CONTRACT.md ``POST /api/v1/cases``); the citizen's
        acknowledgement is queued with it. ``actor``: the member of staff filing it."""
        for attempt in range(3):
            try:
                with self._db.write.begin() as session:
                    case = cases.file_case(session, self._config, data, now or self._clock(),
                                           actor)
                    return self._filed(session, case)
            except IntegrityError:
                # Two filings drew the same tracking number at once (or the emirate's
                # agency was made twice): the next pass draws again and finds it.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def act(self, actor: Actor, tracking: str, data: Any, *,
            now: datetime | None = None) -> views.CaseView:
        """One staff action (``{"action": ..., ...}``); the case as the actor sees it after."""
        with self._db.write.begin() as session:
            case = actions.staff_action(session, self._config, actor, tracking, data,
                                        now or self._clock())
            return self._view(session, actor, case)

    def citizen_act(self, tracking: str, action: str, proof: CitizenProof, *,
                    text: str | None = None, rating: int | None = None,
                    now: datetime | None = None) -> Filed:
        """The citizen's own act (``citizen_reply``, ``withdraw``, ``reopen``, ``rate``),
        proved by their mobile, address or national ID (the channels call this)."""
        with self._db.write.begin() as session:
            case = actions.citizen_action(session, self._config, tracking, action, proof,
                                          now or self._clock(), text=text, rating=rating)
            return self._filed(session, case)

    def status(self, tracking: str, proof: CitizenProof) -> Filed:
        """Where a citizen's case stands (not found when it is not theirs)."""
        with self._db.read() as session:
            case = cases.find(session, tracking)
            if not actions.proves(proof, case, self._config):
                raise NotFound("no such case", code="unknown_case", field="tracking")
            return self._filed(session, case)

    def case(self, actor: Actor, tracking: str) -> views.CaseView:
        """The case as ``actor`` may see it; the read is audited. Not found when it is not
        theirs to see."""
        with self._db.write.begin() as session:
            case = cases.find(session, tracking)
            facts = permissions.CaseFacts.of(case, cases.emirate_id(session, self._config))
            if not permissions.may_see(actor, facts):
                raise NotFound("no such case", code="unknown_case", field="tracking")
            audit.record(session, actor, "read", "voice_case", case.tracking)
            return self._view(session, actor, case)

    def cases(self, actor: Actor, *, state: str | None = None,
              page: int = 1) -> views.CasePage:
        """The cases ``actor`` may see, newest first; the read is audited."""
        if state is not None and state not in states.STATES:
            raise InvalidRequest(f"state: one of {', '.join(states.STATES)}",
                                 code="invalid_field", field="state")
        if page < 1 or page > 100_000:
            raise InvalidRequest("page: 1 or more", code="invalid_field", field="page")
        with self._db.write.begin() as session:
            result = views.case_page(session, actor, cases.emirate_id(session, self._config),
                                     state=state, page=page)
            audit.record(session, actor, "read", "voice_cases",
                         detail=f"state={state or ''} page={page}")
            return result

    def upsert_category(self, code: str, data: Any, *,
                        actor: Actor | None = None) -> categories.CategoryUpserted:
        """``PUT /api/v1/voice/categories/<code>``: by the records system (``actor``
        None) or an admin."""
        with self._db.write.begin() as session:
            result = categories.upsert_category(session, code, data, self._clock())
            audit.record(session, actor, "create" if result.created else "update",
                         "voice_category", code, role=None if actor else "records")
            return result

    def set_agency_policy(self, agency: str, data: Any, *,
                          actor: Actor | None = None) -> categories.PolicyView:
        """An agency's default targets (``PUT /api/v1/voice/policies/<agency>``)."""
        with self._db.write.begin() as session:
            view = categories.set_agency_policy(session, agency, data, self._clock())
            audit.record(session, actor, "update", "voice_policy", agency,
                         f"{view.case_type or 'all'}: {view.acknowledge}/{view.answer}",
                         role=None if actor else "records")
            return view

    def agency_policies(self, agency: str) -> list[categories.PolicyView]:
        with self._db.read() as session:
            return categories.agency_policies(session, agency)

    def _view(self, session: Session, actor: Actor, case: VoiceCase) -> views.CaseView:
        facts = permissions.CaseFacts.of(case, cases.emirate_id(session, self._config))
        relation = permissions.relations(actor, facts)
        if not relation & permissions.SEES:
            # An action can take the case out of the actor's sight (routed elsewhere):
            # they are told only what they filed could tell them.
            return views.case_view(session, case, redact=True, handles=False)
        return views.case_view(session, case, redact=permissions.redacted(actor, facts),
                               handles=bool(relation & permissions.SEES_CONTACT))

    def _filed(self, session: Session, case: VoiceCase) -> Filed:
        agency = session.get(Agency, case.agency_id)
        return Filed(case.tracking, case.case_type, case.state, agency.code if agency else "",
                     case.acknowledge_due, case.answer_due)
