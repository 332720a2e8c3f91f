"""Citizen's Voice as Open311 GeoReport v2 sees it (wiki.open311.org/GeoReport_v2): the
active categories as *services*, cases as *service requests*, a request posted by a
third-party app filed as a case. The gateway renders these in JSON or XML
(``gateway/open311.py``); what is published is decided here.

What a request publishes, and why (the README's "Open311" says it to operators):

* never the citizen: no name, mobile, e-mail, national ID, nor the answer (it is
  addressed to them); ``status_notes`` is the state in a few words;
* only complaints and suggestions filed under a category (a service), and never a
  complaint about an agency's own staff (personal by nature) nor an enquiry (a question
  about one's own affairs): those are not listed, and their number reads as unknown;
* the description cut to ``DESCRIPTION_MAX`` characters with every phone number and
  e-mail address in it masked (``core.identity.masking``): enough for another system to
  see what the report is about (FixMyStreet publishes whole reports; our privacy rule
  says a case goes only to its person, so less is shown);
* no location and no photo: the gateway keeps no coordinates (a posted address and
  coordinates become the last line of the case's text, for staff, and the published
  description ends before that line) and photos are for staff only.

A request's listing reads ``ix_voice_cases_received`` (the requested date range, newest
first, at most ``MAX_REQUESTS``); a list of ids reads the tracking numbers' unique index.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select

from core.directory.models import Agency
from core.identity.arabic import written_in
from core.identity.digits import normalize_digits
from core.identity.masking import mask_contacts
from core.platform.db import Database
from core.platform.errors import InvalidRequest, NotFound
from core.platform.settings import CoreSettings
from core.voice import states, tracking
from core.voice.cases import TEXT_MAX
from core.voice.citizen_cases import state_words
from core.voice.models import VoiceCase, VoiceCategory

# The specification's bounds on a listing: the last 90 days unless dates are given, a
# range of at most 90 days, at most 1000 requests.
DEFAULT_DAYS = 90
MAX_SPAN_DAYS = 90
MAX_REQUESTS = 1000
# How many ids or service codes one query may name (comma separated).
MAX_LISTED = 100
DESCRIPTION_MAX = 200
ADDRESS_MAX = 500
PUBLISHED_TYPES = (states.COMPLAINT, states.SUGGESTION)
# The request's "status": closed once the agency has answered or decided.
CLOSED_STATES = states.ANSWER_GIVEN
# XML 1.0 refuses these characters even escaped: they are dropped from published text.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Service:
    service_code: str
    service_name: str
    description: str
    keywords: str
    group: str
    metadata: bool = False
    type: str = "realtime"


@dataclass(frozen=True)
class ServiceRequest:
    service_request_id: str
    status: str  # "open" or "closed"
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None
    # Never known (see the module's docstring), present as the specification lists them.
    address: str = ""
    address_id: str = ""
    zipcode: str = ""
    lat: float | None = None
    long: float | None = None
    media_url: str = ""


@dataclass(frozen=True)
class Posted:
    """What ``POST requests`` answers: the tracking number is the request's id."""

    service_request_id: str
    service_notice: str
    account_id: str | None = None
    replayed: bool = False


@dataclass(frozen=True)
class RequestQuery:
    ids: tuple[str, ...] | None = None  # None: not asked by id
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] = ()


