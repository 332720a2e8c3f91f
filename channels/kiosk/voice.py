"""Citizen's Voice at the kiosk, as plain Python: the steps of filing a case and of
following one, mixed into the kiosk's ``Flow`` (channels/kiosk/flow.py) like its inquiry.

Filing: type (complaint or suggestion) -> agency -> category -> the text, on the kiosk's
own keyboard -> the mobile for the tracking SMS -> confirm -> the tracking number on
screen and on the receipt. Following: tracking number -> mobile -> the case (its state,
the question it waits for, the answer) -> reply, rate, reopen. The pair only reads the
case: before an act is sent the kiosk asks for the code the gateway sends to the case's
own mobile (on the keypad, as "my transactions" does), and the proof the right code
gives serves the rest of the visit.

Every attempt to file (or act) carries an Idempotency-Key drawn when it is first sent
and kept while nothing is changed: when the gateway does not answer, the citizen taps
"send" again and the same key files once. Whatever was typed lives in ``Flow.state``
and goes with the idle wipe, as the inquiry's does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from channels.kiosk.effects import (
    ActOnCase,
    AskCaseCode,
    Effect,
    FileCase,
    LoadCatalogue,
    PrintCaseReceipt,
    ViewCase,
)
from channels.kiosk.state import (
    Acted,
    CaseView,
    Catalogue,
    Draft,
    Refusal,
    Screen,
    State,
)
from core.identity.digits import normalize_digits
from core.identity.phones import InvalidMobile, normalize_mobile
from core.voice.tracking import LENGTH as TRACKING_LENGTH
from core.voice.tracking import parse_tracking

# A screen's worth: the gateway takes up to 4000 characters, a kiosk's keyboard is for
# a few sentences.
TEXT_MAX = 1000
MOBILE_MAX = 14  # 05XXXXXXXX, or 9665XXXXXXXX / 009665XXXXXXXX
CASE_TYPES = ("complaint", "suggestion")
KEYBOARDS = ("ar", "en")
RATINGS = range(1, 6)
CODE_LENGTH = 6
# The gateway's refusals of a code (wrong: type it again; the others: ask for another).
CODE_ENDED = ("code_expired", "code_dead", "proof_expired")
CODE_PAUSED = ("too_many_codes", "code_cooldown")

# One step back from each screen of Citizen's Voice.
BACK = {Screen.VOICE_AGENCY: Screen.VOICE, Screen.VOICE_CATEGORY: Screen.VOICE_AGENCY,
        Screen.VOICE_MOBILE: Screen.VOICE_TEXT, Screen.VOICE_CONFIRM: Screen.VOICE_MOBILE,
        Screen.FOLLOW_TRACKING: Screen.VOICE, Screen.FOLLOW_MOBILE: Screen.FOLLOW_TRACKING,
        Screen.FOLLOW_REPLY: Screen.FOLLOW_CASE}
# The screen a request goes back to when it is refused or the gateway does not answer.
RETURN_TO = {"catalogue": Screen.VOICE, "file": Screen.VOICE_CONFIRM,
             "view": Screen.FOLLOW_MOBILE, "act": Screen.FOLLOW_CASE,
             "case_code": Screen.FOLLOW_CASE}


def new_key() -> str:
    return str(uuid.uuid4())


class VoiceSteps:
    """The Citizen's Voice intents of ``Flow`` (which provides the state and ``_go``)."""

    state: State
    session: int
    can_print: bool
    catalogue: Catalogue | None
    # "My transactions"' answers (channels/kiosk/mine.py's ``MineSteps``, beside this in
    # ``Flow``): declared, not defined, so that they do not hide its methods.
    mine_answered: Callable[[str, object, datetime], list[Effect]]
    mine_unreachable: Callable[[str], list[Effect]]

    def _go(self, screen: Screen, **changes: Any) -> list[Effect]:
        raise NotImplementedError

    def wipe(self) -> list[Effect]:
        raise NotImplementedError

    # --- the home tile and the Citizen's Voice menu -----------------------------------

    def open_voice(self) -> list[Effect]:
        """The home screen's Citizen's Voice tile: a new citizen's menu."""
        if self.state.out_of_service:
            return []
        self.session += 1
        return self._go(Screen.VOICE, draft=Draft(), mobile="", tracking="", case=None,
                        reply_text="", notice="", printed=False, keyboard="", pending="",
                        act_key="", act_sig="", reply=None, case_code="", case_ticket="",
                        case_proof="")

    def choose_type(self, case_type: str) -> list[Effect]:
        if self.state.screen is not Screen.VOICE or case_type not in CASE_TYPES:
            return []
        self._go(Screen.WAITING, draft=Draft(case_type=case_type), pending="catalogue",
                 notice="")
        return [LoadCatalogue()]

    def follow(self) -> list[Effect]:
        if self.state.screen is not Screen.VOICE:
            return []
        return self._go(Screen.FOLLOW_TRACKING, tracking="", mobile="", case=None,
                        notice="", case_code="", case_ticket="", case_proof="")

    # --- agency and category ---------------------------------------------------------

    def choose_agency(self, code: str) -> list[Effect]:
        """An agency's button, or "" for "not sure" (the emirate routes it)."""
        s, catalogue = self.state, self.catalogue
        if s.screen is not Screen.VOICE_AGENCY or catalogue is None:
            return []
        agency = catalogue.agency(code) if code else None
        if code and agency is None:
            return []
        draft = replace(s.draft, agency=code, category="", key="")
        if agency is not None and agency.categories_for(draft.case_type):
            return self._go(Screen.VOICE_CATEGORY, draft=draft, notice="")
        return self._go(Screen.VOICE_TEXT, draft=draft, notice="")

    def choose_category(self, code: str) -> list[Effect]:
        """A category's button, or "" for "something else"."""
        s, catalogue = self.state, self.catalogue
        if s.screen is not Screen.VOICE_CATEGORY or catalogue is None:
            return []
        agency = catalogue.agency(s.draft.agency)
        codes = {c.code for c in agency.categories_for(s.draft.case_type)} if agency else set()
        if code and code not in codes:
            return []
        return self._go(Screen.VOICE_TEXT, draft=replace(s.draft, category=code, key=""),
                        notice="")

    def categories(self) -> tuple:
        """The categories offered for the draft's agency and type."""
        agency = self.catalogue.agency(self.state.draft.agency) if self.catalogue else None
        return agency.categories_for(self.state.draft.case_type) if agency else ()

    # --- the keyboard ----------------------------------------------------------------

    def _text_field(self) -> str | None:
        return {Screen.VOICE_TEXT: "text", Screen.FOLLOW_REPLY: "reply_text"}.get(
            self.state.screen)

    def type_key(self, key: str) -> list[Effect]:
        """One key of the keyboard: a letter, a digit, a sign or a space."""
        name = self._text_field()
        if name is None or len(key) != 1 or not key.isprintable():
            return []
        s = self.state
        value = s.draft.text if name == "text" else s.reply_text
        if len(value) >= TEXT_MAX:
            self.state = replace(s, notice="text_too_long")
            return []
        if key == " " and (not value or value.endswith(" ")):
            return []  # no leading or double spaces: the text is what was meant
        self._set_text(name, value + key)
        return []

    def delete_key(self) -> list[Effect]:
        name = self._text_field()
        if name is not None:
            s = self.state
            value = s.draft.text if name == "text" else s.reply_text
            self._set_text(name, value[:-1])
        return []

    def _set_text(self, name: str, value: str) -> None:
        s = self.state
        if name == "text":
            self.state = replace(s, draft=replace(s.draft, text=value, key=""), notice="")
        else:
            self.state = replace(s, reply_text=value, act_sig="", notice="")

    def switch_keyboard(self) -> list[Effect]:
        """Arabic letters <-> English letters (the digits' page shows the same layout's)."""
        if self._text_field() is None:
            return []
        current = self.state.keyboard or self.state.lang
        self.state = replace(self.state, keyboard="en" if current == "ar" else "ar")
        return []

    def toggle_digits(self) -> list[Effect]:
        if self._text_field() is None:
            return []
        self.state = replace(self.state, keyboard_digits=not self.state.keyboard_digits)
        return []

    # --- "next" on the text, mobile and tracking screens -----------------------------

    def voice_field(self) -> tuple[str, int] | None:
        """The keypad's field on the mobile and tracking screens (``Flow.digit``)."""
        return {Screen.VOICE_MOBILE: ("mobile", MOBILE_MAX),
                Screen.FOLLOW_MOBILE: ("mobile", MOBILE_MAX),
                Screen.FOLLOW_TRACKING: ("tracking", TRACKING_LENGTH),
                Screen.FOLLOW_CODE: ("case_code", CODE_LENGTH)}.get(
            self.state.screen)

    def voice_next(self) -> list[Effect] | None:
        """"Next" on a Citizen's Voice screen; None on any other."""
        s = self.state
        if s.screen is Screen.VOICE_TEXT:
            if not s.draft.text.strip():
                self.state = replace(s, notice="text_empty")
                return []
            return self._go(Screen.VOICE_MOBILE, notice="")
        if s.screen is Screen.VOICE_MOBILE:
            if not valid_mobile(s.mobile):
                self.state = replace(s, notice="mobile_invalid")
                return []
            return self._go(Screen.VOICE_CONFIRM, notice="")
        if s.screen is Screen.FOLLOW_TRACKING:
            if parse_tracking(s.tracking) is None:
                self.state = replace(s, notice="tracking_invalid")
                return []
            return self._go(Screen.FOLLOW_MOBILE, notice="")
        if s.screen is Screen.FOLLOW_MOBILE:
            if not valid_mobile(s.mobile):
                self.state = replace(s, notice="mobile_invalid")
                return []
            self._go(Screen.WAITING, pending="view", notice="")
            return [ViewCase(s.tracking, s.mobile, s.lang)]
        if s.screen is Screen.FOLLOW_REPLY:
            if not s.reply_text.strip():
                self.state = replace(s, notice="text_empty")
                return []
            return self._act("citizen_reply", text=s.reply_text.strip())
        if s.screen is Screen.FOLLOW_CODE:
            if len(s.case_code) != CODE_LENGTH:
                self.state = replace(s, notice="code_length")
                return []
            return self._send_act(ticket=s.case_ticket, code=s.case_code)
        return None

    def voice_typed(self) -> None:
        """A digit or a deletion changed the mobile: a new attempt to file."""
        if self.state.screen is Screen.VOICE_MOBILE and self.state.draft.key:
            self.state = replace(self.state, draft=replace(self.state.draft, key=""))

    def voice_back(self) -> list[Effect] | None:
        """"Back" on a Citizen's Voice screen (None on any other): one step back."""
        s = self.state
        if s.screen is Screen.VOICE_TEXT:
            target = Screen.VOICE_CATEGORY if self.categories() else Screen.VOICE_AGENCY
            return self._go(target, notice="")
        if s.screen is Screen.FOLLOW_MOBILE:
            return self._go(Screen.FOLLOW_TRACKING, mobile="", notice="")
        if s.screen is Screen.FOLLOW_REPLY:
            return self._go(Screen.FOLLOW_CASE, reply_text="", notice="")
        if s.screen is Screen.FOLLOW_CODE:  # not now: the act is dropped with the code
            return self._go(self._act_screen(), case_code="", case_ticket="", notice="")
        if s.screen in BACK:
            return self._go(BACK[s.screen], notice="")
        return None

    # --- filing ----------------------------------------------------------------------

    def send_case(self) -> list[Effect]:
        """"Send" on the confirmation: file, with the attempt's key (kept for a retry)."""
        s = self.state
        if s.screen is not Screen.VOICE_CONFIRM:
            return []
        draft = s.draft if s.draft.key else replace(s.draft, key=new_key())
        self._go(Screen.WAITING, draft=draft, pending="file", notice="")
        return [FileCase(draft.case_type, draft.agency, draft.category, draft.text.strip(),
                         s.mobile, s.lang, draft.key)]

    def print_case_receipt(self) -> list[Effect]:
        s = self.state
        if not self.can_print or s.screen is not Screen.VOICE_FILED or not s.tracking:
            return []
        self._go(Screen.RECEIPT, notice="", printed=False)
        return [PrintCaseReceipt(s.tracking, s.draft.case_type, self.agency_name(),
                                 s.lang, self.session)]

    def agency_name(self) -> str:
        """The draft's agency in the screen's language ("" for the emirate's routing)."""
        agency = self.catalogue.agency(self.state.draft.agency) \
            if self.catalogue and self.state.draft.agency else None
        return agency.name(self.state.lang) if agency else ""

    # --- following -------------------------------------------------------------------

    def start_reply(self) -> list[Effect]:
        s = self.state
        if s.screen is not Screen.FOLLOW_CASE or s.case is None or not s.case.may_reply:
            return []
        return self._go(Screen.FOLLOW_REPLY, reply_text="", notice="", keyboard="")

    def rate(self, rating: int) -> list[Effect]:
        s = self.state
        if (s.screen is not Screen.FOLLOW_CASE or s.case is None or not s.case.may_rate
                or rating not in RATINGS):
            return []
        return self._act("rate", rating=rating)

    def reopen(self) -> list[Effect]:
        s = self.state
        if s.screen is not Screen.FOLLOW_CASE or s.case is None or not s.case.may_reopen:
            return []
        return self._act("reopen")

    def _act(self, action: str, *, text: str | None = None,
             rating: int | None = None) -> list[Effect]:
        """An act: sent with this visit's proof, or first a code asked for (the act waits
        in ``act_sig`` and the reply's text in ``reply_text``). The same act tried again
        after no answer keeps its key."""
        s = self.state
        signature = f"{action}:{rating or ''}"
        key = s.act_key if s.act_key and s.act_sig == signature else new_key()
        self.state = replace(s, act_key=key, act_sig=signature, resume_screen=s.screen)
        if s.case_proof:
            return self._send_act(proof=s.case_proof)
        self._go(Screen.WAITING, pending="case_code", notice="")
        return [AskCaseCode(s.tracking, s.mobile, s.lang)]

    def _send_act(self, *, proof: str = "", ticket: str = "",
                  code: str = "") -> list[Effect]:
        """The waiting act to the gateway, proved by ``proof`` or ``ticket`` + ``code``."""
        s = self.state
        action, _, rating = s.act_sig.partition(":")
        self._go(Screen.WAITING, pending="act", notice="")
        return [ActOnCase(s.tracking, action, s.lang, s.act_key,
                          text=s.reply_text.strip() if action == "citizen_reply" else None,
                          rating=int(rating) if rating.isdigit() else None,
                          ticket=ticket, code=code, proof=proof)]

    def _act_screen(self) -> Screen:
        """Where the waiting act was asked from: the reply's text, or the case."""
        return Screen.FOLLOW_REPLY if self.state.act_sig.startswith("citizen_reply") \
            else Screen.FOLLOW_CASE

    # --- the gateway's answers -------------------------------------------------------

    def voice_answered(self, outcome: object, now: datetime) -> list[Effect]:
        """What the gateway said to a Citizen's Voice request (a ``Catalogue``, a
        tracking number, a ``CaseView`` or a ``Refusal``). Wiped meanwhile: ignored."""
        s = self.state
        if s.screen is not Screen.WAITING or not s.pending:
            return []
        pending = s.pending
        self.state = replace(s, pending="", last_reached=now)
        if pending.startswith("mine_"):  # "my transactions" (channels/kiosk/mine.py)
            return self.mine_answered(pending, outcome, now)
        if isinstance(outcome, Refusal):
            return self._refused(pending, outcome)
        if pending == "catalogue" and isinstance(outcome, Catalogue):
            self.catalogue = outcome
            return self._go(Screen.VOICE_AGENCY, notice="")
        if pending == "file" and isinstance(outcome, str):
            # The text and the mobile leave memory: the tracking number is what is left.
            return self._go(Screen.VOICE_FILED, tracking=outcome, mobile="",
                            draft=replace(s.draft, text="", key=""), printed=False)
        if pending == "view" and isinstance(outcome, CaseView):
            return self._go(Screen.FOLLOW_CASE, case=outcome, reply_text="", act_key="",
                            act_sig="", notice="", resume_screen=None)
        if pending == "case_code" and isinstance(outcome, str):
            # The code is on its way to the case's mobile: the keypad for it.
            return self._go(Screen.FOLLOW_CODE, case_ticket=outcome, case_code="",
                            notice="", resume_screen=None)
        if pending == "act" and isinstance(outcome, Acted):
            notice = f"done_{s.act_sig.split(':')[0]}"
            return self._go(Screen.FOLLOW_CASE, case=outcome.case, reply_text="", act_key="",
                            act_sig="", notice=notice, resume_screen=None, case_code="",
                            case_ticket="", case_proof=outcome.proof)
        self.state = s  # not an answer to what was asked: as if none came
        return self.voice_unreachable()

    def _refused(self, pending: str, refusal: Refusal) -> list[Effect]:
        code = refusal.code
        if code == "wrong_code" and self.state.case_ticket:
            return self._go(Screen.FOLLOW_CODE, case_code="", notice="wrong_code",
                            resume_screen=None)
        if code in CODE_ENDED or code in CODE_PAUSED:
            # A new code is asked for by trying the act again (or later, when paused).
            return self._go(self._act_screen(), case_code="", case_ticket="",
                            case_proof="", notice=code if code in CODE_PAUSED
                            else "code_expired", resume_screen=None)
        if code == "unknown_case":  # not found, or not theirs: the same
            return self._go(Screen.FOLLOW_TRACKING, mobile="", case=None,
                            notice="case_not_found", resume_screen=None)
        if code in ("too_many_lookups", "rate_limited"):
            return self._go(Screen.FOLLOW_TRACKING, mobile="", case=None,
                            notice="too_many_lookups", resume_screen=None)
        if code == "too_many_cases":
            return self._go(Screen.VOICE_CONFIRM, notice="too_many_cases")
        if code in ("wrong_state", "reopen_window", "already_rated"):
            return self._go(Screen.FOLLOW_CASE, notice="wrong_state", resume_screen=None)
        return self._go(self._return_screen(pending), notice="not_accepted",
                        resume_screen=None)

    def _return_screen(self, pending: str) -> Screen:
        if pending == "act" and self.state.case_ticket:
            return Screen.FOLLOW_CODE  # the typed code kept: "next" tries again
        if pending in ("act", "case_code") and \
                self.state.resume_screen is Screen.FOLLOW_REPLY:
            return Screen.FOLLOW_REPLY
        return RETURN_TO.get(pending, Screen.VOICE)

    def voice_unreachable(self) -> list[Effect]:
        """The gateway did not answer a Citizen's Voice request: back where it was sent
        from, with the reason; what was typed (and the attempt's key) kept for a retry."""
        s = self.state
        pending = s.pending
        if s.screen is not Screen.WAITING or not pending:
            return []
        if pending.startswith("mine_"):
            return self.mine_unreachable(pending)
        return self._go(self._return_screen(pending), pending="",
                        notice="not_sent" if pending in ("file", "act") else "voice_offline",
                        resume_screen=None)


def valid_mobile(typed: str) -> bool:
    try:
        normalize_mobile(normalize_digits(typed))
    except InvalidMobile:
        return False
    return True
