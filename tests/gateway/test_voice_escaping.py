"""An attacker's complaint: markup in the text and the name, filed through the API, is
shown escaped on every staff page that lists or shows the case (inbox, queue, the
leader's and leadership's lists, the case page with its similar cases) and in Open311's
JSON and XML."""

from __future__ import annotations

import json
from xml.etree import ElementTree

from tests.core.voice.conftest import MUN
from tests.core.voice.conftest import world as world  # noqa: F401  (the fixture)
from tests.gateway.test_voice_pages import as_user, text
from tests.gateway.test_voice_pages import staff as staff  # noqa: F401  (the fixture)

SCRIPT = "<script>alert(1)</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
PAYLOAD = f"شكوى {SCRIPT} عن الرصيف {IMAGE} أمام المدرسة"
RAW = ("<script>alert(1)", "<img src=x", "onerror=alert(1)>")


def test_markup_from_a_citizen_is_escaped_on_every_page(app, client, core, staff,
                                                        kiosk_auth):
    core.voice.upsert_category("MUN-ROADS", {
        "agency": MUN, "name_ar": "الطرق", "name_en": "Roads", "types": ["complaint"]})
    trackings = []
    for _ in range(2):  # two alike: each is the other's similar case
        response = client.post("/api/v1/cases", headers=kiosk_auth, json={
            "type": "complaint", "text": PAYLOAD, "agency": MUN, "category": "MUN-ROADS",
            "channel": "kiosk", "lang": "ar",
            "citizen": {"mobile": "0551234567", "name": IMAGE}})
        assert response.status_code == 201, response.data
        trackings.append(response.get_json()["tracking"])
    first, second = trackings
    staff.act(staff.coordinator(MUN), second, "assign", user=staff.specialist(MUN).login)

    pages = {
        "inbox": ("coord_MUN", "/voice/inbox"),
        "case": ("coord_MUN", f"/voice/cases/{first}"),
        "case (en)": ("coord_MUN", f"/voice/cases/{first}?lang=en"),
        "queue": ("spec_MUN", "/voice/queue"),
        "assigned case": ("spec_MUN", f"/voice/cases/{second}"),
        "leader's list": ("leader_MUN", "/voice/cases"),
        "leader's case": ("leader_MUN", f"/voice/cases/{first}"),
        "leadership's list": ("leadership", "/voice/cases"),
    }
    for name, (user, path) in pages.items():
        response = as_user(app, core, staff, user).get(path)
        assert response.status_code == 200, name
        page = text(response)
        for raw in RAW:
            assert raw not in page, (name, raw)
        listed = first in page or second in page
        assert listed, name
    case_page = text(as_user(app, core, staff, "coord_MUN").get(f"/voice/cases/{first}"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in case_page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in case_page
    assert 'id="similar"' in case_page and case_page.count("&lt;script&gt;") >= 2

    for path in (f"/open311/v2/requests/{first}.json", "/open311/v2/requests.json"):
        body = client.get(path).get_data(as_text=True)
        for raw in RAW:
            assert raw not in body, (path, raw)
        assert SCRIPT in json.loads(body)[0]["description"]
    for path in (f"/open311/v2/requests/{first}.xml", "/open311/v2/requests.xml"):
        body = client.get(path).data
        for raw in RAW:
            assert raw.encode() not in body, (path, raw)
        assert SCRIPT in ElementTree.fromstring(body).findtext("request/description")
