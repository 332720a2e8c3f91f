"""The phone simulator: staff type a message as a mobile number and see the short code's reply.

For demos and training. The typed message takes the SMS path's own reply function
(``channels.sms.inquiry.sms_reply``: the reply language from the text, the inquiry with the
sender's mobile as the credential, the rate limits and answers budget, the rendered
SMS) but not SMPP, the inbound store or the outbox: nothing is sent. The inquiry is
logged and counted under channel "simulator", and its failures and answers are counted
apart from real SMS (``SmsLimits.apart``): a trainee typing a citizen's number never
uses up that mobile's limits on the short code.

Staff sign in once with a ``staff`` API token; the session keeps the token's id and
name, never the token, and every request checks that the token is still active.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError

from channels.sms.encoding import is_gsm7, segment_count
from channels.sms.inquiry import SmsLimits, sms_reply
from core.identity.phones import InvalidMobile, normalize_mobile
from core.platform.i18n import gettext_for
from core.service import Core
from gateway.portal import check_csrf, page_language
from gateway.staff import STAFF_ROLE, current_staff, sign_in, sign_out, to_login

simulator = Blueprint("simulator", __name__, url_prefix="/simulator")

CHANNEL = "simulator"
MAX_MOBILE_CHARS = 30
# A long MO is a few concatenated parts; more than this is not a real inquiry.
MAX_MESSAGE_CHARS = 480


@dataclass(frozen=True)
class SimulatedReply:
    """The SMS the short code would send back, and what it would cost."""

    text: str
    language: str
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int


def simulate(core: Core, mobile: str, text: str,
             limits: SmsLimits | None = None) -> SimulatedReply:
    """Answer ``text`` from ``mobile`` (E.164) as the short code would, without sending;
    counted against ``limits`` (the simulator's own, never the short code's). A reply
    the short code would not send (the number's answers budget spent) is empty."""
    reply = sms_reply(core, mobile, text, channel=CHANNEL,
                      limits=limits or SmsLimits.apart(core))
    body = reply.body or ""
    return SimulatedReply(text=body, language=reply.language,
                          encoding="GSM-7" if is_gsm7(body) else "UCS-2",
                          segments=segment_count(body) if body else 0)


def _limits(core: Core) -> SmsLimits:
    """The simulator's limits, one set per app (apart from the short code's)."""
    limits = current_app.extensions.get("simulator_limits")
    if limits is None:
        limits = current_app.extensions["simulator_limits"] = SmsLimits.apart(core)
    return limits


def parse_mobile(text: str, region: str) -> str:
    """The typed number in E.164; as SMSCs do, digits without '+' may be international."""
    try:
        return normalize_mobile(text, region)
    except InvalidMobile as first:
        try:
            return normalize_mobile("+" + text.strip(), region)
        except InvalidMobile:
            raise first from None


def _messages(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {
        "token_missing": _("Paste your staff API token."),
        "token_refused": _("This token cannot open the simulator: use an active staff "
                           "token."),
        "mobile_missing": _("Enter the mobile number the message is sent from."),
        "mobile_invalid": _("Enter a valid mobile number, for example 0551234567."),
        "mobile_not_mobile": _("This number is not a mobile number."),
        "message_missing": _("Type the message to send."),
        "expired": _("The form expired before it was sent. Please try again."),
    }


# --- who is signed in ----------------------------------------------------------------


def _staff() -> dict | None:
    """The signed-in staff member (token id and name), while their token is active."""
    return current_staff()


def _to_login() -> Response:
    return to_login()


simulator.before_request(check_csrf)


@simulator.errorhandler(CSRFError)
def _csrf_failed(_exc: CSRFError):
    notice = _messages(page_language())["expired"]
    staff = _staff()
    if staff is None:
        return _page("simulator_login.html", status=400, errors={}, notice=notice)
    return _page("simulator.html", status=400, staff=staff, values={}, errors={},
                 reply=None, notice=notice)


# --- sign in and out -----------------------------------------------------------------


@simulator.get("/login")
def login_form():
    if _staff() is not None:
        return redirect(url_for("simulator.form", lang=page_language()), code=303)
    return _page("simulator_login.html", errors={})


@simulator.post("/login")
def login():
    lang = page_language()
    token = request.form.get("token", "").strip()
    if not token:
        return _page("simulator_login.html", status=422,
                     errors={"token": _messages(lang)["token_missing"]})
    principal = current_app.extensions["core"].tokens.verify(token)
    if principal is None or principal.role != STAFF_ROLE:
        return _page("simulator_login.html", status=403,
                     errors={"token": _messages(lang)["token_refused"]})
    sign_in(principal.token_id, principal.name)
    current_app.logger.info("simulator: staff token %s signed in", principal.token_id)
    return redirect(url_for("simulator.form", lang=lang), code=303)


@simulator.post("/logout")
def logout():
    sign_out()
    return _to_login()


# --- the phone -----------------------------------------------------------------------


@simulator.get("")
def form():
    staff = _staff()
    if staff is None:
        return _to_login()
    return _page("simulator.html", staff=staff, values={}, errors={}, reply=None)


@simulator.post("")
def send():
    staff = _staff()
    if staff is None:
        return _to_login()
    core = current_app.extensions["core"]
    messages = _messages(page_language())
    mobile_text = request.form.get("mobile", "").strip()[:MAX_MOBILE_CHARS]
    message = request.form.get("message", "")[:MAX_MESSAGE_CHARS]
    errors: dict[str, str] = {}
    mobile = None
    if not mobile_text:
        errors["mobile"] = messages["mobile_missing"]
    else:
        try:
            mobile = parse_mobile(mobile_text, core.config.locale.phone_region)
        except InvalidMobile as exc:
            errors["mobile"] = messages.get(exc.code, messages["mobile_invalid"])
    if not message.strip():
        errors["message"] = messages["message_missing"]
    values = {"mobile": mobile_text, "message": message}
    if errors or mobile is None:
        return _page("simulator.html", status=422, staff=staff, values=values,
                     errors=errors, reply=None)
    reply = simulate(core, mobile, message, _limits(core))
    return _page("simulator.html", staff=staff, values=values, errors={}, reply=reply,
                 sender=mobile)


def _page(template: str, status: int = 200, **context) -> Response:
    response = current_app.make_response(render_template(template, **context))
    response.status_code = status
    return response