def parse_query(args: Mapping[str, str]) -> RequestQuery:
    """``GET requests``' parameters, checked (InvalidRequest names the one that is wrong).
    ``service_request_id`` overrides the others, as the specification says."""
    ids = _listed(args.get("service_request_id"), "service_request_id")
    if ids:
        # An id that is no tracking number matches nothing, as an unknown one: the
        # answer lists the requests found.
        numbers = (tracking.parse_tracking(number) for number in ids)
        return RequestQuery(ids=tuple(dict.fromkeys(n for n in numbers if n)))
    statuses = _listed(args.get("status"), "status")
    wrong = [status for status in statuses if status not in ("open", "closed")]
    if wrong:
        raise InvalidRequest("status: open or closed (comma separated)",
                             code="invalid_field", field="status")
    start = _moment(args.get("start_date"), "start_date")
    end = _moment(args.get("end_date"), "end_date")
    if start and end and start > end:
        raise InvalidRequest("start_date is after end_date", code="invalid_field",
                             field="start_date")
    if start and end and end - start > timedelta(days=MAX_SPAN_DAYS):
        raise InvalidRequest(f"start_date to end_date: at most {MAX_SPAN_DAYS} days",
                             code="invalid_field", field="end_date")
    return RequestQuery(service_codes=_listed(args.get("service_code"), "service_code"),
                        start=start, end=end, statuses=tuple(dict.fromkeys(statuses)))


def _listed(value: str | None, name: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in (value or "").split(",") if item.strip())
    if len(items) > MAX_LISTED:
        raise InvalidRequest(f"{name}: at most {MAX_LISTED} values", code="invalid_field",
                             field=name)
    if any(len(item) > 64 for item in items):
        raise InvalidRequest(f"{name}: a value is too long", code="invalid_field",
                             field=name)
    return items


