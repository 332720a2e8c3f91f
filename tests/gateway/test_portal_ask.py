""""Ask about this transaction" on the portal's status answer page, through the Flask app:
the question is filed as an enquiry about the transaction once a code proves the mobile,
linked and held by its department when the national ID the status was proven with is
the applicant's; the national ID is never kept; errors in the citizen's language; a
stranger's forged form files an unlinked enquiry and the pages read alike."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.identity.national_id import hash_national_id
from core.voice.models import CaseDraft
from tests import factories as f
from tests.core.voice.conftest import EMIRATE, build_world, cases, hold_transaction, rights_id
from tests.gateway.test_voice_portal import confirm, csrf, last_code, text

NUMBER = "4471234"
OTHER_MOBILE_E164 = "+966569876543"


@pytest.fixture
def world(core):
    world = build_world(core)
    hold_transaction(core, NUMBER, mobile=f.OTHER_MOBILE)
    return world


def answer_page(client, lang: str = "ar", national_id: str = f.NATIONAL_ID) -> str:
    token = csrf(text(client.get(f"/?lang={lang}")))
    response = client.post("/inquiry", data={"csrf_token": token, "lang": lang,
                                             "number": NUMBER, "national_id": national_id})
    assert response.status_code == 200
    return text(response)


def ask(client, page: str, lang: str = "ar", **fields):
    hidden = dict(re.findall(r'<input type="hidden" name="(number|national_id)" '
                             r'value="([^"]*)"', page))
    data = {"csrf_token": csrf(page), "lang": lang, **hidden,
            "question": "هل ينقص معاملتي مستند؟", "mobile": "0551234567", **fields}
    return client.post("/citizen-voice/ask", data=data)




def test_the_question_is_filed_after_the_code_about_the_transaction(client, core, world):
    page = answer_page(client)
    assert 'action="/citizen-voice/ask"' in page and 'dir="rtl"' in page
    response = ask(client, page)
    assert response.status_code == 303 and "/citizen-voice/confirm" in response.location
    assert cases(core) == []
    with core.db.read() as session:
        [draft] = session.scalars(select(CaseDraft)).all()
        assert "national_id" not in draft.data["citizen"]  # kept only as its keyed hash
        assert f.NATIONAL_ID not in str(draft.data)
        assert draft.data["national_id_hash"] == hash_national_id(
            f.NATIONAL_ID, core.config.national_id_key())
    # Nor in the browser: the signed session cookie is readable by whoever holds it (a
    # shared computer's next user), so the national ID must not be in it.
        assert draft.data["transaction"] == NUMBER
    assert f.NATIONAL_ID not in _session_contents(client)
    assert confirm(client, last_code(core)).status_code == 303
    filed = text(client.get("/citizen-voice/filed"))
    assert "سُجّل استفسارك" in filed  # an enquiry, not a complaint
    [case] = cases(core)
    assert case.tracking in filed
    assert (case.case_type, case.channel, case.citizen_mobile) == \
        ("enquiry", "portal", "+966551234567")
    # The mobile is not the applicant's: the national ID proved the transaction is theirs.
    assert case.transaction_id is not None and case.department_id == rights_id(core)
    assert case.agency_id == world.agencies[EMIRATE]


def _session_contents(client) -> str:
    """What the portal's signed cookie says, decoded as anyone holding it could."""
    from flask.sessions import SecureCookieSessionInterface

    app = client.application
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    assert cookie is not None
    return str(serializer.loads(cookie.value))


def test_errors_in_the_citizen_s_language_and_nothing_filed(client, core, world):
    page = answer_page(client, "en")
    response = ask(client, page, "en", question="  ", mobile="12")
    assert response.status_code == 422
    body = text(response)
    assert "Write your question." in body and "Enter a mobile number such as" in body
    assert 'value="4471234"' in body  # the form again, with the number carried back
    response = ask(client, answer_page(client), question="")
    assert "اكتب سؤالك." in text(response) and 'dir="rtl"' in text(response)
    assert cases(core) == []


def test_a_forged_form_without_the_proof_files_an_unlinked_enquiry(client, core, world):
    stranger = answer_page(client)  # only for the CSRF token and the hidden number
    response = ask(client, stranger, national_id=f.OTHER_NATIONAL_ID)
    assert response.status_code == 303
    assert confirm(client, last_code(core)).status_code == 303
    [case] = cases(core)
    assert (case.case_type, case.transaction_id, case.department_id) == \
        ("enquiry", None, None)
    assert case.tracking in text(client.get("/citizen-voice/filed"))


def test_a_wrong_number_is_refused_in_words(client, core, world):
    response = ask(client, answer_page(client), number="abc")
    assert response.status_code == 422 and cases(core) == []


def test_without_the_csrf_token_nothing_is_filed(client, core, world):
    response = client.post("/citizen-voice/ask", data={
        "lang": "ar", "number": NUMBER, "question": "سؤال", "mobile": "0551234567"})
    assert response.status_code == 400 and cases(core) == []


def test_an_abandoned_question_lends_its_national_id_to_nothing_else(client, core, world):
    from tests.gateway.test_voice_portal import post_filing

    assert ask(client, answer_page(client)).status_code == 303  # no code typed
    # A complaint instead, in the same session (another mobile: no code cooldown).
    assert post_filing(client, mobile="0561112233").status_code == 303
    assert confirm(client, last_code(core, "+966561112233")).status_code == 303
    [case] = cases(core)
    assert (case.case_type, case.citizen_national_id_hash) == ("complaint", None)
