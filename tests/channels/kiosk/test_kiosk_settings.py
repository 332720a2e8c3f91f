"""The kiosk section of the settings: what a terminal refuses to start with."""

from __future__ import annotations

import pytest

from core.platform.settings import ConfigError
from gateway.settings import load_settings


@pytest.mark.parametrize("pin", ["2468", "12345", "12ab56", "1234567890123"])
def test_a_short_or_odd_technician_pin_is_refused_with_a_clear_message(tmp_path, pin):
    with pytest.raises(ConfigError) as refused:
        load_settings(None, var_dir=str(tmp_path), kiosk={"technician_pin": pin})
    assert "kiosk.technician_pin" in str(refused.value)
    assert "6 to 12 digits" in str(refused.value)


@pytest.mark.parametrize("pin", ["", "246813", "123456789012"])
def test_six_to_twelve_digits_or_none(tmp_path, pin):
    settings = load_settings(None, var_dir=str(tmp_path), kiosk={"technician_pin": pin})
    assert settings.kiosk.technician_pin == pin


def test_no_receipt_pdfs_unless_asked_for(tmp_path):
    assert load_settings(None, var_dir=str(tmp_path)).kiosk.pdf_dir == ""
