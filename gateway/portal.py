"""The citizen web portal: one inquiry form and its answer, Arabic first, no JavaScript.

An adapter like the other channels: the form becomes an ``InquiryRequest``, the core
answers, and the templates render the answer with ``core.render``'s labels and
``core.dates``' Hijri and Gregorian dates. "No such number" and "not yours" are one
outcome in the core and one byte-identical page here: it echoes nothing that was typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from core.calendar.dates import format_date_long, local_date
from core.identity.digits import extract_transaction_number
from core.identity.national_id import InvalidNationalId, validate_national_id
from core.platform.errors import TooMany
from core.platform.i18n import DEFAULT_LANGUAGE, gettext_for, ngettext_for, pick_language
from core.transactions.answer import Answer, Outcome, TransactionView
from core.transactions.inquiry import InquiryRequest
from core.transactions.render import (
    days_waiting_text,
    not_found_text,
    rate_limited_text,
    stage_label,
    status_label,
)
from core.voice.cases import TEXT_MAX

# The stylesheet and icon live in gateway/static and are served by this blueprint, so
# they carry the portal's security headers too.
portal = Blueprint("portal", __name__, static_folder="static", static_url_path="/assets")

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

# Responses that carry no personal data and set their own caching (assets, IVR prompts,
# the public transparency page).
CACHEABLE_ENDPOINTS = frozenset({"portal.static", "ivr.audio", "transparency.page"})

# Longest text a field may carry to the core; a real entry is a few dozen characters.
MAX_FIELD_CHARS = 100


# --- language ------------------------------------------------------------------------


def page_language() -> str:
    """The page language: the form's hidden field, then ``?lang=``, then the default."""
    if "lang" not in g:
        try:
            chosen = request.form.get("lang") if request.method == "POST" else None
        except HTTPException:  # a body too large to parse: fall back to the query string
            chosen = None
        g.lang = pick_language(chosen or request.args.get("lang"),
                               current_app.extensions["core"].config.locale.default_language)
    return g.lang


def _template_language() -> str:
    return page_language() if has_request_context() else DEFAULT_LANGUAGE


def template_gettext(message: str) -> str:
    """Jinja's ``_()``/``gettext()``: the catalog of the current request's language."""
    return gettext_for(_template_language())(message)


def template_ngettext(singular: str, plural: str, n: int) -> str:
    """Jinja's ``ngettext()``: Arabic's six plural forms come from the catalog."""
    return ngettext_for(_template_language())(singular, plural, n)


# App-wide: the error pages for URLs outside any blueprint render these templates too.
@portal.app_context_processor
def _page_context() -> dict:
    lang = page_language()
    other = "en" if lang == "ar" else "ar"
    core = current_app.extensions["core"]
    return {
        "lang": lang,
        "direction": "rtl" if lang == "ar" else "ltr",
        "other_lang": other,
        "other_lang_name": "English" if other == "en" else "العربية",
        "short_code": core.config.sms.short_code,
        "toll_free": current_app.config["SETTINGS"].ivr.toll_free_number,
    }


# --- the form and its answer -----------------------------------------------------------


@dataclass(frozen=True)
class Dated:
    """A date as the page shows it: Hijri with the Gregorian beside it, and ISO for <time>."""

    iso: str
    text: str


@dataclass(frozen=True)
class TimelineEntry:
    type: str
    label: str
    date: Dated


