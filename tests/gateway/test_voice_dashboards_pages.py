"""Citizen's Voice's dashboards and the public transparency page through the Flask app:
leadership sees every agency side by side, an agency leader only theirs (with the late
cases), a coordinator or specialist no dashboard; every figure links to its live list; the
downloads; the public page without signing in and without a tracking number or a name."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import time_machine

from core.access.models import StaffUser
from tests.core.voice.conftest import HEALTH, MUN, T0, World
from tests.core.voice.conftest import world as world  # noqa: F401  (the fixture)


@pytest.fixture
def staff(world: World, core):  # noqa: F811
    """Three complaints at MUN (one answered), one at HEALTH; the summary refreshed."""
    with core.db.write.begin() as session:
        for user in session.query(StaffUser):
            user.must_change_password = False
    world.trackings = [world.file(agency=MUN), world.file(agency=MUN),
                       world.walk("complaint", "answered", agency=MUN),
                       world.file(agency=HEALTH)]
    core.dashboards.refresh("test", timedelta(minutes=1), now=world.clock + timedelta(days=1))
    return world


def client_of(app, core, world: World, name: str):
    client = app.test_client()
    sid = core.staff_sessions.open_for_user(world.users[name].user_id)
    with client.session_transaction() as held:
        held["staff_user"] = {"sid": sid}
    return client


def period() -> str:
    day = T0.date()
    return f"from={day - timedelta(days=3)}&to={day + timedelta(days=3)}"


@pytest.fixture(autouse=True)
def _after_the_cases():
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        yield


def test_leadership_sees_every_agency_with_the_previous_period(app, core, staff):
    page = client_of(app, core, staff, "leadership").get(
        f"/dashboards/voice?lang=en&{period()}").get_data(as_text=True)
    assert "Every agency, this period and the previous" in page
    assert ">MUN<" in page and ">HEALTH<" in page
    assert "Figures as of" in page
    assert "/dashboards/voice/cases?" in page and "figure=received" in page
    assert page.count('role="img"') >= 5 and ' style="' not in page


def test_an_agency_leader_sees_only_theirs_with_the_late_cases(app, core, staff):
    client = client_of(app, core, staff, "leader_MUN")
    page = client.get(f"/dashboards/voice?lang=en&{period()}").get_data(as_text=True)
    assert "Citizen&#39;s Voice: my agency" in page or "Citizen's Voice: my agency" in page
    assert ">HEALTH<" not in page
    assert "Late cases and what each awaits" in page
    assert "Volumes by specialist" in page
    # Another agency is not found, exactly as one that does not exist; their own is.
    for agency in ("HEALTH", "NOPE"):
        other = client.get(f"/dashboards/voice?lang=en&agency={agency}&{period()}")
        assert other.status_code == 404, agency
        assert "There is no such agency." in other.get_data(as_text=True)
        assert ">HEALTH<" not in other.get_data(as_text=True)
        listed = client.get(f"/dashboards/voice/cases?lang=en&figure=received&agency={agency}")
        assert listed.status_code == 404
    assert client.get(f"/dashboards/voice?lang=en&agency=MUN&{period()}").status_code == 200
    listed = client.get(f"/dashboards/voice/cases?lang=en&figure=received&{period()}")
    text = listed.get_data(as_text=True)
    assert listed.status_code == 200
    assert all(t in text for t in staff.trackings[:3]) and staff.trackings[3] not in text


@pytest.mark.parametrize("who", ["coord_MUN", "spec_MUN"])
def test_a_coordinator_or_specialist_has_no_dashboard(app, core, staff, who):
    client = client_of(app, core, staff, who)
    assert client.get("/dashboards/voice").status_code == 403
    assert client.get("/dashboards/voice/cases?figure=received").status_code == 403
    assert client.get("/dashboards/").status_code == 403


def test_each_role_goes_to_its_dashboard(app, core, staff):
    response = client_of(app, core, staff, "leadership").get("/dashboards/")
    assert response.status_code == 303 and "/dashboards/voice" in response.headers["Location"]


def test_an_unknown_figure_is_a_404(app, core, staff):
    client = client_of(app, core, staff, "leadership")
    assert client.get("/dashboards/voice/cases?figure=everything").status_code == 404


def test_the_voice_downloads(app, core, staff):
    client = client_of(app, core, staff, "leadership")
    response = client.get(f"/dashboards/voice?lang=en&{period()}&format=csv&table=agencies")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "Agency" and {row[0] for row in rows[1:]} == {"MUN", "HEALTH"}
    assert [row[1] for row in rows[1:] if row[0] == "MUN"] == ["3"]
    book = client.get(f"/dashboards/voice?{period()}&format=xlsx")
    assert book.data[:2] == b"PK"


def test_the_public_page_is_kept_for_one_refresh_interval(client, core, staff, settings):
    response = client.get("/transparency?lang=en")
    assert response.status_code == 200
    assert response.cache_control.public
    assert response.cache_control.max_age == settings.scheduler.dashboards_seconds
    assert "no-store" not in response.headers["Cache-Control"]
    assert "Set-Cookie" not in response.headers
    # The signed-in pages are never kept.
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_the_public_page_needs_no_sign_in_and_names_no_one(client, core, staff):
    response = client.get("/transparency?lang=en")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert ">MUN<" in page  # MUN answered one complaint in the month
    for tracking in staff.trackings:
        assert tracking not in page
    assert "<form" not in page.split("<main", 1)[1]
    assert 'dir="rtl"' in client.get("/transparency").get_data(as_text=True)