def _moment(value: str | None, name: str) -> datetime | None:
    """A W3C date-time ("2026-11-22T09:00:00Z", "…+03:00", or a date alone: its UTC
    midnight)."""
    if value is None or not value.strip():
        return None
    text = normalize_digits(value.strip())
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{name}: a W3C date-time such as 2026-11-22T09:00:00Z",
                             code="invalid_field", field=name) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Open311:
    """The Open311 endpoint's reads and its filing, each in one transaction."""

    def __init__(self, db: Database, config: CoreSettings, clock: Callable[[], datetime],
                 file_case: Callable[..., Any]) -> None:
        self._db = db
        self._config = config
        self._clock = clock
        # ``VoiceService.file_case``: limits, source keys and the acknowledgement as every
        # channel's filing has them.
        self._file_case = file_case

    def check_jurisdiction(self, jurisdiction_id: str | None) -> None:
        """A ``jurisdiction_id``, when a client sends one, must be ours
        (``voice.open311_jurisdiction``); this endpoint serves one."""
        if jurisdiction_id is None or jurisdiction_id.strip() == "":
            return
        if jurisdiction_id.strip() != self._config.voice.open311_jurisdiction:
            raise NotFound(f"jurisdiction_id {jurisdiction_id[:64]} is not served here",
                           code="unknown_jurisdiction", field="jurisdiction_id")

    def services(self, lang: str = "ar") -> list[Service]:
        """One service per active category that takes complaints or suggestions."""
        with self._db.read() as session:
            rows = session.execute(
                select(VoiceCategory, Agency).join(Agency, Agency.id == VoiceCategory.agency_id)
                .where(VoiceCategory.active.is_(True)).order_by(VoiceCategory.code)).all()
        found = []
        for category, agency in rows:
            kinds = [kind for kind in category.types if kind in PUBLISHED_TYPES]
            if not kinds:
                continue
            found.append(Service(
                service_code=category.code,
                service_name=category.name_ar if lang == "ar" else category.name_en,
                description=category.name_en if lang == "ar" else category.name_ar,
                keywords=",".join(kinds),
                group=agency.name_ar if lang == "ar" else agency.name_en))
        return found

    def requests(self, query: RequestQuery, lang: str = "ar") -> list[ServiceRequest]:
        """The published requests ``query`` asks for, newest first, at most
        ``MAX_REQUESTS``."""
        statement = self._published()
        if query.ids is not None:
            statement = statement.where(VoiceCase.tracking.in_(query.ids))
        else:
            end = query.end or self._clock()
            start = query.start or end - timedelta(days=DEFAULT_DAYS)
            statement = statement.where(VoiceCase.received_at >= start,
                                        VoiceCase.received_at <= end)
            if query.service_codes:
                statement = statement.where(VoiceCategory.code.in_(query.service_codes))
            if set(query.statuses) == {"open"}:
                statement = statement.where(VoiceCase.state.not_in(CLOSED_STATES))
            elif set(query.statuses) == {"closed"}:
                statement = statement.where(VoiceCase.state.in_(CLOSED_STATES))
        statement = statement.order_by(VoiceCase.received_at.desc(), VoiceCase.id.desc()) \
            .limit(MAX_REQUESTS)
        with self._db.read() as session:
            return [self._request(row, lang) for row in session.execute(statement)]

    def request(self, service_request_id: str, lang: str = "ar") -> ServiceRequest:
        """One published request (NotFound for anything else, unpublished ones too)."""
        number = tracking.parse_tracking(service_request_id[:40])
        if number is None:
            raise NotFound("no such service request", code="unknown_request",
                           field="service_request_id")
        with self._db.read() as session:
            row = session.execute(self._published().where(VoiceCase.tracking == number)) \
                .first()
        if row is None:
            raise NotFound("no such service request", code="unknown_request",
                           field="service_request_id")
        return self._request(row, lang)

    @staticmethod
    def _published() -> Any:
        return (select(VoiceCase.tracking, VoiceCase.state, VoiceCase.text,
                       VoiceCase.received_at, VoiceCase.updated_at, VoiceCase.answer_due,
                       VoiceCategory.code, VoiceCategory.name_ar, VoiceCategory.name_en,
                       Agency.name_ar.label("agency_ar"), Agency.name_en.label("agency_en"))
                .join(VoiceCategory, VoiceCategory.id == VoiceCase.category_id)
                .join(Agency, Agency.id == VoiceCase.agency_id)
                .where(_publishable()))

    def _request(self, row: Any, lang: str) -> ServiceRequest:
        closed = row.state in CLOSED_STATES
        return ServiceRequest(
            service_request_id=row.tracking, status="closed" if closed else "open",
            status_notes=state_words(row.state, lang),
            service_name=row.name_ar if lang == "ar" else row.name_en,
            service_code=row.code, description=published_description(row.text),
            agency_responsible=row.agency_ar if lang == "ar" else row.agency_en,
            service_notice="", requested_datetime=row.received_at,
            updated_datetime=row.updated_at,
            expected_datetime=None if closed else row.answer_due)

    def file(self, form: Mapping[str, str], *, token_name: str,
             idempotency_key: str | None = None) -> Posted:
        """``POST requests``: a third-party app (holding a kiosk or staff token, already
        checked by the caller) files a case for a citizen.

        Filed as self-service without an origin, as a kiosk's: the app serves many
        citizens from one address, and it has not proved who the citizen is, so the
        citizen's mobile and address are counted against the daily filing limit as if
        they filed it themselves. ``idempotency_key`` (the client's
        ``Idempotency-Key`` header, checked by the gateway as for the JSON API) files it
        once: a retry answers with the same id."""
        body = self._filing_body(form)
        source_key = None
        if idempotency_key:
            source_key = f"api:{token_name}:{idempotency_key}"
        filed = self._file_case(body, source_key=source_key, self_service=True, origin=None)
        notice = (f"رقم المتابعة {filed.tracking}؛ يصل إلى المواطن برسالة."
                  if body["lang"] == "ar" else
                  f"Tracking number {filed.tracking}; the citizen is sent it.")
        return Posted(filed.tracking, notice, None, filed.replayed)

    def _filing_body(self, form: Mapping[str, str]) -> dict[str, Any]:
        code = (form.get("service_code") or "").strip()
        if not code:
            raise InvalidRequest("service_code is required", code="invalid_field",
                                 field="service_code")
        with self._db.read() as session:
            found = session.execute(
                select(VoiceCategory, Agency.code)
                .join(Agency, Agency.id == VoiceCategory.agency_id)
                .where(VoiceCategory.code == code[:64], VoiceCategory.active.is_(True))).first()
        if found is None or not any(kind in PUBLISHED_TYPES for kind in found[0].types):
            raise InvalidRequest(f"service_code {code[:64]} is not one of services",
                                 code="unknown_service", field="service_code")
        category, agency_code = found
        description = (form.get("description") or "").strip()
        if not description:
            raise InvalidRequest("description is required: what is the matter?",
                                 code="invalid_field", field="description")
        lang = written_in(description)
        text = description + _location(form, lang)
        if len(text) > TEXT_MAX:
            raise InvalidRequest(f"description and address: at most {TEXT_MAX} characters",
                                 code="invalid_field", field="description")
        name = " ".join(part.strip() for part in (form.get("first_name") or "",
                                                  form.get("last_name") or "")
                        if part.strip())
        citizen = {key: value for key, value in (
            ("mobile", (form.get("phone") or "").strip()),
            ("email", (form.get("email") or "").strip()), ("name", name[:200])) if value}
        if "mobile" not in citizen and "email" not in citizen:
            raise InvalidRequest("phone or email is required: the citizen is sent the "
                                 "tracking number and the answer", code="invalid_field",
                                 field="phone")
        case_type = states.COMPLAINT if states.COMPLAINT in category.types \
            else states.SUGGESTION
        return {"type": case_type, "text": text, "agency": agency_code,
                "category": category.code, "channel": "api", "lang": lang,
                "citizen": citizen}


