""""My transactions" on the portal (gateway/my_portal.py): the national ID (Arabic-Indic
digits too) asks for a code with one answer whatever the ID, the code shows the list,
the page signs out on idle and with its button; a wrong code shows nothing."""

from __future__ import annotations

import re

import pytest

from gateway import my_portal
from tests import factories as f
from tests.conftest import csrf_token, last_code

ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.fixture
def applicant(core):
    core.upsert_department("RIGHTS", f.department())
    core.upsert_agency("MOI", f.agency())
    core.record_event(f.registered("4470001", occurred_at="2026-10-01T09:00:00+03:00"))
    core.record_event(f.registered("4470002", occurred_at="2026-11-01T09:00:00+03:00"))
    core.record_event(f.event("referred", "4470001", "2026-10-02T09:00:00+03:00",
                              department="RIGHTS"))
    core.record_event(f.event("issued", "4470001", "2026-10-03T09:00:00+03:00",
                              outgoing_number="OUT-77", destination_agency="MOI"))
    return core


def ask(client, national_id: str, lang: str = "ar"):
    token = csrf_token(client, f"/my-transactions/?lang={lang}")
    return client.post("/my-transactions/", data={"csrf_token": token, "lang": lang,
                                                  "national_id": national_id})


def type_code(client, code: str, lang: str = "ar"):
    token = csrf_token(client, f"/my-transactions/code?lang={lang}")
    return client.post("/my-transactions/code", data={"csrf_token": token, "lang": lang,
                                                      "code": code})


def test_the_code_unlocks_the_list_newest_first(applicant, client):
    asked = ask(client, f.NATIONAL_ID.translate(ARABIC))
    assert asked.status_code == 303 and asked.location.endswith("/my-transactions/code?lang=ar")
    shown = type_code(client, last_code(applicant).translate(ARABIC))
    assert shown.status_code == 303
    page = client.get("/my-transactions/list?lang=en").get_data(as_text=True)
    assert page.index("4470002") < page.index("4470001")
    assert "OUT-77" in page and "Ministry of Interior" in page and "Rights Department" in page
    assert "AH" in page  # Hijri with Gregorian
    out = client.post("/my-transactions/sign-out", data={
        "csrf_token": csrf_token(client, "/my-transactions/list?lang=en"), "lang": "en"})
    assert out.status_code == 303
    assert client.get("/my-transactions/list").status_code == 303


def test_an_id_with_and_without_transactions_gets_the_same_page(applicant, client):
    with_ = ask(client, f.NATIONAL_ID)
    with_page = client.get(with_.location).get_data(as_text=True)
    without = ask(client, f.national_id_with_check_digit("105555555"))
    without_page = client.get(without.location).get_data(as_text=True)
    assert with_.status_code == without.status_code == 303
    strip = re.compile(r'name="csrf_token" value="[^"]+"')
    assert strip.sub("", with_page) == strip.sub("", without_page)


def test_a_wrong_code_shows_nothing(applicant, client):
    ask(client, f.NATIONAL_ID)
    code = last_code(applicant)
    wrong = type_code(client, f"{(int(code) + 1) % 1_000_000:06d}", "en")
    assert wrong.status_code == 422
    assert "not right" in wrong.get_data(as_text=True)
    assert client.get("/my-transactions/list").status_code == 303


def test_a_bad_id_is_told_in_the_citizens_language(applicant, client):
    refused = ask(client, "12345")
    assert refused.status_code == 422
    assert "4470001" not in refused.get_data(as_text=True)


def test_idle_signs_out(applicant, client, monkeypatch):
    ask(client, f.NATIONAL_ID)
    type_code(client, last_code(applicant))
    assert client.get("/my-transactions/list").status_code == 200
    real = my_portal.time.time
    monkeypatch.setattr(my_portal.time, "time", lambda: real() + my_portal.IDLE + 1)
    assert client.get("/my-transactions/list").status_code == 303
