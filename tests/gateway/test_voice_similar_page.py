"""The case page's similar cases: shown to the coordinator who may merge, each linking to
its case with a button that merges this case into it; shown to nobody else."""

from __future__ import annotations

from tests.core.voice.conftest import MUN
from tests.core.voice.conftest import world as world  # noqa: F401  (the fixture)
from tests.core.voice.test_similar import RETYPED, WRITTEN, file
from tests.gateway.test_voice_pages import as_user, csrf, text
from tests.gateway.test_voice_pages import staff as staff  # noqa: F401  (the fixture)


def test_the_coordinator_sees_similar_cases_and_merges_with_one_button(app, core, staff):
    first, again = file(staff, WRITTEN), file(staff, RETYPED)
    coordinator = as_user(app, core, staff, "coord_MUN")
    page = text(coordinator.get(f"/voice/cases/{again}?lang=en"))
    assert 'id="similar"' in page and "Similar open cases" in page
    assert f'href="/voice/cases/{first}?lang=en"' in page
    assert f'name="into" value="{first}"' in page
    assert "حالات مفتوحة مشابهة" in text(coordinator.get(f"/voice/cases/{again}"))
    response = coordinator.post(f"/voice/cases/{again}", data={
        "csrf_token": csrf(page), "lang": "en", "action": "merge", "into": first})
    assert response.status_code == 303
    merged = core.voice.case(staff.users["leadership"], again)
    assert merged.state == "duplicate" and merged.duplicate_of == first
    # The one merged into lists the duplicate no more (it is not open).
    assert 'id="similar"' not in text(coordinator.get(f"/voice/cases/{first}?lang=en"))


def test_nobody_else_sees_them(app, core, staff):
    file(staff, WRITTEN)
    again = file(staff, RETYPED)
    staff.act(staff.coordinator(MUN), again, "assign", user=staff.specialist(MUN).login)
    for user in ("spec_MUN", "leader_MUN", "leadership"):
        page = as_user(app, core, staff, user).get(f"/voice/cases/{again}?lang=en")
        assert page.status_code == 200 and 'id="similar"' not in text(page), user
    for user in ("coord_HEALTH", "leader_HEALTH"):
        assert as_user(app, core, staff, user).get(f"/voice/cases/{again}").status_code \
            == 404
