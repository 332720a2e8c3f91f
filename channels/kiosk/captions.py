"""Captions: what each page's labels and buttons say for the flow's state, in its
language (channels/kiosk/texts.py holds the words; channels/kiosk/pages.py the widgets).
"""

from __future__ import annotations

from dataclasses import dataclass

from channels.kiosk import mine_captions
from channels.kiosk.mine_captions import MINE_ENTRY, MineCaptions
from channels.kiosk.mine_texts import mine_texts
from channels.kiosk.pages import PageStack
from channels.kiosk.settings import KioskConfig
from channels.kiosk.state import Screen, State
from channels.kiosk.texts import clock_time, masked, shown_digits, texts
from channels.kiosk.voice_captions import VOICE_ENTRY, VoiceCaptions

# The language button names the language it switches to, in that language.
OTHER_LANGUAGE = {"ar": "English", "en": "العربية"}
# Found / not found is said in words with a sign, never by colour alone.
FOUND_SIGN, NOT_FOUND_SIGN = "\u2714", "\u2716"  # ✔ ✖


def embedded(text: str, lang: str) -> str:
    """``text`` as a run of its own direction inside a paragraph of the other language
    (so an Arabic sentence's full stop stays at its end on an English screen)."""
    return ("\u202b" if lang == "ar" else "\u202a") + text + "\u202c"


@dataclass(frozen=True)
class Kiosk:
    """What the pages say besides the flow's state: who this kiosk is, what it can do
    and how its gateway and printer were last found."""

    config: KioskConfig
    can_print: bool
    test_mode: bool
    gateway_reachable: bool | None
    printer_state: str


