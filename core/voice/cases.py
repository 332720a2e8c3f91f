"""Filing a case, and what every change to a case shares: finding it, the emirate, and
the event row that records the change.

A case is filed from any channel with the citizen's ways to reach them (a mobile or an
e-mail address at least; a national ID is kept only as its keyed hash). Without an
agency it goes to the emirate's inbox; a complaint about an agency's own staff is
handled by the emirate, the agency kept as what it is about. Its tracking number, its
deadlines, the "file" event and the citizen's acknowledgement are written in the
caller's one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from pydantic import Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access.actors import Actor
from core.directory.models import Agency
from core.identity.addresses import is_email_address
from core.identity.national_id import InvalidNationalId, hash_national_id, validate_national_id
from core.identity.phones import optional_mobile
from core.platform.errors import InvalidRequest, NotFound
from core.platform.settings import CoreSettings
from core.platform.validation import StrictModel, validated
from core.transactions.ownership import Owned, clean_number, owned_by
from core.voice import deadlines, notices, states, tracking
from core.voice.categories import CODE_PATTERN, CaseType, agency_by_code
from core.voice.models import CaseEvent, VoiceCase, VoiceCategory
from core.voice.similar import matched_text

TEXT_MAX = 4000
NAME_MAX = 200
CHANNELS = ("api", "portal", "sms", "email", "ivr", "kiosk", "counter")
Channel = Literal["api", "portal", "sms", "email", "ivr", "kiosk", "counter"]
# A mistyped address is refused here, not bounced later: something@somewhere.tld.
# Who acts when no staff user does.
CITIZEN: Final = "citizen"
SYSTEM: Final = "system"
Who = Actor | Literal["citizen", "system"]


class CitizenBody(StrictModel):
    """The citizen's details: each optional, but a mobile or an address to reach them."""

    mobile: str | None = Field(default=None, max_length=30)
    email: str | None = Field(default=None, max_length=254)
    national_id: str | None = Field(default=None, max_length=20)
    name: str | None = Field(default=None, max_length=NAME_MAX)

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str | None) -> str | None:
        return optional_mobile(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not is_email_address(value):
            raise ValueError("not an e-mail address")
        return value

    @field_validator("national_id")
    @classmethod
    def _national_id(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return validate_national_id(value)
        except InvalidNationalId as exc:
            raise ValueError(exc.message) from exc

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _reachable(self) -> CitizenBody:
        if not self.mobile and not self.email:
            raise ValueError("a mobile or an e-mail address is needed to answer")
        return self


class FilingBody(StrictModel):
    # Optional only with ``transaction``: a question about a transaction is an enquiry.
    type: CaseType | None = None
    text: str = Field(min_length=1, max_length=TEXT_MAX)
    agency: str | None = Field(default=None, pattern=CODE_PATTERN)
    category: str | None = Field(default=None, pattern=CODE_PATTERN)
    channel: Channel
    # The citizen's language, exactly (a channel picks it from what it was given).
    lang: Literal["ar", "en"] = "ar"
    citizen: CitizenBody
    # A complaint about the agency's own staff: handled by the emirate, unseen by them.
    about_own_staff: bool = Field(default=False, strict=True)
    # The transaction the case is about, its number as typed (Arabic-Indic digits too):
    # linked, and held by its department, only when the citizen's details are its
    # applicant's (``core.transactions.ownership``); else filed as if not given.
    transaction: str | None = Field(default=None, max_length=40)

    @field_validator("transaction")
    @classmethod
    def _transaction(cls, value: str | None) -> str | None:
        if not value:
            return None
        clean = clean_number(value)
        if clean is None:
            raise ValueError("a transaction number is 4 to 20 digits")
        return clean

    @model_validator(mode="before")
    @classmethod
    def _enquiry_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("transaction") and data.get("type") is None:
            return {**data, "type": states.ENQUIRY}
        return data

    @model_validator(mode="after")
    def _own_staff(self) -> FilingBody:
        if self.about_own_staff and (self.type != states.COMPLAINT or not self.agency):
            raise ValueError("about_own_staff is for a complaint that names its agency")
        return self

    @model_validator(mode="after")
    def _about_transaction(self) -> FilingBody:
        if self.type is None:
            raise ValueError("type is required (unless the case is about a transaction)")
        if self.transaction is not None and self.agency:
            # The emirate answers about its transactions, linked or not: where the case
            # goes must not tell whether the number is the filer's.
            raise ValueError("a case about a transaction names no agency")
        return self

    @property
    def case_type(self) -> str:
        assert self.type is not None  # see _about_transaction
        return self.type


def emirate(session: Session, config: CoreSettings) -> Agency:
    """The emirate's own agency (``voice.emirate_agency``), made on first need so that a
    fresh installation takes cases without an agency at once."""
    code = config.voice.emirate_agency
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        agency = Agency(code=code, name_ar="الإمارة", name_en="The Emirate")
        session.add(agency)
        session.flush()
    return agency


def emirate_id(session: Session, config: CoreSettings) -> int:
    return emirate(session, config).id


def file_case(session: Session, config: CoreSettings, data: Any, now: datetime,
              actor: Actor | None = None, *, source_key: str | None = None,
              email_thread: str | None = None, acknowledge: bool = True,
              national_id_hash: str | None = None) -> VoiceCase:
    """File a case: validated, timed, recorded and acknowledged, in ``session``'s
    transaction. ``actor`` is the member of staff filing it for the citizen (a call
    centre, an agency's own system), None when the citizen files it themselves.
    ``source_key``: the channel's message it is filed from; filed once, so a second
    call with it returns the case the first filed (see ``filed_from``).
    ``email_thread``: filed from a mail, the References of a reply to it (its thread,
    then its Message-ID): every notice to the citizen is written in that thread.
    ``acknowledge`` False: the channel's own reply to that message carries the tracking
    number (the short code answers the SMS that filed it), so no acknowledgement is
    queued: the citizen gets one message back, not two. ``national_id_hash``: the keyed
    hash of the national ID the citizen proved the filing's transaction with earlier (a
    draft keeps only the hash), when the body carries no national ID itself."""
    if source_key is not None:
        earlier = filed_from(session, source_key)
        if earlier is not None:
            return earlier
    body = validated(FilingBody, data, what="body")
    home = emirate(session, config)
    named = agency_by_code(session, body.agency) if body.agency else home
    if body.about_own_staff and named.id == home.id:
        # The flag sends a complaint to the emirate instead of the agency: the emirate's
        # own staff have no "instead" (leadership sees every case).
        raise InvalidRequest("about_own_staff: a complaint about the emirate's own staff "
                             "is filed without it", code="invalid_field",
                             field="about_own_staff")
    category = _category(session, body.category, named, body.case_type)
    citizen = body.citizen
    if citizen.national_id:
        national_id_hash = hash_national_id(citizen.national_id, config.national_id_key())
    linked = _linked(session, body, national_id_hash)
    case = VoiceCase(
        tracking=_free_tracking(session), case_type=body.case_type, state=states.RECEIVED,
        agency_id=home.id if body.about_own_staff else named.id,
        transaction_id=linked.id if linked else None,
        department_id=linked.department_id if linked else None,
        # None when the citizen named no agency: the emirate's coordinator routes it.
        about_agency_id=named.id if body.agency else None,
        about_own_staff=body.about_own_staff,
        category_id=category.id if category else None, channel=body.channel,
        language=body.lang, text=body.text, text_folded=matched_text(body.text),
        citizen_name=citizen.name,
        citizen_mobile=citizen.mobile, citizen_email=citizen.email,
        citizen_national_id_hash=national_id_hash,
        cycle=1, received_at=now, cycle_started_at=now, escalation=0, updated_at=now,
        source_key=source_key,
        email_thread=email_thread if body.channel == notices.EMAIL and email_thread else None)
    # Timed before it joins the session: the policy lookup may flush, and a case is not
    # complete (its policy, its calendar version) until it is timed.
    with session.no_autoflush:
        deadlines.time_new_case(session, config, case, now)
    session.add(case)
    session.flush()
    detail: dict[str, object] = {"channel": body.channel}
    if body.transaction is not None:
        # For the staff: the number the citizen asked about, and whether it was theirs.
        detail.update(transaction=body.transaction, linked=linked is not None)
    event = record(session, case, actor or CITIZEN, "file", None, now, detail=detail)
    if acknowledge:
        notices.to_citizen(session, case, event.id, "received", notices.received(
            case.case_type, case.tracking, config.sms.short_code, case.language,
            channel=notices.EMAIL if case.email_thread else "sms"))
    return case


def check_choices(session: Session, config: CoreSettings, body: FilingBody) -> None:
    """Refuse what ``file_case`` would refuse in the agency and category a filing names
    (a channel that files later, once the citizen is proven, says it at once)."""
    named = agency_by_code(session, body.agency) if body.agency else emirate(session, config)
    _category(session, body.category, named, body.case_type)


def _linked(session: Session, body: FilingBody,
            national_id_hash: str | None) -> Owned | None:
    """The transaction the filing asks about, when the citizen's mobile, address or
    national ID is its applicant's; None otherwise (unknown or not theirs: the same)."""
    if body.transaction is None:
        return None
    citizen = body.citizen
    return owned_by(session, body.transaction, mobile=citizen.mobile, email=citizen.email,
                    national_id_hash=national_id_hash)


def filed_from(session: Session, source_key: str) -> VoiceCase | None:
    """The case filed from this channel message, if one was."""
    return session.scalar(select(VoiceCase).where(VoiceCase.source_key == source_key))


def _category(session: Session, code: str | None, agency: Agency,
              case_type: str) -> VoiceCategory | None:
    if code is None:
        return None
    category = session.scalar(select(VoiceCategory).where(VoiceCategory.code == code))
    if category is None or not category.active or category.agency_id != agency.id:
        raise InvalidRequest(f"category {code} is not one of {agency.code}'s",
                             code="unknown_category", field="category")
    if case_type not in category.types:
        raise InvalidRequest(f"category {code} takes no {case_type}",
                             code="category_type", field="category")
    return category


def _free_tracking(session: Session) -> str:
    """A tracking number no case has (random: a collision is rare, and retried; a race
    with another filing is caught by the unique index and retried by the service)."""
    for _attempt in range(10):
        number = tracking.new_tracking()
        if session.scalar(select(VoiceCase.id).where(VoiceCase.tracking == number)) is None:
            return number
    raise RuntimeError("no free tracking number after 10 tries")  # 10^8 numbers


def find(session: Session, number: str, *, lock: bool = False) -> VoiceCase:
    """The case with this tracking number (as typed: Arabic digits, spaces), or NotFound
    (also for a number that is not one: it looks the same to the caller)."""
    clean = tracking.parse_tracking(number)
    case = None
    if clean is not None:
        query = select(VoiceCase).where(VoiceCase.tracking == clean)
        case = session.scalar(query.with_for_update() if lock else query)
    if case is None:
        raise NotFound("no such case", code="unknown_case", field="tracking")
    return case


def record(session: Session, case: VoiceCase, who: Who, action: str,
           from_state: str | None, now: datetime, *, reason: str = "",
           detail: dict[str, object] | None = None,
           source_key: str | None = None) -> CaseEvent:
    """The event row of one change (the case already in its new state); flushed, so its
    id can name the notifications it causes. ``source_key``: the citizen's channel
    message this change came from (unique: see ``core.voice.actions.citizen_action``)."""
    staff = who if isinstance(who, Actor) else None
    event = CaseEvent(case_id=case.id, at=now, actor_user_id=staff.user_id if staff else None,
                      actor_role=staff.role if staff else str(who), action=action,
                      from_state=from_state, to_state=case.state, cycle=case.cycle,
                      reason=reason, detail=detail or {}, source_key=source_key)
    session.add(event)
    session.flush()
    return event
