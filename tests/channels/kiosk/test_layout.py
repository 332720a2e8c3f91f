"""Sizes from the screen's size: touch targets kept, the height used (no Qt needed)."""

from __future__ import annotations

import pytest

from channels.kiosk.layout import CORNER_PX, MIN_TOUCH_PX, metrics


@pytest.mark.parametrize(("size", "large_text"), [
    ((1024, 600), False), ((1024, 600), True), ((1366, 768), False), ((1366, 768), True),
    ((1280, 800), False), ((1920, 1080), True), ((1080, 1920), False), ((1080, 1920), True),
])
def test_metrics_keep_touch_targets_and_fill_the_height(size, large_text):
    m = metrics(*size, large_text)
    assert m.landscape == (size[0] > size[1])
    assert m.key_px >= MIN_TOUCH_PX and m.button_px >= MIN_TOUCH_PX
    assert m.key_width_px >= MIN_TOUCH_PX
    keypad = 4 * m.key_px + 3 * m.spacing
    assert keypad <= size[1] - CORNER_PX - m.button_px  # under the language button
    if large_text:
        assert m.text_px > metrics(*size).text_px


def test_text_grows_with_the_screen():
    small, laptop, portrait = metrics(1024, 600), metrics(1366, 768), metrics(1080, 1920)
    assert small.text_px < laptop.text_px and portrait.text_px >= 24
    assert small.key_px < laptop.key_px
    assert portrait.scaled(2.0) > small.scaled(2.0)
