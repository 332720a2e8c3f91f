"""``/citizen-voice/``: Citizen's Voice on the citizen web portal, Arabic first, no script.

Filing: the type and the agency first (a plain GET form), then that agency's categories,
the text, up to three photos, a name if they like and the mobile; the photos are checked
by their content and re-encoded without metadata here (``gateway.photos``), the form is
kept by the core as a draft with its photos (``core.voice.drafts``) and a one-time code
goes to the mobile by SMS. The right code files the case, and the page shows its
tracking number. Between the two steps the signed session cookie holds only the code's
row id: the draft, the photos and the mobile stay in the database, where any web process
finds them.

Following: the tracking number and the mobile show the case as its citizen sees it
(``Core.voice.citizens``; a wrong pair is "no such case", counted per origin and per
number). Replying, rating, reopening or withdrawing needs a code sent to the case's own
mobile: once typed, the session holds that code's id and the core believes it, for that
case, for half an hour.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError

from core.calendar.dates import format_date_long, local_date
from core.identity.digits import extract_transaction_number, normalize_digits
from core.identity.national_id import InvalidNationalId, validate_national_id
from core.identity.phones import InvalidMobile, mask_mobile, normalize_mobile
from core.messaging.codes import Sent
from core.platform.errors import CoreError, InvalidRequest, NotFound, TooMany
from core.platform.i18n import gettext_for
from core.voice.attachments import MAX_PHOTO_BYTES, MAX_PHOTOS
from core.voice.cases import NAME_MAX, TEXT_MAX
from core.voice.citizen_cases import CitizenView, plain, state_words
from core.voice.tracking import parse_tracking
from gateway.photos import PhotoRefused, checked_photos
from gateway.portal import (
    check_csrf,
    page_language,
    render_page,
    with_retry_after,
)

voice_portal = Blueprint("citizen_voice", __name__, url_prefix="/citizen-voice")

TYPES = ("complaint", "suggestion")
# A filing with three photos of 5 MB, their multipart wrapping and the text; a fourth
# photo or a larger one still arrives whole enough to be refused in words, not a 413.
MAX_UPLOAD_BYTES = (MAX_PHOTOS + 1) * (MAX_PHOTO_BYTES + 1024 * 1024) + 64 * 1024
SHORT_FIELD = 40
# Session keys: the code a draft waits for, the tracking number just filed, and the
# verified code (with its case) that lets the citizen act on a case.
FILING, FILED, ACTING = "voice_filing", "voice_filed", "voice_acting"
# The filed case's type: the page says "your complaint", "your suggestion", "your enquiry".
FILED_TYPE = "voice_filed_type"


@voice_portal.before_request
def _allow_uploads() -> None:
    """The filing form carries photos: more than the gateway's usual body limit."""
    if request.endpoint == "citizen_voice.file":
        request.max_content_length = MAX_UPLOAD_BYTES


voice_portal.before_request(check_csrf)


@voice_portal.context_processor
def _lang_switch() -> dict:
    """The language link stays on this page (a form's answer: its first page), so that
    switching mid-way does not lose the citizen's place."""
    other = "en" if page_language() == "ar" else "ar"
    if request.method == "GET" and request.endpoint:
        args: dict[str, Any] = {key: value for key, value in request.args.items()
                                if key != "lang"}
        args.update(request.view_args or {}, lang=other)
        return {"lang_switch_url": url_for(request.endpoint, **args)}
    start = "citizen_voice.track_form" if "track" in (request.endpoint or "") \
        or "case" in (request.endpoint or "") else "citizen_voice.start"
    return {"lang_switch_url": url_for(start, lang=other)}


def _core():
    return current_app.extensions["core"]


def _origin() -> str | None:
    # As the portal's inquiry: the web server already applied gateway.trusted_proxies.
    return request.remote_addr


# --- messages in the citizen's language -------------------------------------------------


