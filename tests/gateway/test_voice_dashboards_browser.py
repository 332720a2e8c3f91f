"""Citizen's Voice's dashboards in real headless Chromium, role by role: leadership sees
every agency, an agency leader only theirs, a specialist no dashboard; a figure leads to
its cases; the public transparency page opens without signing in. Nothing the page loads
is refused by the Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from tests.core.voice.conftest import HEALTH, MUN, World
from tests.core.voice.conftest import world as world  # noqa: F401  (the fixture)
from tests.gateway.live import add_staff, serving, signed_in_pages

pytestmark = pytest.mark.browser

STAFF = {"leader.ship": ("leadership", None), "mun.leader": ("agency_leader", MUN),
         "mun.spec": ("specialist", MUN)}


@pytest.fixture
def site(app, core, world: World) -> Iterator[tuple[str, World]]:  # noqa: F811
    add_staff(core, STAFF)
    world.trackings = [world.file(agency=MUN), world.file(agency=MUN),
                       world.file(agency=HEALTH)]
    core.dashboards.refresh("test", timedelta(minutes=1))
    with serving(app) as url:
        yield url, world


@pytest.fixture
def as_user(chromium, site) -> Iterator[Callable]:
    url, _world = site
    with signed_in_pages(chromium, url, "/dashboards/") as open_as:
        yield open_as


def _period(world: World) -> str:
    day = world.clock.date()
    return f"from={day - timedelta(days=3)}&to={day + timedelta(days=3)}"


def test_leadership_sees_every_agency_and_opens_a_figure_s_cases(as_user, site):
    url, world = site
    page = as_user("leader.ship")
    page.wait_for_url("**/dashboards/voice**")
    page.goto(f"{url}/dashboards/voice?lang=en&{_period(world)}")
    agencies = page.locator("#agencies-title + .table-scroll tbody th").all_inner_texts()
    assert sorted(agencies) == ["HEALTH", "MUN"]
    assert page.locator("svg[role=img]").count() >= 5
    page.locator(".figures-table a").first.click()
    page.wait_for_url("**/dashboards/voice/cases**")
    shown = page.locator("tbody th a").all_inner_texts()
    assert sorted(shown) == sorted(world.trackings)


def test_an_agency_leader_sees_only_their_agency(as_user, site):
    url, world = site
    page = as_user("mun.leader")
    page.goto(f"{url}/dashboards/voice?lang=en&{_period(world)}")
    assert page.locator("#agencies-title").count() == 0
    assert page.locator("#late-title").count() == 1
    page.goto(f"{url}/dashboards/voice/cases?lang=en&figure=received&{_period(world)}")
    shown = page.locator("tbody th a").all_inner_texts()
    assert sorted(shown) == sorted(world.trackings[:2])


def test_a_specialist_has_no_dashboard(as_user, site):
    url, _world = site
    page = as_user("mun.spec")
    assert page.get_by_role("link", name="لوحات المتابعة").count() == 0
    response = page.goto(f"{url}/dashboards/voice")
    assert response is not None and response.status == 403


def test_the_public_page_opens_without_signing_in(as_user, site):
    url, world = site
    page = as_user(None)
    response = page.goto(f"{url}/transparency")
    assert response is not None and response.status == 200
    assert page.locator("html").get_attribute("dir") == "rtl"
    body = page.locator("main").inner_text()
    assert all(tracking not in body for tracking in world.trackings)