class Captions:
    """Writes every page's texts (all of them, whichever page is shown)."""

    def __init__(self, pages: PageStack) -> None:
        self.w, self.keypad = pages.w, pages.keypad
        self.voice = VoiceCaptions(pages)
        self.mine = MineCaptions(pages)

    def write(self, s: State, kiosk: Kiosk) -> None:
        t = texts(s.lang)
        self._home(t, s)
        self._entry(t, s)
        self._answer(t, s, kiosk)
        self._offline(t, s, kiosk)
        self._maintenance(t, kiosk)
        self.voice.write(s, kiosk.can_print)
        self.mine.write(s)

    def _set(self, name: str, text: str, spoken: str | None = None) -> None:
        self.w[name].show_text(text, spoken)  # type: ignore[attr-defined]

    def _home(self, t: dict[str, str], s: State) -> None:
        self.voice.home(t, s)
        self.mine.tile(s)
        # The language button is written in the language it switches to.
        self._set("language", OTHER_LANGUAGE[s.lang])
        on, off = t["on"], t["off"]
        self._set("large_text", f"{t['large_text']}: {on if s.large_text else off}")
        self._set("high_contrast", f"{t['high_contrast']}: {on if s.high_contrast else off}")

    def _entry(self, t: dict[str, str], s: State) -> None:
        self.keypad.set_language(s.lang, t["delete"], t["next"], t["keypad"])
        self._set("back", t["back"])
        if s.screen is Screen.NATIONAL_ID:
            prompt, value = t["id_prompt"], masked(s.national_id)
        elif s.screen is Screen.PIN:
            prompt, value = t["pin_prompt"], masked(s.pin)
        elif s.screen in VOICE_ENTRY:
            prompt, value = self.voice.entry(s)
        elif s.screen in MINE_ENTRY:
            prompt, value = mine_captions.entry(s)
        else:
            prompt, value = t["number_prompt"], shown_digits(s.number, s.lang)
        self._set("prompt", prompt)
        self._set("value", value or " ")
        self._set("notice", self._notice(t, s) if s.notice else "")

    def _notice(self, t: dict[str, str], s: State) -> str:
        if s.screen in MINE_ENTRY or s.screen is Screen.FOLLOW_CODE:
            said = mine_texts(s.lang).get(s.notice)
            if said:
                return said
        return self.voice.notice(t, s.notice, s.lang)

    def _answer(self, t: dict[str, str], s: State, kiosk: Kiosk) -> None:
        self._set("waiting", self.voice.waiting() if s.pending else t["waiting"])
        reply = s.reply
        if reply is not None:
            # Said in words with a sign, never by colour alone.
            word = t["status_heading"] if reply.found else t["not_found_heading"]
            sign = FOUND_SIGN if reply.found else NOT_FOUND_SIGN
            self._set("status", f"{sign} {word}", word)  # the word is what is said
            self._set("answer", shown_digits(reply.text, s.lang))
        else:
            self._set("status", "")
            self._set("answer", "")
        found = reply is not None and reply.found
        self.w["print"].setVisible(found and kiosk.can_print)
        self._set("result_notice", t.get(s.notice, "") if s.notice else "")
        self.w["try_again"].setVisible(not found)
        self._set("print", t["print"])
        self._set("try_again", t["try_again"])
        self._set("done", t["done"])
        done = t["printing_saved"] if kiosk.test_mode else t["printing_done"]
        self._set("receipt_message", done if s.printed
                  else t.get(s.notice, "") if s.notice else t["waiting"])
        self._set("receipt_done", t["done"])
        self._set("still_there", t["still_there"])
        self._set("still_there_body", t["still_there_body"].format(
            seconds=shown_digits(str(s.still_there_left), s.lang)))
        self._set("still_here", t["still_here"])

    def _offline(self, t: dict[str, str], s: State, kiosk: Kiosk) -> None:
        # Both languages at once: whoever stands there can read it.
        other_lang = "en" if s.lang == "ar" else "ar"
        other = {key: embedded(text, other_lang) for key, text in texts(other_lang).items()}
        self._set("offline_title", t["offline_title"])
        self._set("offline_title_other", other["offline_title"])
        self._set("offline_body", t["offline_body"])
        self._set("offline_body_other", other["offline_body"])
        self._set("retry_in", t["retry_in"].format(
            seconds=shown_digits(str(s.retry_in), s.lang)) if s.retry_in else t["waiting"])
        if s.last_reached is not None:
            reached = t["last_reached"].format(
                time=clock_time(s.last_reached.astimezone(kiosk.config.tz), s.lang))
        else:
            reached = t["never_reached"]
        self._set("last_reached", reached)
        self._set("retry_now", t["retry_now"])
        self._set("offline_home", t["cancel"])
        self._set("rate_limited_title", t["rate_limited_title"])
        self._set("rate_limited_body",
                  f"{t['rate_limited_body']}\n\n{other['rate_limited_body']}")
        self._set("rate_limited_done", t["done"])
        self._set("error_title", t["error_title"])
        self._set("error_title_other", other["error_title"])
        self._set("error_body", t["offline_body"])
        self._set("error_body_other", other["offline_body"])
        self._set("error_done", t["done"])

    def _maintenance(self, t: dict[str, str], kiosk: Kiosk) -> None:
        # Technicians' details (version, kiosk id, the printer's state) are ASCII: each in
        # a left-to-right run of its own, or "pdf (test mode): /tmp/x" comes out
        # scrambled on an Arabic screen.
        config = kiosk.config
        self._set("maintenance", t["maintenance"])
        self._set("gateway_state", t["gateway_reachable"] if kiosk.gateway_reachable
                  else t["gateway_unreachable"])
        self._set("version", t["version"].format(version=embedded(config.version, "en")))
        self._set("kiosk_id", t["kiosk_id"].format(kiosk_id=embedded(config.kiosk_id, "en")))
        # As the printing thread last found it (the probe run as the screen opens asks
        # anew, and the screen is drawn again when the answer is in).
        self._set("printer", t["printer"].format(state=embedded(kiosk.printer_state, "en")))
        self._set("exit", t["exit"])
        self._set("maintenance_back", t["back"])
