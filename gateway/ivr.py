"""Twilio's webhooks for the toll-free line, under ``/ivr/``.

``POST /ivr/voice`` is the number's "A call comes in" webhook; the menus answer at
``/ivr/input/<menu>``, the agent transfer at ``/ivr/dial``, a voice message (<Record>) at
``/ivr/recorded``, and ``/ivr/status`` is the call's status callback (the end of the
call and its duration, for the call log). Each checks ``X-Twilio-Signature`` against
``gateway.public_url`` and the path: the URL Twilio called, not the one a proxy passed
on. ``GET /ivr/audio/<file>`` serves the rendered prompts to Twilio's <Play> (and the
call simulator) without a signature.

A fault on our side (the database down, an error in the inquiry service) never reaches
Twilio as a 500, which it would answer with its own "application error" message: the
caller hears an apology and where else to get the status, in valid TwiML, and the line
hangs up. The log names a database error by its types and statement only: its message,
like PostgreSQL's ``DETAIL: Key (...)=(...)``, and its parameters can hold a caller's
number.

The caller ID (``From``) is whatever the calling network put there, forged as easily as
an e-mail's From: the line takes it for the caller only when Twilio's SHAKEN/STIR check
says the originating carrier vouched for it in full (``StirVerstat`` is
``TN-Validation-Passed-A`` on the call's first webhook), or when ``ivr.trust_caller_id``.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from urllib.parse import urlparse

from flask import Blueprint, Response, abort, current_app, request, send_from_directory
from twilio.request_validator import RequestValidator, add_port, remove_port
from werkzeug.exceptions import HTTPException

from channels.ivr.audio import NAME, AudioLibrary, audio_dir
from channels.ivr.cases import CoreVoice
from channels.ivr.flow import NODES, Recording
from channels.ivr.line import Line
from channels.ivr.metrics import FAULTS, REJECTED
from channels.ivr.twiml import TwimlRenderer
from core.platform.faults import DatabaseFaults
from core.service import Core
from gateway.settings import Settings

log = logging.getLogger(__name__)

ivr = Blueprint("ivr", __name__, url_prefix="/ivr")

TWIML = "text/xml; charset=utf-8"
# A year: the file name changes whenever its content would.
AUDIO_MAX_AGE = 365 * 24 * 3600
MAX_PARAM_CHARS = 128
# A recording's URL at Twilio (about 125 characters); a longer one is not Twilio's.
MAX_URL_CHARS = 512
# Twilio's verdict on a call whose originating carrier signed the caller ID with full
# attestation (it knows the caller and their right to the number), and verified it.
# B ("partial"), C ("gateway") and the failures vouch for nothing.
FULL_ATTESTATION = "TN-Validation-Passed-A"


class IvrWebhooks:
    """What the blueprint needs, built once per app: the line and the TwiML renderer."""

    def __init__(self, core: Core, settings: Settings) -> None:
        public_url = settings.gateway.public_url.rstrip("/")
        self.settings = settings
        self.line = Line.build(core, settings, channel="ivr", voice=CoreVoice(core.voice))
        self.audio = AudioLibrary(audio_dir(settings), settings.ivr.voice, public_url)
        self.twiml = TwimlRenderer(settings.ivr.voice, self.audio, public_url,
                                   settings.ivr.input_timeout_seconds)
        # The apology when even rendering it fails: made now, spoken by <Say>, in both
        # languages (the call's is not known then).
        self.fault_twiml = TwimlRenderer(settings.ivr.voice, None, public_url,
                                         settings.ivr.input_timeout_seconds
                                         ).render(self.line.fault(None))
        self.public_url = public_url
        # What the database failing looks like, and how to log it without quoting it.
        self.database_faults: DatabaseFaults = core.faults
        self.enabled = settings.ivr.enabled
        self.check_signatures = settings.ivr.twilio.validate_signatures \
            or not _loopback(public_url)
        if not settings.ivr.twilio.validate_signatures:
            log.warning("ivr: ivr.twilio.validate_signatures is false: %s", "webhooks are not "
                        "checked (a local trial)" if not self.check_signatures else
                        "ignored, gateway.public_url is not a loopback address")
        self.validator = RequestValidator(settings.ivr.twilio.auth_token) \
            if settings.ivr.twilio.auth_token else None
        # What RequestValidator.validate tries for every request, worked out once: the
        # public URL without and with its port (Twilio signs either form).
        parsed = urlparse(public_url)
        self.signed_bases = tuple(dict.fromkeys((remove_port(parsed), add_port(parsed))))

    def signed_by_twilio(self, path_and_query: str, form, signature: str) -> bool:
        """RequestValidator.validate's check for a form post, stopping at the first match."""
        if self.validator is None or not signature:
            return False
        for base in self.signed_bases:
            expected = self.validator.compute_signature(base + path_and_query, form)
            if hmac.compare_digest(expected.encode(), signature.encode()):
                return True
        return False