def _messages(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {
        "type_missing": _("Choose whether it is a complaint or a suggestion."),
        "agency_unknown": _("Choose an agency from the list."),
        "category_unknown": _("Choose a category from the list."),
        "text_missing": _("Write your complaint or suggestion."),
        "question_missing": _("Write your question."),
        "text_long": _("The text is too long: write at most %(max)s characters.")
        % {"max": TEXT_MAX},
        "name_long": _("The name is too long: at most %(max)s characters.")
        % {"max": NAME_MAX},
        "mobile_missing": _("Enter your mobile number: the verification code is sent to "
                            "it."),
        "mobile_invalid": _("Enter a mobile number such as 0551234567."),
        "photos_too_many": _("Attach at most %(max)s photos.") % {"max": MAX_PHOTOS},
        "photos_too_large": _("Each photo must be at most 5 MB."),
        "photos_not_image": _("Attach photos only: JPEG, PNG or WebP pictures."),
        "photos_too_big": _("A photo has too many pixels; attach a smaller one."),
        "too_many_cases": _("You have filed as many cases as allowed for now. Please try "
                            "again later, or call the toll-free line."),
        "code_cooldown": _("A code was just sent to this mobile. Wait a minute before "
                           "asking for another."),
        "too_many_codes": _("Too many codes were asked for. Please try again in an hour."),
        "code_missing": _("Enter the 6-digit code from the text message."),
        "wrong_code": _("The code is not right. Check the text message and try again."),
        "code_expired": _("The code has expired. Ask for a new one."),
        "code_dead": _("This code no longer works. Ask for a new one."),
        "no_draft": _("The form has expired. Please fill it in again."),
        "tracking_missing": _("Enter the tracking number."),
        "too_many_lookups": _("For your protection, lookups are paused for a while after "
                              "several unsuccessful attempts. Please try again later."),
        "reply_missing": _("Write your reply."),
        "reply_long": _("The reply is too long: write at most %(max)s characters.")
        % {"max": TEXT_MAX},
        "rating_missing": _("Choose a rating from 1 to 5."),
        "moved_on": _("Your case has moved on since the page was shown: see where it "
                      "stands now."),
        "refused": _("This could not be done. Check what you entered and try again."),
    }


def _core_message(exc: CoreError, lang: str) -> str:
    messages = _messages(lang)
    if exc.code in messages:
        return messages[exc.code]
    if exc.code in ("wrong_state", "reopen_window", "already_rated", "conflict"):
        return messages["moved_on"]
    by_field = {"category": "category_unknown", "agency": "agency_unknown",
                "text": "text_missing", "photos": "photos_not_image"}
    return messages[by_field.get(exc.field or "", "refused")]


# --- filing: the type and the agency, then the details -------------------------------------


@voice_portal.get("/")
def start():
    return render_page("voice_portal_start.html", agencies=_core().voice.agencies(),
                       values={"type": request.args.get("type", "")}, errors={})


@voice_portal.get("/new")
def details():
    """The second step (a GET: it only shows the agency's categories)."""
    lang = page_language()
    values = {"type": request.args.get("type", "")[:SHORT_FIELD],
              "agency": request.args.get("agency", "")[:SHORT_FIELD]}
    errors = _choice_errors(values, lang)
    if errors:
        return render_page("voice_portal_start.html", status=422, agencies=_core().voice.agencies(),
                           values=values, errors=errors)
    return _details_page(values, {})


def _choice_errors(values: dict[str, str], lang: str) -> dict[str, str]:
    messages = _messages(lang)
    errors = {}
    if values["type"] not in TYPES:
        errors["type"] = messages["type_missing"]
    if values["agency"] and values["agency"] not in {
            option.code for option in _core().voice.agencies()}:
        errors["agency"] = messages["agency_unknown"]
    return errors


def _details_page(values: dict[str, str], errors: dict[str, str], status: int = 200):
    agency = next((option for option in _core().voice.agencies()
                   if option.code == values["agency"]), None)
    categories = [row for row in _core().voice.category_rows(values["agency"])
                  if row.active and values["type"] in row.types] if agency else []
    return render_page("voice_portal_details.html", status=status, values=values, errors=errors,
                       agency=agency, categories=categories, text_max=TEXT_MAX,
                       name_max=NAME_MAX, max_photos=MAX_PHOTOS)


@voice_portal.post("/new")
def file():
    lang = page_language()
    messages = _messages(lang)
    values = {name: request.form.get(name, "").strip()[:limit] for name, limit in (
        ("type", SHORT_FIELD), ("agency", SHORT_FIELD), ("category", SHORT_FIELD),
        ("text", TEXT_MAX + 1), ("name", NAME_MAX + 1), ("mobile", SHORT_FIELD))}
    errors = _choice_errors(values, lang)
    if errors:
        return render_page("voice_portal_start.html", status=422, agencies=_core().voice.agencies(),
                           values=values, errors=errors)
    if not values["text"]:
        errors["text"] = messages["text_missing"]
    elif len(values["text"]) > TEXT_MAX:
        errors["text"] = messages["text_long"]
    if len(values["name"]) > NAME_MAX:
        errors["name"] = messages["name_long"]
    mobile = _mobile(values["mobile"], errors, messages)
    uploads = [upload for upload in request.files.getlist("photos") if upload.filename]
    photos = []
    try:
        # One byte past the limit is enough to know a photo is too large.
        photos = checked_photos([upload.read(MAX_PHOTO_BYTES + 1) for upload in uploads])
    except PhotoRefused as refused:
        errors["photos"] = messages[f"photos_{refused.code}"]
    if errors:
        return _details_page(values, errors, status=422)
    data = {"type": values["type"], "text": values["text"], "channel": "portal",
            "lang": lang, "citizen": {"mobile": mobile, "name": values["name"] or None}}
    if values["agency"]:
        data["agency"] = values["agency"]
    if values["category"]:
        data["category"] = values["category"]
    try:
        sent = _core().voice.drafts.start(data, photos, origin=_origin())
    except TooMany as exc:
        return _refusal(exc, lang)
    except CoreError as exc:
        field = {"citizen.mobile": "mobile"}.get(exc.field or "", exc.field or "text")
        errors[field if field in values or field == "photos" else "text"] = \
            _core_message(exc, lang)
        return _details_page(values, errors, status=422)
    session[FILING] = sent.code_id
    return redirect(url_for("citizen_voice.confirm_form", lang=lang), code=303)


# --- a question about a transaction (from the portal's status answer) ---------------------


@voice_portal.post("/ask")
def ask():
    """The status answer page's "ask about this transaction" form: the question and the
    mobile its answer goes to, with the transaction's number and the national ID its
    status was proven with (hidden fields: what the citizen typed a moment ago). Filed,
    as every portal case, once a code proves the mobile; the core links the question to
    the transaction, and its department, only when the national ID (or the mobile) is the
    applicant's, and the pages say the same either way."""
    lang = page_language()
    messages = _messages(lang)
    values = {"number": request.form.get("number", "").strip()[:SHORT_FIELD],
              "national_id": request.form.get("national_id", "").strip()[:SHORT_FIELD],
              "question": request.form.get("question", "").strip()[:TEXT_MAX + 1],
              "mobile": request.form.get("mobile", "").strip()[:SHORT_FIELD]}
    number = extract_transaction_number(values["number"])
    if number is None:
        return _message("refused", status=422)
    national_id = _proven_id(values["national_id"])
    errors: dict[str, str] = {}
    if not values["question"]:
        errors["question"] = messages["question_missing"]
    elif len(values["question"]) > TEXT_MAX:
        errors["question"] = messages["text_long"]
    mobile = _mobile(values["mobile"], errors, messages)
    if not errors:
        citizen = {"mobile": mobile, **({"national_id": national_id} if national_id else {})}
        data = {"type": "enquiry", "transaction": number, "text": values["question"],
                "channel": "portal", "lang": lang, "citizen": citizen}
        try:
            sent = _core().voice.drafts.start(data, [], origin=_origin())
        except TooMany as exc:
            return _refusal(exc, lang)
        except CoreError as exc:
            field = "mobile" if exc.field == "citizen.mobile" else "question"
            errors[field] = _core_message(exc, lang)
        else:
            session[FILING] = sent.code_id
            return redirect(url_for("citizen_voice.confirm_form", lang=lang), code=303)
    values["number"] = number
    return render_page("voice_portal_ask.html", status=422, ask=values, errors=errors,
                       text_max=TEXT_MAX)


def _proven_id(typed: str) -> str | None:
    """The national ID the form carries back, when it is one (else the question is filed
    without it: the mobile alone may still prove the transaction is theirs)."""
    try:
        return validate_national_id(normalize_digits(typed)) if typed else None
    except InvalidNationalId:
        return None


def _mobile(typed: str, errors: dict[str, str], messages: dict[str, str]) -> str | None:
    if not typed:
        errors["mobile"] = messages["mobile_missing"]
        return None
    try:
        return normalize_mobile(normalize_digits(typed))
    except InvalidMobile:
        errors["mobile"] = messages["mobile_invalid"]
        return None


@voice_portal.get("/confirm")
def confirm_form():
    sent = _waiting_draft()
    if sent is None:
        return _message("no_draft", status=410)
    return _code_page(sent, "citizen_voice.confirm", {})


@voice_portal.post("/confirm")
def confirm():
    lang = page_language()
    code_id = session.get(FILING)
    if not isinstance(code_id, int):
        return _message("no_draft", status=410)
    typed = request.form.get("code", "").strip()[:SHORT_FIELD]
    if not typed:
        return _code_again(code_id, "citizen_voice.confirm", "code_missing")
    try:
        filed = _core().voice.drafts.confirm(code_id, typed, origin=_origin())
    except TooMany as exc:
        return _refusal(exc, lang)
    except InvalidRequest as exc:  # wrong or expired: type it again, or ask for another
        return _code_again(code_id, "citizen_voice.confirm", exc.code)
    except CoreError as exc:  # the code died, the draft expired: start again
        session.pop(FILING, None)
        return _message(exc.code if exc.code in ("code_dead", "no_draft") else "refused",
                        status=410 if isinstance(exc, NotFound) else 422,
                        text=_core_message(exc, lang))
    session.pop(FILING, None)
    session[FILED] = filed.tracking
    session[FILED_TYPE] = filed.type
    return redirect(url_for("citizen_voice.filed", lang=lang), code=303)


@voice_portal.post("/confirm/resend")
def resend():
    lang = page_language()
    code_id = session.get(FILING)
    if not isinstance(code_id, int):
        return _message("no_draft", status=410)
    try:
        sent = _core().voice.drafts.resend(code_id, lang=lang, origin=_origin())
    except TooMany as exc:
        return _code_again(code_id, "citizen_voice.confirm", exc.code, status=429)
    except CoreError:
        session.pop(FILING, None)
        return _message("code_dead", status=410)
    return _code_page(sent, "citizen_voice.confirm", {}, resent=True)


def _waiting_draft() -> Sent | None:
    code_id = session.get(FILING)
    return _core().voice.drafts.waiting(code_id) if isinstance(code_id, int) else None


@voice_portal.get("/filed")
def filed():
    tracking = session.get(FILED)
    if not isinstance(tracking, str):
        return redirect(url_for("citizen_voice.start", lang=page_language()), code=303)
    return render_page("voice_portal_filed.html", tracking=tracking,
                       case_type=session.get(FILED_TYPE))


# --- following a case ------------------------------------------------------------------


@voice_portal.get("/track")
def track_form():
    # ``?tracking=``: from a list that names the case ("my transactions").
    tracking = request.args.get("tracking", "")[:SHORT_FIELD]
    return render_page("voice_portal_track.html", values={"tracking": tracking}, errors={})


@voice_portal.post("/track")
def track():
    lang = page_language()
    values, errors = _pair(lang)
    if errors:
        return render_page("voice_portal_track.html", status=422, values=values, errors=errors)
    try:
        view = _core().voice.citizens.look_up(values["tracking"], values["mobile"],
                                              origin=_origin())
    except TooMany as exc:
        return _refusal(exc, lang)
    except NotFound:
        return _not_found()
    return _case_page(view, verified=False, mobile=values["mobile"])


def _pair(lang: str) -> tuple[dict[str, str], dict[str, str]]:
    """The tracking number and the mobile as typed (digits of any script)."""
    messages = _messages(lang)
    values = {name: request.form.get(name, "").strip()[:SHORT_FIELD]
              for name in ("tracking", "mobile")}
    errors: dict[str, str] = {}
    if not values["tracking"]:
        errors["tracking"] = messages["tracking_missing"]
    mobile = _mobile(values["mobile"], errors, messages)
    if mobile:
        values["mobile"] = mobile
    return values, errors


@voice_portal.post("/track/code")
def send_case_code():
    """A code to the case's mobile, to act on it (the pair is looked up again)."""
    lang = page_language()
    values, errors = _pair(lang)
    if errors:
        return render_page("voice_portal_track.html", status=422, values=values, errors=errors)
    try:
        sent = _core().voice.citizens.send_code(values["tracking"], values["mobile"],
                                                lang=lang, origin=_origin())
    except TooMany as exc:
        return _refusal(exc, lang)
    except NotFound:
        return _not_found()
    tracking = parse_tracking(values["tracking"]) or ""
    session[ACTING] = [sent.code_id, tracking, False]
    return redirect(url_for("citizen_voice.case_code_form", tracking=tracking, lang=lang),
                    code=303)


@voice_portal.get("/cases/<tracking>/code")
def case_code_form(tracking: str):
    code_id = _acting_code(tracking)
    sent = _core().voice.citizens.waiting(code_id) if code_id is not None else None
    if sent is None:
        return redirect(url_for("citizen_voice.track_form", lang=page_language()), code=303)
    return _code_page(sent, "citizen_voice.case_code", {}, tracking=tracking)


@voice_portal.post("/cases/<tracking>/code")
def case_code(tracking: str):
    lang = page_language()
    code_id = _acting_code(tracking)
    if code_id is None:
        return redirect(url_for("citizen_voice.track_form", lang=lang), code=303)
    typed = request.form.get("code", "").strip()[:SHORT_FIELD]
    if not typed:
        return _code_again(code_id, "citizen_voice.case_code", "code_missing",
                           tracking=tracking)
    try:
        _core().voice.citizens.confirm(code_id, typed, origin=_origin())
    except TooMany as exc:
        return _refusal(exc, lang)
    except InvalidRequest as exc:
        return _code_again(code_id, "citizen_voice.case_code", exc.code, tracking=tracking)
    except CoreError:
        session.pop(ACTING, None)
        return _message("code_dead", status=410)
    session[ACTING] = [code_id, tracking, True]
    return redirect(url_for("citizen_voice.case", tracking=tracking, lang=lang), code=303)


@voice_portal.post("/cases/<tracking>/code/resend")
def case_code_resend(tracking: str):
    lang = page_language()
    code_id = _acting_code(tracking)
    if code_id is None:
        return redirect(url_for("citizen_voice.track_form", lang=lang), code=303)
    try:
        sent = _core().voice.citizens.resend(code_id, lang=lang, origin=_origin())
    except TooMany as exc:
        return _code_again(code_id, "citizen_voice.case_code", exc.code, status=429,
                           tracking=tracking)
    except CoreError:
        session.pop(ACTING, None)
        return _message("code_dead", status=410)
    return _code_page(sent, "citizen_voice.case_code", {}, resent=True, tracking=tracking)


def _acting_code(tracking: str, *, verified: bool | None = None) -> int | None:
    """The code id the session holds for ``tracking`` (only verified ones if asked)."""
    held = session.get(ACTING)
    if not (isinstance(held, list) and len(held) == 3 and isinstance(held[0], int)):
        return None
    if held[1] != parse_tracking(tracking[:SHORT_FIELD]):
        return None
    if verified is not None and held[2] is not verified:
        return None
    return held[0]


@voice_portal.get("/cases/<tracking>")
def case(tracking: str):
    lang = page_language()
    code_id = _acting_code(tracking, verified=True)
    if code_id is None:
        return redirect(url_for("citizen_voice.track_form", lang=lang), code=303)
    try:
        view = _core().voice.citizens.view(code_id, tracking[:SHORT_FIELD])
    except NotFound:  # the half hour is over: read with the pair again
        session.pop(ACTING, None)
        return redirect(url_for("citizen_voice.track_form", lang=lang), code=303)
    done = request.args.get("done", "")
    return _case_page(view, verified=True, notice=_done(done, lang))


@voice_portal.post("/cases/<tracking>")
def act(tracking: str):
    lang = page_language()
    code_id = _acting_code(tracking, verified=True)
    if code_id is None:
        return redirect(url_for("citizen_voice.track_form", lang=lang), code=303)
    action = request.form.get("action", "")[:SHORT_FIELD]
    text = request.form.get("text", "").strip()[:TEXT_MAX + 1]
    rating_text = normalize_digits(request.form.get("rating", "").strip()[:2])
    errors: dict[str, str] = {}
    messages = _messages(lang)
    if action == "citizen_reply" and not text:
        errors["text"] = messages["reply_missing"]
    elif action == "citizen_reply" and len(text) > TEXT_MAX:
        errors["text"] = messages["reply_long"]
    rating = int(rating_text) if rating_text.isdigit() else None
    if action == "rate" and rating not in range(1, 6):
        errors["rating"] = messages["rating_missing"]
    if not errors:
        try:
            _core().voice.citizens.act(
                code_id, tracking[:SHORT_FIELD], action,
                form_key=request.form.get("key", "")[:64],
                text=text if action == "citizen_reply" else None,
                rating=rating if action == "rate" else None)
        except NotFound:
            session.pop(ACTING, None)
            return redirect(url_for("citizen_voice.track_form", lang=lang), code=303)
        except CoreError as exc:
            errors["actions" if exc.field not in ("text", "rating") else exc.field] = \
                _core_message(exc, lang)
        else:
            return redirect(url_for("citizen_voice.case", tracking=tracking, lang=lang,
                                    done=action), code=303)
    try:
        view = _core().voice.citizens.view(code_id, tracking[:SHORT_FIELD])
    except NotFound:
        return redirect(url_for("citizen_voice.track_form", lang=lang), code=303)
    return _case_page(view, verified=True, errors=errors, status=422,
                      values={"text": text})


def _done(action: str, lang: str) -> str | None:
    _ = gettext_for(lang)
    return {"citizen_reply": _("Your reply was sent to the agency."),
            "rate": _("Thank you: your rating was recorded."),
            "reopen": _("Your case was reopened."),
            "withdraw": _("Your case was withdrawn.")}.get(action)


# --- rendering -------------------------------------------------------------------------


@dataclass(frozen=True)
class Dated:
    iso: str
    text: str


@dataclass(frozen=True)
class ShownStep:
    words: str
    text: str | None
    rating: int | None
    at: Dated


def _dated(moment: datetime | None, lang: str) -> Dated | None:
    return None if moment is None else _day(moment, lang)


def _day(moment: datetime, lang: str) -> Dated:
    day = local_date(moment, _core().config.tz)
    return Dated(day.isoformat(), format_date_long(day, lang).replace(" AH", "\u00a0AH"))


def _case_page(view: CitizenView, *, verified: bool, mobile: str = "",
               notice: str | None = None, errors: dict[str, str] | None = None,
               values: dict[str, str] | None = None, status: int = 200) -> Response:
    lang = page_language()
    history = [ShownStep(plain(step, view.type, lang), step.text, step.rating,
                         _day(step.at, lang)) for step in view.history]
    may_act = view.may_reply or view.may_rate or view.may_reopen or view.may_withdraw
    return render_page("voice_portal_case.html", status=status, view=view,
                       state=state_words(view.state, lang), history=history,
                       received=_dated(view.received_at, lang),
                       answer_due=_dated(view.answer_due, lang),
                       reopen_until=Dated(view.reopen_until.isoformat(), format_date_long(
                           view.reopen_until, lang)) if view.reopen_until else None,
                       verified=verified, may_act=may_act, mobile=mobile, notice=notice,
                       errors=errors or {}, values=values or {},
                       form_key=secrets.token_urlsafe(16))


def _code_page(sent: Sent, endpoint: str, errors: dict[str, str], *, resent: bool = False,
               status: int = 200, tracking: str | None = None) -> Response:
    return render_page("voice_portal_code.html", status=status, errors=errors, resent=resent,
                       masked=mask_mobile(sent.mobile), endpoint=endpoint, tracking=tracking,
                       expires=sent.expires_at, minutes=5)


def _code_again(code_id: int, endpoint: str, code: str, *, status: int = 422,
                tracking: str | None = None) -> Response:
    """The code page again with what was wrong; when the code died meanwhile, start
    again."""
    lang = page_language()
    citizens = _core().voice.citizens if endpoint == "citizen_voice.case_code" \
        else _core().voice.drafts
    sent = citizens.waiting(code_id)
    if sent is None:
        session.pop(FILING if endpoint == "citizen_voice.confirm" else ACTING, None)
        return _message("code_dead", status=410)
    message = _messages(lang).get(code, _messages(lang)["refused"])
    return _code_page(sent, endpoint, {"code": message}, status=status, tracking=tracking)


def _not_found() -> Response:
    """"No such case" and "not yours": one page that echoes nothing typed."""
    return render_page("voice_portal_not_found.html", status=404)


def _refusal(exc: TooMany, lang: str) -> Response:
    response = _message(exc.code, status=429, text=_core_message(exc, lang))
    return with_retry_after(response, exc)


def _message(kind: str, *, status: int, text: str | None = None) -> Response:
    lang = page_language()
    return render_page("voice_portal_message.html", status=status, kind=kind,
                       text=text or _messages(lang).get(kind, _messages(lang)["refused"]))


@voice_portal.errorhandler(CSRFError)
def _csrf_failed(_exc: CSRFError):
    _ = gettext_for(page_language())
    return _message("expired", status=400, text=_(
        "For your security, the form expired before it was sent. Please start again."))
