"""The dashboards in real headless Chromium, served by waitress as in production, role by
role: leadership sees every department's figures and charts, a department's staff only
theirs, a specialist and an agency leader of no department no dashboard; the figures lead
to their lists; the CSV and XLSX download; the page loads nothing the policy refuses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from core.access.models import StaffUser
from tests.core.dashboards.test_transactions import dataset as dataset  # noqa: F401
from tests.gateway.live import add_staff, serving, signed_in_pages

pytestmark = pytest.mark.browser

STAFF = {"leader.ship": ("leadership", None), "lands.coord": ("coordinator", "MOI"),
         "moi.spec": ("specialist", "MOI"), "moi.leader": ("agency_leader", "MOI")}
NOVEMBER = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def site(app, core, dataset) -> Iterator[str]:  # noqa: F811
    _core, ids = dataset
    add_staff(core, STAFF)
    with core.db.write.begin() as session:
        session.execute(update(StaffUser).where(StaffUser.login == "lands.coord")
                        .values(department_id=ids["LANDS"]))
    with serving(app) as url:
        yield url


@pytest.fixture
def as_user(chromium, site) -> Iterator[Callable]:
    with signed_in_pages(chromium, site, "/voice/") as open_as:
        yield open_as


def test_leadership_sees_every_department_and_follows_a_figure(as_user, site):
    page = as_user("leader.ship")
    page.get_by_role("link", name="لوحات المتابعة").click()
    page.wait_for_url("**/dashboards/voice**")  # leadership's first dashboard
    page.get_by_role("link", name="أداء المعاملات").click()
    page.wait_for_url("**/dashboards/transactions**")
    page.goto(f"{site}/dashboards/transactions?{NOVEMBER}")
    table = page.locator(".figures-table")
    assert table.locator("tbody tr").count() == 2
    assert "إدارة الحقوق" in table.inner_text() and "الأراضي" in table.inner_text()
    assert page.locator("svg[role=img]").count() == 6
    # The charts are drawn: the received/issued chart has four bars, a value on each.
    assert page.locator("#chart-flow rect.chart-bar").count() == 4
    box = page.locator("#chart-flow svg").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    # Printed: the forms go, the table behind each chart comes out of its <details>.
    page.emulate_media(media="print")
    assert page.locator("#chart-flow table.chart-table").is_visible()
    assert not page.locator("form.filters").is_visible()
    page.emulate_media(media="screen")
    assert not page.locator("#chart-flow table.chart-table").is_visible()
    # The first department's received figure leads to its list.
    table.locator("tbody tr").first.locator("td a").first.click()
    page.wait_for_url("**/dashboards/transactions/list**")
    assert page.locator("tbody tr").count() >= 1


def test_a_department_s_staff_see_their_department_only(as_user, site):
    page = as_user("lands.coord")
    page.goto(f"{site}/dashboards/transactions?lang=en&{NOVEMBER}")
    text = page.locator(".figures-table").inner_text()
    assert "Lands" in text and "Rights" not in text


@pytest.mark.parametrize("login", ["moi.spec", "moi.leader"])
def test_no_transactions_for_a_specialist_or_an_agency_leader(as_user, site, login):
    page = as_user(login)
    # The agency leader has Citizen's Voice's dashboard; the specialist none at all.
    assert page.get_by_role("link", name="لوحات المتابعة").count() == (
        1 if login == "moi.leader" else 0)
    response = page.goto(f"{site}/dashboards/transactions")
    assert response is not None and response.status == 403


def test_the_downloads(as_user, site):
    page = as_user("leader.ship")
    page.goto(f"{site}/dashboards/transactions?lang=en&{NOVEMBER}")
    with page.expect_download() as csv_download:
        page.locator(".downloads a", has_text="(CSV)").first.click()
    data = Path(csv_download.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"Lands" in data
    with page.expect_download() as xlsx_download:
        page.locator(".downloads a", has_text="(XLSX)").click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    assert Path(xlsx_download.value.path()).read_bytes()[:2] == b"PK"
