"""How big the kiosk draws things on a screen: a pure function of the window's size.

Kiosk screens run from 1024x600 landscape to 1080x1920 portrait. Text, keys and
buttons are sized from the space there is, never below a 64 px touch target, so every
page fits the screen it is on: a full-screen window larger than its screen would put
the keypad's last row or the Next/Back buttons out of reach. In landscape the entry
page puts the keypad beside the prompt instead of under it, and a page's buttons stand
in a row.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_TOUCH_PX = 64
# The technician's corner is this big, at the top left, inside the window's top margin
# (so it covers no button a citizen could want).
CORNER_PX = 40
EDGE_PX = 24  # the other margins
LARGE_TEXT_FACTOR = 1.4
KEYPAD_ROWS, KEYPAD_COLUMNS = 4, 3


@dataclass(frozen=True)
class Metrics:
    landscape: bool
    text_px: int  # body text; headings are a multiple of it (``heading``)
    heading: float  # how much bigger the biggest heading may be than body text
    button_px: int  # height of a page's buttons and the language button
    key_px: int  # height of a keypad key
    key_width_px: int  # the width a key may take at most
    digit_px: int  # a key's digit
    spacing: int  # between the widgets of a page, and between keys

    def scaled(self, scale: float) -> int:
        """A label's text size: ``scale`` times body text, headings held to ``heading``."""
        if scale > 1:
            scale = 1 + (scale - 1) * self.heading
        return max(round(self.text_px * scale), 12)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def metrics(width: int, height: int, large_text: bool = False) -> Metrics:
    """The sizes for a window of ``width`` x ``height`` px (large text if asked)."""
    landscape = width > height
    spacing = int(_clamp(height / 64, 8, 16))
    # Body text from the screen's height, held by its width: 20 px on 1024x600, 26 on
    # 1366x768, 28 (the most) on 1080x1920 portrait.
    text = _clamp(min(height / 30, width / 36), 18, 28)
    # Short screens keep headings closer to body text: the height goes to the keys.
    heading = _clamp((height - 400) / 600, 0.5, 1.0)
    if large_text:
        text = text * LARGE_TEXT_FACTOR
        heading /= 2  # the body text grows, the headings hardly
    button = int(max(MIN_TOUCH_PX, text * 2.3))
    # The height left for a page under the top margin and the language button's row.
    page = height - CORNER_PX - EDGE_PX - button - spacing
    usable_width = width - 2 * EDGE_PX
    if landscape:
        keypad_height = page
        keypad_width = usable_width * 0.5
    else:
        keypad_height = page * 0.42
        keypad_width = usable_width * 0.8
    key = (keypad_height - (KEYPAD_ROWS - 1) * spacing) / KEYPAD_ROWS
    key_px = int(_clamp(key, MIN_TOUCH_PX, 150 if large_text else 128))
    key_width = (keypad_width - (KEYPAD_COLUMNS - 1) * spacing) / KEYPAD_COLUMNS
    key_width_px = int(max(MIN_TOUCH_PX, min(key_width, key_px * 1.8)))
    return Metrics(landscape=landscape, text_px=round(text), heading=heading,
                   button_px=button, key_px=key_px, key_width_px=key_width_px,
                   digit_px=round(min(key_px, key_width_px) * 0.42), spacing=spacing)