def _loopback(url: str) -> bool:
    """Whether ``url`` names this machine: the only place a trial without signatures is
    allowed (a public URL means Twilio, or anyone, can reach the webhooks)."""
    host = (urlparse(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def install(app, core: Core, settings: Settings) -> None:
    app.extensions["ivr"] = IvrWebhooks(core, settings)
    app.register_blueprint(ivr)


def _hooks() -> IvrWebhooks:
    return current_app.extensions["ivr"]


def _path_and_query() -> str:
    """What Twilio requested after the public URL: this path and the query string."""
    query = request.query_string.decode("latin-1")
    return request.path + (f"?{query}" if query else "")


@ivr.before_request
def _check_signature():
    if request.endpoint == "ivr.audio":
        return None
    hooks = _hooks()
    if not hooks.enabled:
        return Response("the IVR is turned off (ivr.enabled)\n", status=404,
                        mimetype="text/plain")
    if not hooks.check_signatures:
        return None
    if hooks.validator is None:
        log.warning("ivr: refused a webhook: ivr.twilio.auth_token is not set")
    elif hooks.signed_by_twilio(_path_and_query(), request.form,
                                request.headers.get("X-Twilio-Signature", "")):
        return None
    REJECTED.inc()
    return Response("forbidden: not signed by Twilio\n", status=403, mimetype="text/plain")


@ivr.errorhandler(Exception)
def _fault(exc: Exception):
    if isinstance(exc, HTTPException):
        return exc.get_response()  # a 400 or 404 of our own making, as it was
    FAULTS.inc()
    hooks = _hooks()
    try:
        sid = (_param("CallSid") or "").strip() or None
    except Exception:  # a body that cannot be read: no call to name
        sid = None
    _log_fault(hooks, exc, "ivr: %s failed for call %s (%s); the caller hears an apology",
               request.path, sid)
    if request.endpoint == "ivr.audio":
        return Response("the prompt could not be served\n", status=500,
                        mimetype="text/plain")
    try:
        # The database itself failed: asking it for the call's language would only make
        # Twilio (and the caller) wait for it again.
        body = hooks.twiml.render(hooks.line.fault(
            sid, look_up=not isinstance(exc, hooks.database_faults.failed)))
    except Exception as failed:
        _log_fault(hooks, failed, "ivr: the apology could not be rendered (%s); the fixed "
                                  "one is said")
        body = hooks.fault_twiml
    return Response(body, mimetype="text/xml", content_type=TWIML)


def _log_fault(hooks: IvrWebhooks, exc: BaseException, message: str, *args) -> None:
    """Log ``message`` (its last ``%s`` says what failed) with ``exc``'s traceback; a
    database error (or one raised while handling it) by its types and statement alone,
    never its message, parameters or traceback, where a caller's number or ID would be."""
    faults = hooks.database_faults
    database = faults.find(exc)
    if database is None:
        log.error(message, *args, type(exc).__name__, exc_info=exc)
    else:
        log.error(message, *args, faults.describe(exc, database))


def _param(name: str) -> str | None:
    value = request.form.get(name)
    return value[:MAX_PARAM_CHARS] if value is not None else None


def _call_sid() -> str:
    sid = (_param("CallSid") or "").strip()
    if not sid:
        abort(Response("CallSid is required\n", status=400, mimetype="text/plain"))
    return sid


def _twiml(actions) -> Response:
    return Response(_hooks().twiml.render(actions), mimetype="text/xml",
                    content_type=TWIML)


def _attested() -> bool:
    """Whether the network vouched for this call's caller ID (read on its first webhook)."""
    return _param("StirVerstat") == FULL_ATTESTATION


@ivr.post("/voice")
def voice():
    return _twiml(_hooks().line.call_started(_call_sid(), _param("From"), _attested()))


@ivr.post("/input/<node>")
def keys(node: str):
    line = _hooks().line
    sid = _call_sid()
    if node not in NODES:
        call = line.call(sid)
        node = call.node if call else ""
    return _twiml(line.keys(sid, node, request.form.get("Digits", "")[:MAX_PARAM_CHARS],
                            _param("From"), _attested()))


@ivr.post("/dial")
def dial():
    return _twiml(_hooks().line.dial_ended(_call_sid(), _param("DialCallStatus"),
                                           _param("From"), _attested()))


@ivr.post("/recorded")
def recorded():
    """<Record>'s action (a voice message, or none: the <Redirect> after it)."""
    reply_to = request.args.get("reply_to", "")[:MAX_PARAM_CHARS] or None
    return _twiml(_hooks().line.recorded(_call_sid(), _recording(), _param("From"),
                                         _attested(), reply_to))


def _recording() -> Recording | None:
    """The voice message Twilio reports, if any: its URL (https, at most MAX_URL_CHARS),
    its length in seconds (at most 24 hours' worth of digits), its id."""
    url = (request.form.get("RecordingUrl") or "").strip()
    duration = (_param("RecordingDuration") or "").strip()
    if not url or len(url) > MAX_URL_CHARS or not url.startswith(("https://", "http://")):
        return None
    if not (duration.isascii() and duration.isdigit() and len(duration) <= 5):
        return None
    return Recording(url=url, seconds=int(duration), sid=_param("RecordingSid"))


@ivr.post("/status")
def status():
    if _param("CallStatus") in ("completed", "busy", "failed", "no-answer", "canceled"):
        duration = _param("CallDuration") or ""
        seconds = int(duration) if duration.isascii() and duration.isdigit() \
            and len(duration) <= 7 else None
        _hooks().line.hung_up(_call_sid(), seconds)
    return Response(status=204)


@ivr.get("/audio/<name>")
def audio(name: str):
    if not NAME.fullmatch(name):
        abort(404)
    response = send_from_directory(_hooks().audio.directory, name, mimetype="audio/wav",
                                   max_age=AUDIO_MAX_AGE, conditional=True)
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response
