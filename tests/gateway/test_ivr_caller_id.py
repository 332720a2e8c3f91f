"""The caller ID on the toll-free line, as an attacker tries it: forged with a VoIP
account, it opens nothing; only the network's full attestation (or the operator's
explicit ``ivr.trust_caller_id``) lets it stand for the caller.

Every request is signed by twilio's own RequestValidator: these are the calls Twilio
itself would relay, not forged webhooks.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.transactions.answer import Outcome
from core.transactions.inquiry import InquiryRequest
from core.transactions.models import InquiryLog
from tests import factories as f
from tests.channels.ivr.phone import ATTESTED, Phone
from tests.gateway.test_ivr_webhooks import NUMBER, call_row, ivr_settings

STATUS = "Referred to Rights Department"


@pytest.fixture
def settings(database_url, tmp_path):
    return ivr_settings(database_url, tmp_path)


def _number_keyed(phone: Phone, number: str = NUMBER) -> str:
    phone.call()
    phone.press("2")
    phone.press("1")  # the main menu: a transaction
    phone.press(number + "#")
    return phone.heard()


@pytest.mark.parametrize("verstat", [
    None, "TN-Validation-Passed-B", "TN-Validation-Passed-C", "TN-Validation-Failed-A",
    "No-TN-Validation", "tn-validation-passed-a", "TN-Validation-Passed-A ",
    "TN-Validation-Passed-AB"])
def test_a_forged_caller_id_hears_no_status_until_the_national_id(client, core, transaction,
                                                                 verstat):
    # The attacker sets the applicant's mobile as caller ID and walks the numbers.
    phone = Phone(client, caller=f.MOBILE_E164, verstat=verstat)
    heard = _number_keyed(phone)
    assert "national ID" in heard and STATUS not in heard
    assert phone.gather().attrib["action"].endswith("/ivr/input/national_id")
    # Any national ID will not do either: the forged caller ID is no credential.
    phone.press(f.OTHER_NATIONAL_ID + "#")
    assert "No transaction was found" in phone.heard() and STATUS not in phone.heard()
    assert call_row(core, phone).outcome == "not_found"
    phone.press("2")
    phone.press(NUMBER + "#")
    assert "national ID" in phone.heard() and STATUS not in phone.heard()
    phone.press(f.NATIONAL_ID + "#")  # the applicant's own ID: the status
    assert STATUS in phone.heard()


def test_forged_calls_do_not_lock_the_mobile_they_forge_out_of_sms(client, core,
                                                                   transaction):
    # Enough failed calls, each forging the victim's mobile, to trip any limit on it.
    for attempt in range(core.config.inquiry.max_failures + 2):
        phone = Phone(client, caller=f.MOBILE_E164)
        _number_keyed(phone, str(4479000 + attempt))
        phone.press(f.OTHER_NATIONAL_ID + "#")
    # The owner's own SMS from the registered mobile (the network authenticates the SIM).
    answer = core.inquire(InquiryRequest(channel="sms", number_text=NUMBER,
                                         mobile=f.MOBILE_E164, origin=f.MOBILE_E164))
    assert answer.outcome is Outcome.FOUND


def test_a_fully_attested_caller_id_alone_answers(client, core, transaction):
    # StirVerstat comes with the call's first webhook only: the line remembers it.
    phone = Phone(client, caller=f.MOBILE_E164, verstat=ATTESTED)
    heard = _number_keyed(phone)
    assert STATUS in heard and "national ID" not in heard
    assert all("StirVerstat" not in sent for sent in phone.sent[1:])
    row = call_row(core, phone)
    assert row.outcome == "status"
    assert row.path.split()[:2] == ["attested", "language"]
    assert "caller_id" in row.path.split()


def test_an_attested_caller_id_that_is_not_the_applicants_is_asked_for_the_id(
        client, core, transaction):
    phone = Phone(client, caller="+966569876543", verstat=ATTESTED)
    heard = _number_keyed(phone)
    assert "national ID" in heard and STATUS not in heard
    phone.press(f.NATIONAL_ID + "#")
    assert STATUS in phone.heard()
    core.inquiry_log.flush()
    with core.db.read() as session:
        logged = session.execute(select(InquiryLog.outcome, InquiryLog.requester_kind)).all()
    assert [tuple(row) for row in logged] == [("found", "national_id")]  # one inquiry


def test_trust_caller_id_lets_any_caller_id_answer(database_url, tmp_path, core,
                                                    transaction):
    from gateway.app import create_app

    settings = ivr_settings(database_url, tmp_path, trust_caller_id=True)
    client = create_app(settings, core).test_client()
    phone = Phone(client, caller=f.MOBILE_E164)  # no attestation at all
    heard = _number_keyed(phone)
    assert STATUS in heard and "national ID" not in heard
    assert call_row(core, phone).path.split()[0] == "language"
