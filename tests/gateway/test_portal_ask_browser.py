""""Ask about this transaction" end to end in headless Chromium against the gateway under
waitress, in Arabic and without a line of script: the status answer, the question and the
mobile, the SMS code (read from the outbox row the SMS carries), the tracking number; the
question held by the department holding the transaction, whose answer is queued to the
citizen's mobile by SMS."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.access.actors import COORDINATOR, Actor
from core.access.models import StaffUser
from core.directory.models import Department
from core.messaging.models import Notification
from core.voice.categories import agency_by_code
from core.voice.models import VoiceCase
from tests import factories as f
from tests.gateway.test_voice_browser import site as site  # noqa: F401  (fixture)
from tests.gateway.test_voice_portal_browser import ARABIC, MOBILE, MOBILE_E164, code_step

pytestmark = pytest.mark.browser


@pytest.fixture
def citizen(chromium, site):  # noqa: F811
    context = chromium.new_context(viewport={"width": 420, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == []


def test_asking_about_a_transaction_from_its_status_page(citizen, site, core,  # noqa: F811
                                                        transaction):
    citizen.goto(f"{site}/")
    citizen.get_by_label("رقم المعاملة").fill(transaction.translate(ARABIC))
    citizen.get_by_label("رقم الهوية الوطنية أو الإقامة").fill(f.NATIONAL_ID)
    citizen.locator("form button[type=submit]").click()
    assert (citizen.get_attribute("html", "lang"), citizen.get_attribute("html", "dir")) \
        == ("ar", "rtl")
    assert citizen.locator("script").count() == 0
    assert "اسأل عن هذه المعاملة" in citizen.locator("#ask-title").inner_text()

    # Nothing written: said on the field, in Arabic; nothing filed.
    citizen.get_by_role("button", name="أرسل إليّ الرمز").click()
    assert "اكتب سؤالك." in citizen.locator("main").inner_text()

    citizen.get_by_label("سؤالك").fill("هل ينقص معاملتي أي مستند؟")
    citizen.get_by_label("رقم جوالك").fill(MOBILE.translate(ARABIC))
    citizen.get_by_role("button", name="أرسل إليّ الرمز").click()
    code_step(citizen, core)
    tracking = citizen.locator("#tracking").inner_text().strip()
    assert re.fullmatch(r"\d{10}", tracking)

    with core.db.read() as session:
        case = session.scalars(select(VoiceCase).where(VoiceCase.tracking == tracking)).one()
        rights = session.scalars(select(Department.id)
                                 .where(Department.code == "RIGHTS")).one()
        emirate = agency_by_code(session, "EMIRATE").id
    assert (case.case_type, case.channel, case.citizen_mobile) == \
        ("enquiry", "portal", MOBILE_E164)
    assert (case.department_id, case.agency_id) == (rights, emirate)

    # The department's coordinator answers; the answer goes to the citizen's mobile.
    with core.db.write.begin() as session:
        user = StaffUser(login="rights.coord", name="rights.coord", role=COORDINATOR,
                         agency_id=emirate, department_id=rights, password_hash="-")
        session.add(user)
        session.flush()
        coordinator = Actor(user.id, user.login, user.name, COORDINATOR, emirate,
                            department_id=rights)
    core.voice.act(coordinator, tracking, {"action": "answer", "text": "لا ينقصها شيء."})
    with core.db.read() as session:
        bodies = list(session.scalars(select(Notification.body).where(
            Notification.recipient == MOBILE_E164, Notification.channel == "sms",
            Notification.kind == "voice_answered")))
    assert len(bodies) == 1 and "لا ينقصها شيء." in bodies[0] and tracking in bodies[0]