def _publishable() -> ColumnElement[bool]:
    return (VoiceCase.case_type.in_(PUBLISHED_TYPES)
            & VoiceCase.about_own_staff.is_(False)
            & VoiceCase.category_id.is_not(None))


def published_description(text: str) -> str:
    """What Open311 shows of a case's text: contacts masked, cut at a word boundary
    to at most ``DESCRIPTION_MAX`` characters (an ellipsis when cut), nothing XML
    cannot carry."""
    text = _LOCATION_LINE.sub("", text)
    clean = _NOT_XML.sub("", unicodedata.normalize("NFC", mask_contacts(text))).strip()
    if len(clean) <= DESCRIPTION_MAX:
        return clean
    cut = clean[:DESCRIPTION_MAX - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > DESCRIPTION_MAX // 2 else cut).rstrip() + "…"


def _location(form: Mapping[str, str], lang: str) -> str:
    """The posted address and coordinates as the last line of the case's text, for the
    staff (the gateway keeps no coordinates of its own); "" when none was given. One
    line always (the address's line breaks folded), so that ``_LOCATION_LINE`` finds all
    of it and ``published_description`` never publishes where the poster lives."""
    address = " ".join((form.get("address_string") or "").split())
    if len(address) > ADDRESS_MAX:
        raise InvalidRequest(f"address_string: at most {ADDRESS_MAX} characters",
                             code="invalid_field", field="address_string")
    point = _point(form.get("lat"), form.get("long"))
    if not address and point is None:
        return ""
    where = " ".join(part for part in (address, f"({point})" if point else "") if part)
    return f"\n\n{'الموقع' if lang == 'ar' else 'Location'}: {where}"


# The line ``_location`` appends: the published description ends before it.
_LOCATION_LINE = re.compile(r"\n\n(?:الموقع|Location): [^\n]*\s*\Z")


def _point(lat_text: str | None, long_text: str | None) -> str | None:
    if not (lat_text or "").strip() and not (long_text or "").strip():
        return None
    try:
        lat = float(normalize_digits((lat_text or "").strip()))
        lon = float(normalize_digits((long_text or "").strip()))
    except ValueError:
        raise InvalidRequest("lat and long: decimal degrees, both given",
                             code="invalid_field", field="lat") from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
            and -180 <= lon <= 180):
        raise InvalidRequest("lat and long: decimal degrees within range",
                             code="invalid_field", field="lat")
    return f"{lat:.6f}, {lon:.6f}"
