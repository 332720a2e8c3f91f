"""What the "my transactions" screens say for the flow's state, in its language
(channels/kiosk/mine_texts.py holds the words, voice_pages.py the widgets). The list is
plain text in the screen's digits; numbers in left-to-right runs of their own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from channels.kiosk.mine_texts import mine_texts
from channels.kiosk.state import MineList, Screen, State
from channels.kiosk.texts import masked, shown_digits
from channels.kiosk.voice_captions import tracking_shown

if TYPE_CHECKING:
    from channels.kiosk.pages import PageStack

MINE_ENTRY = frozenset({Screen.MINE_ID, Screen.MINE_CODE})
LTR = "\u2066{}\u2069"  # a number kept left to right inside Arabic text


def entry(s: State) -> tuple[str, str]:
    """The keypad page's prompt and value on the ID and code screens (both masked as
    the inquiry's ID is: someone may stand behind the citizen)."""
    m = mine_texts(s.lang)
    if s.screen is Screen.MINE_ID:
        return m["mine_id_prompt"], masked(s.mine_id)
    return shown_digits(m["mine_code_prompt"], s.lang), masked(s.mine_code)


def listed(mine: MineList, lang: str) -> tuple[str, str]:
    """The transactions, then the cases, as lines of plain text."""
    m = mine_texts(lang)
    blocks = []
    for t in mine.transactions:
        lines = [f"■ {LTR.format(shown_digits(t.number, lang))} — {t.stage}"]
        if t.subject:
            lines.append(t.subject)
        lines.append(f"{m['registered_on']}: {shown_digits(t.registered_on, lang)}")
        if t.department:
            lines.append(f"{m['department']}: {t.department}")
        if t.outgoing_number:
            lines.append(f"{m['outgoing']}: {LTR.format(shown_digits(t.outgoing_number, lang))}")
        if t.destination_agency:
            lines.append(f"{m['sent_to']}: {t.destination_agency}")
        blocks.append("\n".join(lines))
    if mine.more:
        blocks.append(m["more"] % {"count": shown_digits(str(mine.more), lang)})
    body = "\n\n".join(blocks) if blocks else m["none"]
    cases = [f"• {LTR.format(tracking_shown(c.tracking, lang))} — "
             f"{m.get(c.case_type, c.case_type)}: {c.state_text} "
             f"({shown_digits(c.received_on, lang)})" for c in mine.cases]
    return body, m["cases_title"] + "\n" + ("\n".join(cases) if cases else m["no_cases"])


class MineCaptions:
    def __init__(self, pages: PageStack) -> None:
        self.pages = pages
        self.w = pages.w

    def _set(self, name: str, text: str, spoken: str | None = None) -> None:
        self.w[name].show_text(text, spoken)  # type: ignore[attr-defined]

    def tile(self, s: State) -> None:
        m = mine_texts(s.lang)
        self.pages.voice.tiles["mine"].show_text(m["mine_title"], m["mine_tile_body"])

    def write(self, s: State) -> None:
        m = mine_texts(s.lang)
        self._set("mine_heading", m["mine_title"])
        self._set("mine_done", m["done"])
        if s.mine is None:
            self._set("mine_body", "")
            self._set("mine_cases", "")
            return
        body, cases = listed(s.mine, s.lang)
        self._set("mine_body", body)
        self._set("mine_cases", cases)
