"""Citizen's Voice as the gateway and the channels call it: each call one database
transaction, the case's change, its event and its notifications together.

``now`` may be given to every call that changes a case: the demo loader files and works
cases at past times so that the back office shows cases of every age.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.access import audit
from core.access.actors import Actor
from core.calendar import holidays as days_off
from core.calendar import overrides as hour_overrides
from core.calendar import versions as calendar_versions
from core.directory.models import Agency
from core.messaging import mail
from core.messaging.codes import OneTimeCodes
from core.platform.clock import utcnow
from core.platform.db import Database
from core.platform.errors import Conflict, InvalidRequest, NotFound
from core.platform.settings import CoreSettings
from core.transactions import ownership
from core.voice import (
    actions,
    cases,
    categories,
    citizen_cases,
    deadlines,
    desk,
    notices,
    permissions,
    queues,
    similar,
    states,
    views,
)
from core.voice import attachments as attachments_
from core.voice import recordings as recordings_
from core.voice import transaction_desk as transaction_desk_
from core.voice.actions import CitizenProof
from core.voice.citizen_access import CitizenAccess
from core.voice.drafts import Drafts
from core.voice.filed import Filed
from core.voice.limits import Filer, FilingLimits
from core.voice.lookups import LookupLimits
from core.voice.models import CaseEvent, VoiceCase
from core.voice.open311 import Open311


@dataclass(frozen=True)
class Handled:
    """What one channel message did before: filed ``case`` (``action`` "file"), or was
    the citizen's act on it ("citizen_reply", "rate", "reopen", "withdraw")."""

    action: str
    case: Filed


@dataclass(frozen=True)
class Inbox:
    """A coordinator's inbox: every tab's bounded count and one page of the chosen tab."""

    tab: str
    counts: dict[str, queues.Count]
    page: queues.Page


@dataclass(frozen=True)
class Queue:
    """A specialist's queue: its bounded count and one page."""

    count: queues.Count
    page: queues.Page


@dataclass(frozen=True)
class CaseList:
    """The agency leader's or leadership's list: one page and what its filters offer."""

    page: queues.Page
    categories: list[desk.Option]
    agencies: list[desk.Option]  # leadership's agency filter (empty for a leader)


@dataclass(frozen=True)
class CalendarState:
    """The admin's calendar page: the holidays, the overrides, the latest versions."""

    holidays: list[days_off.HolidayView]
    overrides: list[hour_overrides.OverrideView]
    versions: list[calendar_versions.VersionView]


def _same_filing(earlier: VoiceCase, data: Any) -> None:
    """A source key replayed with another text is a client's mistake (an Idempotency-Key
    reused for a second complaint), not a retry: refused (409), so that the second
    complaint is not silently taken for the first."""
    text = data.get("text") if isinstance(data, dict) else None
    if isinstance(text, str) and text != earlier.text:
        raise Conflict("this key filed another case already; use a new key for a new "
                       "case", code="idempotency_key_reused")


