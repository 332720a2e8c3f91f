"""``/my-transactions/``: every transaction under the citizen's national ID, and their
Citizen's Voice cases, on the portal. Arabic first, no script, CSRF on every form.

The national ID (digits of any script) asks for a code; the page always says the same
("if this ID has transactions, a code was sent to the mobile registered on them"), and
the core does the same work either way (``core.transactions.mine``). Between the steps
the signed session cookie holds the ID's keyed hash, never the ID. The right code's row
id is the proof; the core keeps what it proves and for how long
(``mine.PROOF_LIFETIME``); the page signs out sooner, after ``IDLE`` without a request,
and at once with its "sign out" button.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

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

from core.calendar.dates import format_date, local_date
from core.identity.phones import mask_mobile
from core.platform.errors import CoreError, InvalidRequest, TooMany
from core.platform.i18n import gettext_for
from core.transactions import render
from core.transactions.mine import MyList
from core.voice.citizen_cases import state_words
from gateway.portal import (
    check_csrf,
    page_language,
    render_page,
    with_retry_after,
)

my_portal = Blueprint("my_transactions", __name__, url_prefix="/my-transactions")
my_portal.before_request(check_csrf)

# Session keys: the ID's hash waiting for its code; [the proving code's id, last seen].
PENDING, SIGNED_IN = "mine_pending", "mine_signed_in"
IDLE = 10 * 60  # seconds without a request before the page signs out
SHORT_FIELD = 40


@my_portal.context_processor
def _lang_switch() -> dict:
    """The language link stays on this step (a form's answer: the first page)."""
    other = "en" if page_language() == "ar" else "ar"
    if request.method == "GET" and request.endpoint:
        return {"lang_switch_url": url_for(request.endpoint, lang=other)}
    return {"lang_switch_url": url_for("my_transactions.start", lang=other)}


def _core():
    return current_app.extensions["core"]


def _origin() -> str | None:
    return request.remote_addr


def _messages(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {
        "id_missing": _("Enter your national ID or Iqama number."),
        "id_invalid": _("Enter the 10 digits of your national ID or Iqama number, "
                        "starting with 1 or 2."),
        "code_missing": _("Enter the 6-digit code from the text message."),
        "wrong_code": _("The code is not right or has expired. Check the text message, "
                        "or ask for a new code."),
        "too_many_codes": _("For your protection, this is paused for a while after many "
                            "attempts. Please try again in an hour."),
        "signed_out": _("You were signed out. Enter your national ID to see your "
                        "transactions again."),
    }


# --- the national ID -----------------------------------------------------------------


@my_portal.get("/")
def start():
    if _signed_in() is not None:
        return redirect(url_for("my_transactions.listing", lang=page_language()), code=303)
    notice = _messages(page_language())["signed_out"] if request.args.get("out") else None
    return render_page("my_portal_start.html", errors={}, values={}, notice=notice)


@my_portal.post("/")
def ask_code():
    lang = page_language()
    messages = _messages(lang)
    typed = request.form.get("national_id", "").strip()[:SHORT_FIELD]
    if not typed:
        return render_page("my_portal_start.html", status=422, values={"national_id": typed},
                           errors={"national_id": messages["id_missing"]}, notice=None)
    try:
        asked = _core().mine.request_code(typed, origin=_origin())
    except TooMany as exc:
        return _refusal(exc, lang)
    except InvalidRequest:
        return render_page("my_portal_start.html", status=422, values={"national_id": typed},
                           errors={"national_id": messages["id_invalid"]}, notice=None)
    session.pop(SIGNED_IN, None)
    session[PENDING] = asked.subject
    return redirect(url_for("my_transactions.code_form", lang=lang), code=303)


# --- the code ------------------------------------------------------------------------


@my_portal.get("/code")
def code_form():
    if not isinstance(session.get(PENDING), str):
        return redirect(url_for("my_transactions.start", lang=page_language()), code=303)
    return render_page("my_portal_code.html", errors={})


@my_portal.post("/code")
def code():
    lang = page_language()
    subject = session.get(PENDING)
    if not isinstance(subject, str):
        return redirect(url_for("my_transactions.start", lang=lang), code=303)
    typed = request.form.get("code", "").strip()[:SHORT_FIELD]
    if not typed:
        return render_page("my_portal_code.html", status=422,
                           errors={"code": _messages(lang)["code_missing"]})
    try:
        code_id = _core().mine.verify(subject, typed, origin=_origin())
    except TooMany as exc:
        return _refusal(exc, lang)
    except CoreError:
        return render_page("my_portal_code.html", status=422,
                           errors={"code": _messages(lang)["wrong_code"]})
    session.pop(PENDING, None)
    session[SIGNED_IN] = [code_id, int(time.time())]
    return redirect(url_for("my_transactions.listing", lang=lang), code=303)


# --- the list ------------------------------------------------------------------------


@my_portal.get("/list")
def listing():
    lang = page_language()
    code_id = _signed_in()
    if code_id is None:
        return _signed_out(lang)
    try:
        mine = _core().mine.listing(code_id)
    except CoreError:
        return _signed_out(lang)
    session[SIGNED_IN] = [code_id, int(time.time())]
    response = render_page("my_portal_list.html", **_shown(mine, lang), idle_minutes=IDLE // 60)
    response.headers["Cache-Control"] = "no-store"
    return response


@my_portal.post("/sign-out")
def sign_out():
    session.pop(SIGNED_IN, None)
    session.pop(PENDING, None)
    return redirect(url_for("my_transactions.start", lang=page_language(), out=1), code=303)


def _signed_in() -> int | None:
    """The proving code's id, when the session holds one seen within ``IDLE``."""
    held = session.get(SIGNED_IN)
    if not (isinstance(held, list) and len(held) == 2 and isinstance(held[0], int)
            and isinstance(held[1], int)):
        return None
    if time.time() - held[1] > IDLE:
        session.pop(SIGNED_IN, None)
        return None
    return held[0]


def _signed_out(lang: str):
    session.pop(SIGNED_IN, None)
    return redirect(url_for("my_transactions.start", lang=lang, out=1), code=303)


# --- rendering -----------------------------------------------------------------------


@dataclass(frozen=True)
class ShownTransaction:
    number: str
    subject: str
    stage: str
    status: str
    registered: str
    registered_iso: str
    department: str
    outgoing_number: str | None
    agency: str | None


@dataclass(frozen=True)
class ShownCase:
    tracking: str
    type: str
    state: str
    received: str
    received_iso: str


def _shown(mine: MyList, lang: str) -> dict:
    tz = _core().config.tz
    _ = gettext_for(lang)
    types = {"complaint": _("Complaint"), "suggestion": _("Suggestion"),
             "enquiry": _("Enquiry")}
    transactions = []
    for line in mine.transactions:
        day = local_date(line.registered_at, tz)
        transactions.append(ShownTransaction(
            number=line.number, subject=line.subject, stage=render.status_label(line.view(), lang),
            status=line.status, registered=format_date(day, lang),
            registered_iso=day.isoformat(),
            department=line.department.in_(lang) if line.department else "",
            outgoing_number=line.outgoing_number,
            agency=line.destination_agency.in_(lang) if line.destination_agency else None))
    cases = []
    for case in mine.cases:
        day = local_date(case.received_at, tz)
        cases.append(ShownCase(case.tracking, types.get(case.type, case.type),
                               state_words(case.state, lang), format_date(day, lang),
                               day.isoformat()))
    return {"transactions": transactions, "more": mine.more, "cases": cases,
            # Isolated left to right: a "+966…" inside Arabic text keeps its order.
            "masked": "\u2066" + mask_mobile(mine.mobile) + "\u2069"}


def _refusal(exc: TooMany, lang: str) -> Response:
    response = render_page("my_portal_message.html", status=429,
                           text=_messages(lang)["too_many_codes"])
    return with_retry_after(response, exc)


@my_portal.errorhandler(CSRFError)
def _csrf_failed(_exc: CSRFError):
    _ = gettext_for(page_language())
    return render_page("my_portal_message.html", status=400, text=_(
              "For your security, the form expired before it was sent. Please start again."))
