""""My transactions" on the portal in real headless Chromium against the gateway under
waitress: the national ID typed in Arabic-Indic digits, the code read from the SMS the
outbox carries, the list newest first with a complaint beside it, its link to the case's
tracking page, and signing out; a wrong code shows nothing. Screenshots of the list in
both languages go to a temporary folder, or with GATEWAY_REFRESH_DOCS_SCREENSHOTS=1 to
docs/mine-portal-ar.png and docs/mine-portal-en.png."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.calendar.dates import RIYADH
from tests import factories as f
from tests.conftest import last_code
from tests.core.voice.conftest import build_world
from tests.gateway.live import serving

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
NOW = datetime.now(RIYADH).replace(minute=0, second=0, microsecond=0)


def ago(days: int) -> str:
    return (NOW - timedelta(days=days)).isoformat()


@pytest.fixture
def shots(tmp_path) -> Path:
    return DOCS if os.environ.get("GATEWAY_REFRESH_DOCS_SCREENSHOTS") == "1" else tmp_path


@pytest.fixture
def site(app, core):
    core.upsert_department("RIGHTS", f.department())
    core.upsert_agency("MOI", f.agency())
    core.upsert_employee("E1", f.employee())
    for event in (
        f.registered("4471234", occurred_at=ago(40)),
        f.event("referred", "4471234", ago(39), department="RIGHTS"),
        f.event("assigned", "4471234", ago(38), employee="E1"),
        f.event("issued", "4471234", ago(30), outgoing_number="98765",
                destination_agency="MOI", reply_expected=True),
        f.registered("4471300", occurred_at=ago(12)),
        f.event("referred", "4471300", ago(11), department="RIGHTS"),
        f.registered("4471377", occurred_at=ago(2)),
        f.registered("4479999", occurred_at=ago(1), national_id=f.OTHER_NATIONAL_ID,
                     mobile=f.OTHER_MOBILE),
    ):
        core.record_event(event)
    world = build_world(core)
    tracking = world.file(citizen={"mobile": f.MOBILE, "national_id": f.NATIONAL_ID})
    with serving(app) as url:
        yield url, tracking


@pytest.fixture
def page(chromium, site):
    context = chromium.new_context(viewport={"width": 1100, "height": 900},
                                   device_scale_factor=1, java_script_enabled=False)
    yield context.new_page()
    context.close()


def test_my_transactions_on_the_portal(page, site, core, shots):
    url, tracking = site
    page.goto(f"{url}/")
    page.get_by_role("link", name="اعرض جميع معاملاتك وبلاغاتك برقم هويتك").click()
    assert (page.get_attribute("html", "lang"), page.get_attribute("html", "dir")) == (
        "ar", "rtl")
    assert page.locator("script").count() == 0
    page.get_by_label("رقم الهوية الوطنية أو الإقامة").fill(f.NATIONAL_ID.translate(ARABIC))
    page.get_by_role("button", name="أرسل لي رمزًا").click()
    assert "إن كانت لهذه الهوية معاملات" in page.locator("main").inner_text()

    # A wrong code shows nothing.
    right = last_code(core)
    page.get_by_label("الرمز", exact=True).fill(f"{(int(right) + 1) % 1_000_000:06d}")
    page.get_by_role("button", name="اعرض معاملاتي").click()
    assert "الرمز غير صحيح" in page.locator("main").inner_text()
    assert "4471234" not in page.content()

    page.get_by_label("الرمز", exact=True).fill(right.translate(ARABIC))
    page.get_by_role("button", name="اعرض معاملاتي").click()
    page.wait_for_url("**/my-transactions/list**")
    numbers = [n.strip() for n in page.locator(".mine-item .detail-number").all_inner_texts()]
    assert numbers == ["4471377", "4471300", "4471234"]
    text = page.locator("main").inner_text()
    assert "98765" in text and "وزارة الداخلية" in text and "إدارة الحقوق" in text
    assert "4479999" not in text
    assert tracking in text and "مستلم" in text
    page.screenshot(path=str(shots / "mine-portal-ar.png"), full_page=True)

    page.get_by_role("link", name="English").click()
    assert page.get_attribute("html", "dir") == "ltr"
    assert "Ministry of Interior" in page.locator("main").inner_text()
    page.screenshot(path=str(shots / "mine-portal-en.png"), full_page=True)

    # The case's link opens its tracking page with its number filled in.
    page.get_by_role("link", name=tracking).click()
    assert page.get_by_label("Tracking number").input_value() == tracking
    page.go_back()
    page.get_by_role("button", name="Sign out").click()
    assert "signed out" in page.locator("main").inner_text()
    page.goto(f"{url}/my-transactions/list")
    assert "4471234" not in page.content()