def _field_messages(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {
        "number_missing": _("Enter the transaction number."),
        "number_invalid": _("Enter the transaction number in digits only, as written on "
                            "your receipt."),
        "national_id_missing": _("Enter the national ID or Iqama number."),
        "national_id_format": _("The national ID or Iqama number must contain digits "
                                "only."),
        "national_id_length": _("The national ID or Iqama number must be 10 digits."),
        "national_id_prefix": _("A national ID number starts with 1 and an Iqama number "
                                "with 2."),
        "national_id_checksum": _("Check the national ID or Iqama number: it is not "
                                  "valid."),
    }


@portal.get("/")
def form():
    return _page("portal_form.html", values={}, errors={})


@portal.get("/inquiry")
def inquiry_get():
    # A refreshed or bookmarked answer page: start again at the form.
    return redirect(url_for("portal.form", lang=page_language()), code=303)


@portal.post("/inquiry")
def inquiry():
    lang = page_language()
    number, national_id = _field("number"), _field("national_id")
    errors: dict[str, str] = {}
    if not national_id:
        errors["national_id"] = "national_id_missing"
    else:
        try:
            national_id = validate_national_id(national_id)
        except InvalidNationalId as exc:
            errors["national_id"] = exc.code
    if not number:
        errors["number"] = "number_missing"
    elif errors and extract_transaction_number(number) is None:
        # The core is not asked while the ID is wrong: say now if the number is wrong too.
        errors["number"] = "number_invalid"
    if not errors:
        answer = current_app.extensions["core"].inquire(InquiryRequest(
            channel="web", number_text=number, national_id=national_id, lang=lang,
            origin=request.remote_addr))
        if answer.outcome is Outcome.INVALID:
            errors["number"] = "number_invalid"
        elif answer.id_mistyped:
            errors["national_id"] = "national_id_checksum"  # said on the field itself
        else:
            return _answer_page(answer, lang, national_id)
    messages = _field_messages(lang)
    shown = {name: messages[errors[name]] for name in ("number", "national_id")
             if name in errors}
    values = {"number": number, "national_id": national_id}
    return _page("portal_form.html", values=values, errors=shown), 422


def _field(name: str) -> str:
    return request.form.get(name, "").strip()[:MAX_FIELD_CHARS]


def _answer_page(answer: Answer, lang: str, national_id: str):
    if answer.outcome is Outcome.RATE_LIMITED:
        response = _message_page(429, "rate_limited", rate_limited_text(lang))
        window = current_app.extensions["core"].config.inquiry.failure_window_seconds
        response.headers["Retry-After"] = str(window)
        return response
    if answer.transaction is None:
        # Deliberately nothing from the request on this page (see the module docstring).
        return _page("portal_not_found.html", message=not_found_text(lang))
    return _page("portal_answer.html", **_answer_context(answer.transaction, lang),
                 **_ask_context(answer.transaction, national_id))


def _ask_context(view: TransactionView, national_id: str) -> dict:
    """The "ask about this transaction" form (``gateway.voice_portal.ask``), when the
    Citizen's Voice is on: it carries back the number and the national ID just proven."""
    core = current_app.extensions["core"]
    if not core.config.voice.enabled:
        return {"ask": None}
    return {"ask": {"number": view.number, "national_id": national_id, "question": "",
                    "mobile": ""}, "errors": {}, "text_max": TEXT_MAX}


def _answer_context(view: TransactionView, lang: str) -> dict:
    tz = current_app.extensions["core"].config.tz

    def dated(moment: datetime | None) -> Dated | None:
        if moment is None:
            return None
        day = local_date(moment, tz)
        # A no-break space keeps the era with its year when a narrow column wraps the date.
        text = format_date_long(day, lang).replace(" AH", "\u00a0AH")
        return Dated(iso=day.isoformat(), text=text)

    days = view.days_awaiting_reply(local_date(datetime.now(tz), tz), tz)
    waiting = days_waiting_text(days, lang) if days is not None else None
    return {
        "view": view,
        "status": status_label(view, lang),
        "department": view.department.in_(lang) if view.department else None,
        "agency": view.destination_agency.in_(lang) if view.destination_agency else None,
        "registered": dated(view.registered_at),
        "issued": dated(view.issued_at),
        "waiting": waiting,
        "timeline": [TimelineEntry(stage.type, stage_label(stage, lang),
                                   dated(stage.occurred_at))
                     for stage in view.timeline],
    }


# --- errors: friendly pages in the user's language, never a bare 400 -------------------


def check_csrf() -> None:
    """Every form POST carries its CSRF token (app-wide checking is off: see app.py)."""
    if request.method == "POST":
        current_app.extensions["csrf"].protect()


portal.before_request(check_csrf)


@portal.errorhandler(CSRFError)
def _csrf_failed(_exc: CSRFError):
    return _message_page(400, "expired")


@portal.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return error_page(exc)


def error_page(exc: HTTPException):
    """A 4xx as a page in the citizen's language (the whole site's, not only the portal's)."""
    if exc.code is None or exc.code < 400 or exc.code >= 500:
        return exc
    response = _message_page(exc.code, "missing" if exc.code == 404 else "bad_request")
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def unavailable_page():
    return _message_page(500, "unavailable")


@portal.errorhandler(Exception)
def _unexpected(exc: Exception):
    # Logged with its traceback; the citizen sees a calm page in their language.
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return unavailable_page()


def _message_page(status: int, kind: str, text: str | None = None) -> Response:
    response = current_app.make_response(
        render_template("portal_message.html", kind=kind, text=text))
    response.status_code = status
    return response


def _page(template: str, **context) -> Response:
    return current_app.make_response(render_template(template, **context))


def render_page(template: str, *, status: int = 200, **context) -> Response:
    """A template as a response with its status: the citizen pages' one way to answer."""
    response = current_app.make_response(render_template(template, **context))
    response.status_code = status
    return response


def with_retry_after(response: Response, exc: TooMany) -> Response:
    """A refused-for-now page says when to come back, as the JSON API does."""
    if exc.retry_after:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@portal.after_app_request
def _headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if request.endpoint not in CACHEABLE_ENDPOINTS:
        # Answers carry personal data; forms carry a per-session CSRF token.
        response.headers["Cache-Control"] = "no-store"
    return response
