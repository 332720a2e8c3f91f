"""The portal in real headless Chromium, served by waitress as in production.

Screenshots of the answer pages go to a temporary directory; with
GATEWAY_REFRESH_DOCS_SCREENSHOTS=1 they replace the tracked docs/portal-ar.png and
docs/portal-en.png (a test run never rewrites tracked files unasked).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.calendar.dates import RIYADH, format_date_long, local_date
from tests import factories as f
from tests.gateway.live import serving

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where the answer pages' screenshots go: docs/ only when asked to refresh them."""
    return DOCS if os.environ.get("GATEWAY_REFRESH_DOCS_SCREENSHOTS") == "1" else tmp_path


def screenshot(page, shots: Path, name: str) -> None:
    path = shots / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000, path


# Recent dates, so the screenshots show a plausible wait for the agency's reply.
TODAY = datetime.now(RIYADH).replace(hour=0, minute=0, second=0, microsecond=0)


def _days_ago(days: int, hour: int) -> datetime:
    return TODAY - timedelta(days=days) + timedelta(hours=hour)


ISSUED_AT = _days_ago(5, 12)


def days_awaiting() -> int:
    """5, or 6 once Riyadh's midnight has passed since the module was loaded."""
    return (datetime.now(RIYADH).date() - local_date(ISSUED_AT, RIYADH)).days


@pytest.fixture
def portal_url(app, core):
    """The app on a free local port, with one issued transaction in a temp database."""
    core.upsert_department("RIGHTS", f.department())
    core.upsert_agency("MOI", f.agency())
    core.upsert_employee("E1", f.employee())
    for event in (
        f.registered("4471234", occurred_at=_days_ago(12, 9).isoformat()),
        f.event("referred", "4471234", _days_ago(11, 10).isoformat(), department="RIGHTS"),
        f.event("assigned", "4471234", _days_ago(10, 11).isoformat(), employee="E1"),
        f.event("issued", "4471234", ISSUED_AT.isoformat(), outgoing_number="98765",
                destination_agency="MOI", reply_expected=True),
    ):
        core.record_event(event)
    with serving(app) as url:
        yield url


@pytest.fixture
def open_page(chromium, portal_url):
    """A fresh page; fails the test on any console error (a CSP violation, a missing file).

    Its contexts close before the server stops, so no keep-alive connection holds it up.
    """
    contexts, errors = [], []

    def open_(viewport=DESKTOP, javascript=True):
        context = chromium.new_context(viewport=viewport, device_scale_factor=1,
                                      java_script_enabled=javascript)
        contexts.append(context)
        page = context.new_page()
        # A form answered with field errors is a 422: the browser logs it, it is no error.
        page.on("console", lambda msg: msg.type == "error" and "422" not in msg.text
                and errors.append(msg.text))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield open_
    for context in contexts:
        context.close()
    assert errors == []


def _direction(page) -> tuple[str, str]:
    return (page.get_attribute("html", "lang"), page.get_attribute("html", "dir"))


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_arabic_inquiry_typed_in_arabic_indic_digits(open_page, portal_url, shots):
    page = open_page()
    page.goto(portal_url + "/")
    assert _direction(page) == ("ar", "rtl")
    page.get_by_label("رقم المعاملة").press_sequentially("٤٤٧١٢٣٤")
    page.get_by_label("رقم الهوية الوطنية أو الإقامة").press_sequentially(
        f.NATIONAL_ID.translate(ARABIC_INDIC))
    page.get_by_role("button", name="استعلام").click()
    page.wait_for_url("**/inquiry")
    assert _direction(page) == ("ar", "rtl")
    result = page.locator("[aria-live]")
    assert "صدرت إلى وزارة الداخلية بانتظار الرد" in result.inner_text()
    assert "98765" in result.inner_text()
    stages = page.locator(".timeline-item")
    assert stages.count() == 4
    issued_on = format_date_long(local_date(ISSUED_AT, RIYADH), "ar")
    assert issued_on in stages.nth(3).inner_text()
    assert f"بانتظار الرد منذ {days_awaiting()} أيام" in result.inner_text()
    screenshot(page, shots, "portal-ar.png")


def test_english_inquiry_through_the_language_switch(open_page, portal_url, shots):
    page = open_page()
    page.goto(portal_url + "/")
    page.get_by_role("link", name="English").click()
    assert _direction(page) == ("en", "ltr")
    page.get_by_label("Transaction number").fill("447-1234")
    page.get_by_label("National ID or Iqama number").fill(f.NATIONAL_ID)
    page.get_by_role("button", name="Inquire").click()
    page.wait_for_url("**/inquiry")
    assert _direction(page) == ("en", "ltr")
    result = page.locator("[aria-live]").inner_text()
    assert "Issued to Ministry of Interior, awaiting its reply" in result
    issued_on = format_date_long(local_date(ISSUED_AT, RIYADH), "en")
    assert issued_on.replace(" AH", "\u00a0AH") in result
    assert f"Awaiting the reply for {days_awaiting()} days" in result
    screenshot(page, shots, "portal-en.png")


def test_field_errors_without_javascript(open_page, portal_url):
    page = open_page(javascript=False)
    page.goto(portal_url + "/?lang=en")
    page.get_by_label("National ID or Iqama number").fill("12345")
    page.get_by_role("button", name="Inquire").click()
    summary = page.get_by_role("alert").inner_text()
    assert "Enter the transaction number." in summary
    assert "must be 10 digits" in summary
    assert page.get_by_label("Transaction number").get_attribute("aria-invalid") == "true"


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_phone_viewport_has_no_horizontal_scroll(open_page, portal_url, lang):
    page = open_page(PHONE)
    page.goto(f"{portal_url}/?lang={lang}")
    assert _no_horizontal_scroll(page)
    number = page.locator("#number")
    assert number.bounding_box()["width"] > PHONE["width"] * 0.7  # the field fills the row
    number.fill("4471234")
    page.locator("#national_id").fill(f.NATIONAL_ID)
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/inquiry")
    assert page.locator(".timeline-item").count() == 4
    assert _no_horizontal_scroll(page)


def test_keyboard_focus_is_visible(open_page, portal_url):
    page = open_page()
    page.goto(portal_url + "/")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert skip.evaluate("el => el === document.activeElement")
    assert skip.bounding_box()["y"] >= 0  # the skip link comes into view
    page.locator("#number").focus()
    outline = page.locator("#number").evaluate(
        "el => getComputedStyle(el).outlineStyle + ' ' + getComputedStyle(el).outlineWidth")
    assert outline == "solid 3px"
