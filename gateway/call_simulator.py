"""The call simulator: staff try the toll-free line from a keypad in the browser.

The same ``Line`` as Twilio's webhooks (the same menus, state by call id in ``ivr_calls``,
the same inquiry rules), logged and counted under channel "ivr-sim". Its failures are
counted apart, in an inquiry service of its own (``Core.inquiries_apart``, as the SMS
simulator's ``SmsLimits.apart``): a trainee keying in a real citizen's number and ID never
locks the citizen out of the real line, the portal or SMS. The trainee says whether the
network attested the caller ID (as Twilio's ``StirVerstat`` would); the line follows
``ivr.trust_caller_id`` as on the real line. Each key is a form
post, as a phone sends a tone; the keys of a number collect until # (or the menu's single
key) as Twilio's <Gather> does, and "silence" sends what was keyed so far.

The page speaks as the line does under ``ivr.voice.mode``: in ``say`` mode it shows the
text Twilio's voice would speak; in ``play`` mode the same parts as the TwiML, in order
(the recordings ``gateway prompts render`` made, and the text <Say> fills in where there
is none), and ``call_simulator.js`` (a same-origin script: the gateway's CSP allows no
inline script) plays the step's recordings one after another.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, render_template, request, session

from channels.ivr.audio import AudioLibrary, audio_dir
from channels.ivr.flow import ONE_KEY_MENUS, Action, Gather, Hangup, Speak, Transfer
from channels.ivr.line import Line
from channels.ivr.speech import Sentence
from channels.ivr.twiml import PLAY, spoken_parts
from gateway.portal import check_csrf
from gateway.staff import current_staff, to_login

call_simulator = Blueprint("call_simulator", __name__, url_prefix="/simulator/call")
call_simulator.before_request(check_csrf)

CHANNEL = "ivr-sim"
SESSION_KEY = "ivr_simulator_call"
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#")
MAX_KEYS = 40
MAX_CALLER_CHARS = 30


@dataclass(frozen=True)
class Heard:
    """One sentence of the line: its text, and how the line speaks it (``spoken_parts``:
    recordings to play, text to say) with which voice."""

    lang: str
    text: str
    parts: tuple[tuple[str, str], ...]
    voice: str


def _line() -> Line:
    app = current_app
    if "ivr_simulator" not in app.extensions:
        core = app.extensions["core"]
        # Limits of its own: the same rules, counted apart from the citizens' channels.
        app.extensions["ivr_simulator"] = Line.build(
            core, app.config["SETTINGS"], channel=CHANNEL,
            inquire=core.inquiries_apart().inquire)
    return app.extensions["ivr_simulator"]


def _library() -> AudioLibrary | None:
    """The recordings the line plays, at URLs relative to this page; None in say mode."""
    voice = current_app.config["SETTINGS"].ivr.voice
    if voice.mode != "play":
        return None
    return AudioLibrary(audio_dir(current_app.config["SETTINGS"]), voice, "")


# Digits read one by one ("4 4 7 1"): kept left to right inside an Arabic sentence, where
# the bidi algorithm would otherwise lay each digit out from the right.
_SPACED_DIGITS = re.compile(r"\d(?: \d)+")


def _isolated(text: str) -> str:
    return _SPACED_DIGITS.sub(lambda m: f"\u2066{m.group(0)}\u2069", text)


def _heard(sentences: tuple[Sentence, ...]) -> list[Heard]:
    library = _library()
    voice = current_app.config["SETTINGS"].ivr.voice
    heard = []
    for sentence in sentences:
        parts = tuple((kind, value if kind == PLAY else _isolated(value))
                      for kind, value in spoken_parts(sentence, library))
        name = voice.arabic_voice if sentence.lang == "ar" else voice.english_voice
        heard.append(Heard(sentence.lang, _isolated(sentence.text), parts, name))
    return heard


def _screen(actions: list[Action]) -> dict:
    """The page's view of the line's answer: what was said, and what it waits for."""
    heard: list[Heard] = []
    waiting: Gather | None = None
    transfer: Transfer | None = None
    ended = False
    for action in actions:
        if isinstance(action, Speak):
            heard += _heard(action.sentences)
        elif isinstance(action, Gather):
            heard += _heard(action.prompt)
            waiting = action
        elif isinstance(action, Transfer):
            transfer = action
        elif isinstance(action, Hangup):
            ended = True
    return {"heard": heard, "waiting": waiting, "transfer": transfer, "ended": ended}


def _page(status: int = 200, **context) -> Response:
    context.setdefault("heard", [])
    context.setdefault("keys", KEYS)
    context.setdefault("voice_mode", current_app.config["SETTINGS"].ivr.voice.mode)
    response = current_app.make_response(render_template("call_simulator.html", **context))
    response.status_code = status
    return response


@call_simulator.get("")
def phone():
    staff = current_staff()
    if staff is None:
        return to_login()
    return _page(staff=staff, active=None)


@call_simulator.post("/start")
def start():
    staff = current_staff()
    if staff is None:
        return to_login()
    caller = request.form.get("caller", "").strip()[:MAX_CALLER_CHARS]
    attested = bool(caller) and request.form.get("attested") == "on"
    sid = "SIM" + secrets.token_hex(16)
    session[SESSION_KEY] = {"sid": sid, "caller": caller}
    screen = _screen(_line().call_started(sid, caller or None, attested))
    return _page(staff=staff, active=session[SESSION_KEY], pending="", **screen)


@call_simulator.post("/key")
def key():
    staff = current_staff()
    if staff is None:
        return to_login()
    active = session.get(SESSION_KEY)
    if not isinstance(active, dict) or not isinstance(active.get("sid"), str):
        return _page(status=409, staff=staff, active=None)
    line, sid, caller = _line(), active["sid"], active.get("caller") or None
    call = line.call(sid)
    if call is None or call.ended:
        session.pop(SESSION_KEY, None)
        return _page(staff=staff, active=None, ended=True)
    pressed = request.form.get("key", "")
    pending = request.form.get("pending", "")[:MAX_KEYS]
    single = call.node in ONE_KEY_MENUS
    if pressed == "silence":
        actions = line.keys(sid, call.node, pending, caller)
    elif pressed in ("agent:completed", "agent:busy"):
        actions = line.dial_ended(sid, pressed.split(":")[1], caller)
    elif pressed == "hangup":
        line.hung_up(sid)
        session.pop(SESSION_KEY, None)
        return _page(staff=staff, active=None, ended=True)
    elif pressed in KEYS:
        if pressed == "#" and not single:
            actions = line.keys(sid, call.node, pending, caller)
        elif single or len(pending) + 1 >= MAX_KEYS:
            actions = line.keys(sid, call.node, pending + pressed, caller)
        else:
            return _page(staff=staff, active=active, pending=pending + pressed,
                         waiting=Gather(call.node, ()))
    else:
        actions = line.keys(sid, call.node, pending, caller)
    screen = _screen(actions)
    if screen["ended"]:
        line.hung_up(sid)
        session.pop(SESSION_KEY, None)
    return _page(staff=staff, active=None if screen["ended"] else active, pending="",
                 **screen)