class VoiceService:
    def __init__(self, db: Database, config: CoreSettings, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._config = config
        self._clock = clock
        self._database_trigrams: bool | None = None

    def file_case(self, data: Any, *, actor: Actor | None = None,
                  now: datetime | None = None, source_key: str | None = None,
                  self_service: bool = False, origin: str | None = None,
                  attachments: Sequence[attachments_.NewAttachment] = (),
                  email_thread: str | None = None, acknowledge: bool = True,
                  national_id_hash: str | None = None) -> Filed:
        """File a case (the API's body: CONTRACT.md ``POST /api/v1/cases``); the citizen's
        acknowledgement is queued with it. ``actor``: the member of staff filing it.

        ``source_key``: the channel message it is filed from: filed once, a second call
        answers with the first's case (``Filed.replayed``). ``self_service``: the citizen
        files it themselves (portal, SMS, mail, phone, kiosk), so the filing limits apply
        (``core.voice.limits``; ``TooMany`` when over, nothing filed): the citizen's
        mobile and address are counted, and ``origin`` (where they came from: an
        address, a caller, a mail domain; None for a kiosk, which serves everyone).
        ``attachments``: photos or a recording given with it, checked already by the
        channel (``core.voice.attachments``). ``email_thread``: filed from a mail, the
        References of a reply to it; every notice to the citizen goes in that thread.
        ``acknowledge`` False: the channel answers the citizen's message with the
        tracking number itself (``cases.file_case``). ``national_id_hash``: see
        ``cases.file_case``."""
        if source_key is not None:
            with self._db.read() as session:
                earlier = cases.filed_from(session, source_key)
                if earlier is not None:
                    _same_filing(earlier, data)
                    return self._filed(session, earlier, replayed=True)
        filer = self._filer(data, origin) if self_service else None
        if filer is not None:
            self.limits.check(filer)
        for attempt in range(3):
            try:
                with self._db.write.begin() as session:
                    earlier = cases.filed_from(session, source_key) if source_key else None
                    if earlier is not None:  # filed by another process meanwhile
                        _same_filing(earlier, data)
                        filed = self._filed(session, earlier, replayed=True)
                        break
                    case = cases.file_case(session, self._config, data, now or self._clock(),
                                           actor, source_key=source_key,
                                           email_thread=email_thread,
                                           acknowledge=acknowledge,
                                           national_id_hash=national_id_hash)
                    for attachment in attachments:
                        attachments_.add(session, case, attachment)
                    filed = self._filed(session, case)
                break
            except IntegrityError:
                # Two filings drew the same tracking number at once, the emirate's agency
                # was made twice, or the same message was filed by two processes: the
                # next pass draws again, or finds the other's case.
                if attempt == 2:
                    raise
        if filer is not None and not filed.replayed:
            self.limits.filed(filer)
        return filed

    @cached_property
    def limits(self) -> FilingLimits:
        return FilingLimits.of(self._db, self._config)

    @cached_property
    def recordings(self) -> recordings_.Recordings:
        """Voice messages waiting at the telephony provider, for the scheduler's fetch."""
        return recordings_.Recordings(self._db)

    @cached_property
    def codes(self) -> OneTimeCodes:
        """One-time SMS codes proving a citizen's mobile (``core.messaging.codes``)."""
        return OneTimeCodes(self._db, self._config, clock=self._clock)

    @cached_property
    def drafts(self) -> Drafts:
        """Cases filled in on the portal, filed once their mobile is proven by a code."""
        return Drafts(self._db, self._config, self.codes, self)

    @cached_property
    def citizens(self) -> CitizenAccess:
        """A case read by its tracking number and mobile, acted on after a code."""
        return CitizenAccess(self.codes, self)

    @cached_property
    def open311(self) -> Open311:
        """The Open311 GeoReport v2 endpoint's reads and filing (``core.voice.open311``)."""
        return Open311(self._db, self._config, self._clock, self.file_case)

    @staticmethod
    def _filer(data: Any, origin: str | None) -> Filer | None:
        citizen = data.get("citizen") if isinstance(data, dict) else None
        if not isinstance(citizen, dict):
            return None  # the body's validation says what is wrong
        mobile, email = citizen.get("mobile"), citizen.get("email")
        return Filer(mobile if isinstance(mobile, str) else None,
                     email if isinstance(email, str) else None, origin)

    def act(self, actor: Actor, tracking: str, data: Any, *,
            now: datetime | None = None) -> views.CaseView:
        """One staff action (``{"action": ..., ...}``); the case as the actor sees it after."""
        with self._db.write.begin() as session:
            case = actions.staff_action(session, self._config, actor, tracking, data,
                                        now or self._clock())
            return self._view(session, actor, case)

    def citizen_act(self, tracking: str, action: str, proof: CitizenProof, *,
                    text: str | None = None, rating: int | None = None,
                    now: datetime | None = None, source_key: str | None = None,
                    place: str | None = None) -> Filed:
        """The citizen's own act (``citizen_reply``, ``withdraw``, ``reopen``, ``rate``),
        proved by their mobile, address or national ID (the channels call this).
        ``source_key``: the channel message it came from, acted on once. ``place``: the
        shared terminal it is typed at (a kiosk): its failed proofs are limited
        (``core.voice.lookups``; ``TooMany`` when over)."""
        with self._limited(tracking, place), self._db.write.begin() as session:
            case = actions.citizen_action(session, self._config, tracking, action,
                                          proof, now or self._clock(), text=text,
                                          rating=rating, source_key=source_key)
            return self._filed(session, case)

    def handled(self, source_keys: Sequence[str]) -> Handled | None:
        """What a channel message did, if anything, by its keys (one message may have
        more than one: an SMS redelivered across the adapter's window has two). A channel
        answers a message it sees again (redelivered, or answered again after a crash) as
        it did the first time, without doing it twice. Given a thread's keys (the mails a
        reply names), the newest: the case the citizen writes on about."""
        with self._db.read() as session:
            found = citizen_cases.acted_from(session, source_keys)
            if found is None:
                return None
            case, action = found
            return Handled(action, self._filed(session, case))

    @cached_property
    def lookups(self) -> LookupLimits:
        """The one limit on failed lookups of a case by tracking number and mobile, per
        place and per number, for every channel where they are typed."""
        return LookupLimits.of(self._db, self._config)

    @contextmanager
    def _limited(self, tracking: str, place: str | None) -> Iterator[None]:
        """Around a citizen's lookup at ``place``: refused when the place or the number
        has failed too often, and a "not found" counted."""
        if place is None:
            yield
            return
        self.lookups.check(tracking, place)
        try:
            yield
        except NotFound:
            self.lookups.failed(tracking, place)
            raise

    def awaiting_citizen(self, proof: CitizenProof) -> Filed | None:
        """The citizen's newest case that waits for them (asked for more information),
        found by the mobile or address of ``proof``: where a channel adds their next
        message (``citizen_act(..., "citizen_reply")``)."""
        with self._db.read() as session:
            case = citizen_cases.newest(session, proof, states.PAUSED)
            return self._filed(session, case) if case is not None else None

    def awaiting_rating(self, proof: CitizenProof) -> Filed | None:
        """The citizen's newest answered case they may still rate (not yet rated, however
        long ago) or reopen (within ``voice.reopen_days`` of the answer), by the mobile or
        address of ``proof``: what a bare "1"-"5" or "0" from them is about."""
        with self._db.read() as session:
            case = citizen_cases.newest_answered(session, self._config, proof,
                                                 self._clock())
            return self._filed(session, case) if case is not None else None

    def case_of_mail(self, message_ids: Sequence[str]) -> str | None:
        """The tracking number of the case a mail answers: the newest of our notices
        about a case among the ids of its In-Reply-To and References, or None. Only a
        lead: whether the case is the sender's is for ``citizen_act``/``citizen_view``
        to check with the sender's address."""
        with self._db.read() as session:
            events = [event for event in map(notices.case_event_of,
                                             mail.sent_as(session, list(message_ids)))
                      if event is not None]
            if not events:
                return None
            return session.scalar(select(VoiceCase.tracking).join(
                CaseEvent, CaseEvent.case_id == VoiceCase.id)
                .where(CaseEvent.id == max(events)))

    def citizen_view(self, tracking: str, proof: CitizenProof, *,
                     place: str | None = None) -> citizen_cases.CitizenView:
        """The case as its citizen sees it (tracking page, SMS, kiosk, phone): the state,
        the history in plain words, the answer, what they may do now. Not found when it
        is not theirs. ``place``: as for ``citizen_act``."""
        with self._limited(tracking, place), self._db.read() as session:
            case = cases.find(session, tracking)
            if not actions.proves(proof, case, self._config):
                raise NotFound("no such case", code="unknown_case", field="tracking")
            return citizen_cases.view(session, self._config, case, self._clock())

    def cases_of(self, *, national_id_hash: str | None, mobile: str | None,
                 limit: int) -> list[citizen_cases.CaseLine]:
        """The citizen's cases, newest first: filed under the keyed hash of their national
        ID, or reached at a mobile the caller verified ("my transactions")."""
        with self._db.read() as session:
            return citizen_cases.listed(session, national_id_hash=national_id_hash,
                                        mobile=mobile, limit=limit)

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

    def attachments(self, actor: Actor, tracking: str) -> list[attachments_.AttachmentView]:
        """The photos and recordings of a case ``actor`` may see (not found otherwise)."""
        with self._db.read() as session:
            case = self._seen(session, actor, tracking)
            return attachments_.listed(session, case.id)

    def attachment(self, actor: Actor, tracking: str, attachment_id: int
                   ) -> tuple[str, bytes]:
        """One attachment's type and bytes, for staff who may see the case; the read is
        audited. Not found for anyone else, and for an id of another case."""
        with self._db.write.begin() as session:
            case = self._seen(session, actor, tracking)
            found = attachments_.content(session, case.id, attachment_id)
            if found is None:
                raise NotFound("no such attachment", code="unknown_attachment")
            audit.record(session, actor, "read", "voice_attachment", case.tracking,
                         str(attachment_id))
            return found

    def _seen(self, session: Session, actor: Actor, tracking: str) -> VoiceCase:
        case = cases.find(session, tracking)
        facts = permissions.CaseFacts.of(case, cases.emirate_id(session, self._config))
        if not permissions.may_see(actor, facts):
            raise NotFound("no such case", code="unknown_case", field="tracking")
        return case

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

    # --- the staff web app's pages ------------------------------------------------------

    def case_desk(self, actor: Actor, tracking: str) -> desk.CaseDesk:
        """The case page: the case as ``actor`` may see it (not found when it is not
        theirs; the read audited), its clock explained, and the actions they may take
        now with what those actions choose from."""
        with self._db.write.begin() as session:
            case = cases.find(session, tracking)
            facts = permissions.CaseFacts.of(case, cases.emirate_id(session, self._config))
            if not permissions.may_see(actor, facts):
                raise NotFound("no such case", code="unknown_case", field="tracking")
            audit.record(session, actor, "read", "voice_case", case.tracking)
            offered = desk.allowed_actions(actor, case, facts)
            return desk.CaseDesk(
                view=self._view(session, actor, case),
                clock=deadlines.explain(session, self._config, case, self._clock()),
                actions=offered, answer_sends=desk.answer_sends(actor, facts),
                route_to=desk.route_targets(session, case) if "route" in offered else [],
                specialists=desk.specialists(session, case.agency_id, case.department_id)
                if "assign" in offered else [],
                refer_to=desk.refer_targets(session, case) if "refer" in offered else [],
                transaction=ownership.number_of(session, case.transaction_id),
                similar=tuple(self._similar(session, case)) if "merge" in offered else (),
                **desk.names(session, case))

    def transaction_desk(self, actor: Actor,
                         number: str) -> transaction_desk_.TransactionDesk:
        """A transaction's page: the transaction, its timeline, the cases about it that
        ``actor`` may see; not found when it is not theirs to see (the read audited)."""
        with self._db.write.begin() as session:
            found = transaction_desk_.transaction_desk(
                session, actor, cases.emirate_id(session, self._config), number)
            audit.record(session, actor, "read", "transaction", found.transaction.number)
            return found

    def _similar(self, session: Session, case: VoiceCase) -> list[similar.SimilarCase]:
        """Open cases of the agency like ``case`` (``core.voice.similar``); whether the
        database computes the similarity is asked once per process."""
        if self._database_trigrams is None:
            self._database_trigrams = similar.database_trigrams(session)
        return similar.suggest(session, case, in_database=self._database_trigrams)

    def inbox(self, actor: Actor, tab: str | None = None, *,
              after: str | None = None) -> Inbox:
        """A coordinator's inbox: the tabs' counts and a page of ``tab`` (the first tab
        when None); the read is audited."""
        now = self._clock()
        with self._db.write.begin() as session:
            emirate = cases.emirate_id(session, self._config)
            tabs = queues.inbox_tabs(actor, emirate)
            chosen = tab or (tabs[0] if tabs else queues.NEW)
            page = queues.inbox(session, actor, chosen, emirate_id=emirate, now=now,
                                after=after)
            counts = queues.inbox_counts(session, actor, emirate_id=emirate, now=now)
            audit.record(session, actor, "read", "voice_inbox", detail=f"tab={chosen}")
            return Inbox(chosen, counts, page)

    def queue(self, actor: Actor, *, after: str | None = None) -> Queue:
        """A specialist's queue, nearest deadline first; the read is audited."""
        with self._db.write.begin() as session:
            emirate = cases.emirate_id(session, self._config)
            page = queues.specialist_queue(session, actor, emirate_id=emirate, after=after)
            count = queues.specialist_count(session, actor, emirate_id=emirate)
            audit.record(session, actor, "read", "voice_queue")
            return Queue(count, page)

    def case_list(self, actor: Actor, query: desk.ListQuery, *,
                  after: str | None = None) -> CaseList:
        """The agency leader's list of the agency's cases, or leadership's of every
        agency's, newest first, filtered; the read is audited."""
        with self._db.write.begin() as session:
            filters = desk.list_filter(session, actor, query, self._config.tz)
            page = queues.case_list(session, actor, filters,
                                    emirate_id=cases.emirate_id(session, self._config),
                                    now=self._clock(), after=after)
            audit.record(session, actor, "read", "voice_cases",
                         detail=f"list {query.state or ''} {query.category or ''} "
                                f"{query.agency or ''} late={query.late}")
            return CaseList(page, desk.agency_categories(session, actor.agency_id),
                            [] if actor.agency_id is not None else desk.agencies(session))

    def agencies(self) -> list[desk.Option]:
        with self._db.read() as session:
            return desk.agencies(session)

    def category_rows(self, agency: str | None = None) -> list[desk.CategoryRow]:
        """The categories (of one agency) with their own current targets."""
        with self._db.read() as session:
            return desk.categories_of(session, agency)

    # --- the admin's calendar (core.calendar's functions, audited) ----------------------

    def calendar_state(self, since: datetime | None = None) -> CalendarState:
        with self._db.read() as session:
            found_overrides = hour_overrides.listed(session)
            found_versions = calendar_versions.listed(session, limit=10)
        start = since.date() if since else None
        return CalendarState(days_off.listed(self._db, start), found_overrides,
                             found_versions)

    def add_holidays(self, actor: Actor, days: list[Any], name: str) -> days_off.Added:
        """Declare holidays (a new calendar version when one is new); audited."""
        done = days_off.add(self._db, days, name, self._config)
        self._audit(actor, "create", "holiday", str(days[0]), f"{len(days)} day(s) {name}")
        return done

    def remove_holidays(self, actor: Actor, days: list[Any]) -> int:
        removed = days_off.remove(self._db, days, self._config)
        self._audit(actor, "delete", "holiday", str(days[0]), f"{removed} day(s)")
        return removed

    def add_override(self, actor: Actor, first: Any, last: Any, hours: dict[str, list[str]],
                     name: str) -> int:
        override_id = hour_overrides.add(self._db, first, last, hours, name, self._config)
        self._audit(actor, "create", "calendar_override", str(override_id),
                    f"{first} - {last} {name}")
        return override_id

    def remove_override(self, actor: Actor, override_id: int) -> hour_overrides.OverrideView:
        gone = hour_overrides.remove(self._db, override_id, self._config)
        self._audit(actor, "delete", "calendar_override", str(override_id),
                    f"{gone.first} - {gone.last} {gone.name}")
        return gone

    def _audit(self, actor: Actor, action: str, kind: str, object_id: str,
               detail: str) -> None:
        # core.calendar's changes commit in their own transaction (they are the CLI's
        # too); the audit row follows at once in its own.
        with self._db.write.begin() as session:
            audit.record(session, actor, action, kind, object_id, detail)

    def _view(self, session: Session, actor: Actor, case: VoiceCase) -> views.CaseView:
        facts = permissions.CaseFacts.of(case, cases.emirate_id(session, self._config))
        relation = permissions.relations(actor, facts)
        if not relation & permissions.SEES:
            # An action can take the case out of the actor's sight (routed elsewhere):
            # they are told only what they filed could tell them.
            return views.case_view(session, case, redact=True, handles=False)
        return views.case_view(session, case, redact=permissions.redacted(actor, facts),
                               handles=bool(relation & permissions.SEES_CONTACT))

    def _filed(self, session: Session, case: VoiceCase, *, replayed: bool = False) -> Filed:
        agency = session.get(Agency, case.agency_id)
        return Filed(case.tracking, case.case_type, case.state, agency.code if agency else "",
                     case.acknowledge_due, case.answer_due, replayed)
