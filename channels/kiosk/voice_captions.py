"""What the home screen and Citizen's Voice's pages say for the flow's state, in its
language (channels/kiosk/voice_texts.py holds the words, voice_pages.py the widgets).
Digits are written as the screen's language writes them; what the citizen typed and
what the agency wrote are shown as plain text, never as markup.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from channels.kiosk.state import Screen, State
from channels.kiosk.texts import masked, shown_digits, texts
from channels.kiosk.voice import TEXT_MAX
from channels.kiosk.voice_texts import voice_texts
from core.calendar.dates import format_date

if TYPE_CHECKING:
    from channels.kiosk.pages import PageStack

VOICE_ENTRY = frozenset({Screen.VOICE_MOBILE, Screen.FOLLOW_TRACKING, Screen.FOLLOW_MOBILE,
                         Screen.FOLLOW_CODE})
CARET = "\u2502"  # │ where the next letter goes
# The keyboard's language key names the other layout in its own script.
OTHER_LAYOUT = {"ar": "English", "en": "عربي"}
DIGITS_KEY = {"ar": "١٢٣", "en": "123"}
LETTERS_KEY = {"ar": "أ ب ت", "en": "ABC"}


def tracking_shown(tracking: str, lang: str) -> str:
    """A tracking number in groups as it is read out ("7 4821 0936 5"), in the screen's
    digits (its label reads left to right in both languages: voice_pages.py)."""
    if len(tracking) == 10:
        tracking = f"{tracking[0]} {tracking[1:5]} {tracking[5:9]} {tracking[9]}"
    return shown_digits(tracking, lang)


def reopen_day(day: str, lang: str) -> str:
    """The last day to reopen (ISO from the gateway), Hijri with Gregorian beside."""
    try:
        return shown_digits(format_date(date.fromisoformat(day), lang), lang)
    except ValueError:
        return day


class VoiceCaptions:
    def __init__(self, pages: PageStack) -> None:
        self.pages = pages
        self.w = pages.w
        self.voice = pages.voice

    def _set(self, name: str, text: str, spoken: str | None = None) -> None:
        self.w[name].show_text(text, spoken)  # type: ignore[attr-defined]

    def home(self, t: dict[str, str], s: State) -> None:
        v = voice_texts(s.lang)
        self._set("emirate", v["emirate"])
        self._set("home_welcome", v["home_welcome"])
        self.voice.tiles["start"].show_text(t["title"], t["welcome"])
        self.voice.tiles["voice"].show_text(v["voice_title"], v["voice_tile_body"])

    def waiting(self) -> str:
        return voice_texts(self.pages.flow.state.lang)["voice_waiting"]

    def notice(self, t: dict[str, str], notice: str, lang: str) -> str:
        """A hint in the screen's language, the inquiry's or Citizen's Voice's."""
        return t.get(notice) or voice_texts(lang).get(notice, "")

    def entry(self, s: State) -> tuple[str, str]:
        """The keypad page's prompt and value on the mobile and tracking screens."""
        v = voice_texts(s.lang)
        if s.screen is Screen.FOLLOW_TRACKING:
            return v["tracking_prompt"], shown_digits(s.tracking, s.lang)
        if s.screen is Screen.FOLLOW_CODE:  # masked, as "my transactions"' code
            return shown_digits(v["follow_code_prompt"], s.lang), masked(s.case_code)
        prompt = v["mobile_prompt"] if s.screen is Screen.VOICE_MOBILE \
            else v["follow_mobile_prompt"]
        return prompt, "\u202a" + shown_digits(s.mobile, s.lang) + "\u202c" if s.mobile else ""

    def write(self, s: State, can_print: bool) -> None:
        v = voice_texts(s.lang)
        t = texts(s.lang)
        hint = self.notice(t, s.notice, s.lang) if s.notice else ""
        self._menu(v, s, hint)
        self._choice(v, s)
        self._text(v, s, hint)
        self._confirm(v, s, hint)
        self._filed(v, t, s, hint, can_print)
        self._case(v, s, hint)

    def _menu(self, v: dict[str, str], s: State, hint: str) -> None:
        self._set("voice_title", v["voice_title"])
        self._set("voice_intro", v["voice_intro"])
        self._set("voice_notice", hint if s.screen is Screen.VOICE else "")
        tiles = self.voice.menu_tiles
        tiles["file_complaint"].show_text(v["file_complaint"], v["complaint_tile"])
        tiles["file_suggestion"].show_text(v["file_suggestion"], v["suggestion_tile"])
        tiles["follow_case"].show_text(v["follow_case"], v["follow_tile"])
        self._set("voice_home", v["home"])

    def _choice(self, v: dict[str, str], s: State) -> None:
        flow = self.pages.flow
        self._set("choice_back", v["back"])
        choices: tuple[tuple[str, str], ...] = ()
        if s.screen is Screen.VOICE_AGENCY and flow.catalogue is not None:
            self._set("choice_prompt", v["agency_prompt"])
            offered = [a for a in flow.catalogue.agencies
                       if a.code != flow.catalogue.emirate
                       and a.categories_for(s.draft.case_type)]
            choices = (*((f"agency-{a.code}", a.name(s.lang)) for a in offered),
                       ("agency-none", v["not_sure"]))
        elif s.screen is Screen.VOICE_CATEGORY:
            self._set("choice_prompt", v["category_prompt"])
            choices = (*((f"category-{c.code}", c.name(s.lang)) for c in flow.categories()),
                       ("category-none", v["other_category"]))
        else:
            self._set("choice_prompt", "")
        if s.screen in (Screen.VOICE_AGENCY, Screen.VOICE_CATEGORY):
            font = self.pages.font()
            metrics = getattr(self.pages, "metrics", None)
            font.setPixelSize(metrics.text_px if metrics else 24)
            self.voice.show_choices(choices, metrics, font)

    def _text(self, v: dict[str, str], s: State, hint: str) -> None:
        replying = s.screen is Screen.FOLLOW_REPLY
        typed = s.reply_text if replying else s.draft.text
        prompt = v["reply_prompt"] if replying else v[f"{s.draft.case_type}_prompt"] \
            if s.draft.case_type in ("complaint", "suggestion") else v["complaint_prompt"]
        self._set("text_prompt", prompt)
        # The end of a long text: where the caret is, and what is being written.
        shown = typed if len(typed) <= 240 else "…" + typed[-240:]
        self._set("typed", shown + CARET, typed)
        count = v["characters"].format(count=shown_digits(str(len(typed)), s.lang),
                                       limit=shown_digits(str(TEXT_MAX), s.lang))
        spoken_count = count
        on_page = s.screen in (Screen.VOICE_TEXT, Screen.FOLLOW_REPLY)
        self._set("text_notice", hint if hint and on_page else count,
                  None if hint and on_page else spoken_count)
        self._set("text_back", v["back"])
        self._set("text_next", v["send"] if replying else v["next"])
        layout = s.keyboard or s.lang
        self.voice.keyboard.show_layout(layout, s.keyboard_digits, {
            "keyboard": v["keyboard"], "other_language": OTHER_LAYOUT[layout],
            "digits": DIGITS_KEY[layout], "letters": LETTERS_KEY[layout],
            "space": v["space"], "shift": v["shift"], "delete": texts(s.lang)["delete"]})

    def _confirm(self, v: dict[str, str], s: State, hint: str) -> None:
        self._set("confirm_title", v["confirm_title"])
        flow = self.pages.flow
        category = next((c.name(s.lang) for c in flow.categories()
                         if c.code == s.draft.category), "")
        lines = [f"{v['type_label']}: {v.get(s.draft.case_type, '')}",
                 f"{v['agency_label']}: {flow.agency_name() or v['emirate_routes']}"]
        if category:
            lines.append(f"{v['category_label']}: {category}")
        mobile = "\u202a" + shown_digits(s.mobile, s.lang) + "\u202c"
        lines += [f"{v['mobile_label']}: {mobile}", "", s.draft.text.strip()]
        self._set("confirm_summary", "\n".join(lines))
        self._set("confirm_notice", hint if s.screen is Screen.VOICE_CONFIRM else "")
        self._set("send", v["send"])
        self._set("confirm_back", v["back"])

    def _filed(self, v: dict[str, str], t: dict[str, str], s: State, hint: str,
               can_print: bool) -> None:
        self._set("filed_title", v["filed_title"])
        self._set("tracking_label", v["receipt_tracking"])
        self._set("tracking_number", tracking_shown(s.tracking, s.lang) if s.tracking else "",
                  shown_digits(s.tracking, s.lang))
        self._set("filed_body", shown_digits(v["filed_body"], s.lang))
        self._set("filed_notice", hint if s.screen is Screen.VOICE_FILED else "")
        self._set("filed_print", t["print"])
        self._set("filed_done", v["done"])
        self.w["filed_print"].setVisible(can_print)

    def _case(self, v: dict[str, str], s: State, hint: str) -> None:
        case = s.case
        self._set("case_notice", hint if s.screen is Screen.FOLLOW_CASE else "")
        self._set("case_reply", v["reply"])
        self._set("case_reopen", v["reopen"])
        self._set("case_done", v["done"])
        self._set("rate_prompt", shown_digits(v["rate_prompt"], s.lang)
                  if case and case.may_rate else "")
        for rating in range(1, 6):
            self._set(f"rate-{rating}", shown_digits(str(rating), s.lang))
        if case is None:
            for name in ("case_tracking", "case_heading", "case_question", "case_answer",
                         "case_history"):
                self._set(name, "")
            return
        self._set("case_tracking", tracking_shown(case.tracking, s.lang),
                  shown_digits(case.tracking, s.lang))
        self._set("case_heading", v["case_state"].format(state=case.state_text))
        self._set("case_question", f"{v['question_label']}\n{case.question}"
                  if case.question else "")
        answer = f"{v['answer_label']}\n{case.answer}" if case.answer else ""
        if case.rating:
            answer += "\n" + v["rated"].format(rating=shown_digits(str(case.rating), s.lang))
        if case.may_reopen and case.reopen_until:
            answer += "\n" + v["reopen_until"].format(
                date=reopen_day(case.reopen_until, s.lang))
        self._set("case_answer", answer.strip())
        steps = [step.words + (f" {step.text}" if step.text and step.text != case.question
                               and step.text != case.answer else "")
                 for step in case.history[-6:]]
        self._set("case_history", v["history_label"] + "\n" + "\n".join(
            f"• {step}" for step in steps))
        self.w["case_reply"].setVisible(case.may_reply)
        self.w["case_reopen"].setVisible(case.may_reopen)
        self.pages.voice.ratings.setVisible(case.may_rate)
