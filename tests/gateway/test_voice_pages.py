"""The staff web app of Citizen's Voice through the Flask app: each role's home and scope
(never a row of another agency; leaders see citizens masked), the case page's forms
offered exactly as the core would accept them, refusals shown on the page with nothing
changed (403, 409, a missing reason, a bad tracking number), CSRF on every form, and the
admin's categories and calendar."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine

from core.access.actors import Actor
from core.access.models import StaffUser
from gateway import voice_format as fmt
from tests.core.voice.conftest import EMIRATE, HEALTH, MUN, PROOF, T0, World
from tests.core.voice.conftest import world as world  # noqa: F401  (the fixture)

ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.fixture
def staff(world: World, core):
    """Every world user may sign in (no password to choose first)."""
    with core.db.write.begin() as session:
        for user in session.query(StaffUser):
            user.must_change_password = False
    return world


def sign_in(client, core, actor: Actor):
    sid = core.staff_sessions.open_for_user(actor.user_id)
    with client.session_transaction() as held:
        held["staff_user"] = {"sid": sid}
    return client


def as_user(app, core, world: World, name: str):
    return sign_in(app.test_client(), core, world.users[name])


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def post_action(client, tracking: str, action: str, lang: str = "en", **fields):
    page = client.get(f"/voice/cases/{tracking}?lang={lang}").get_data(as_text=True)
    return client.post(f"/voice/cases/{tracking}", data={
        "csrf_token": csrf(page), "lang": lang, "action": action, **fields})


def text(response) -> str:
    return response.get_data(as_text=True)


# --- homes and scope ----------------------------------------------------------------------


@pytest.mark.parametrize(("user", "home"), [
    ("coord_MUN", "/voice/inbox"), ("spec_MUN", "/voice/queue"),
    ("leader_MUN", "/voice/cases"), ("leadership", "/voice/cases"),
    ("admin", "/admin/users")])
def test_each_role_goes_home(app, core, staff, user, home):
    response = as_user(app, core, staff, user).get("/voice/")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(home)


def test_a_visitor_not_signed_in_goes_to_sign_in(client):
    response = client.get("/voice/inbox")
    assert response.status_code == 303 and "/login" in response.headers["Location"]


def test_the_inbox_is_arabic_first_and_shows_only_the_agencys_cases(app, core, staff):
    mine, theirs = staff.file(agency=MUN), staff.file(agency=HEALTH)
    page = text(as_user(app, core, staff, "coord_MUN").get("/voice/inbox"))
    assert '<html lang="ar" dir="rtl">' in page
    assert mine in page and theirs not in page
    assert 'aria-current="page"' in page and "(1)" in page
    english = text(as_user(app, core, staff, "coord_MUN").get("/voice/inbox?lang=en"))
    assert '<html lang="en" dir="ltr">' in english and "Coordinator's inbox" in english


def test_the_inbox_pages_by_cursor(app, core, staff):
    numbers = [staff.file(agency=MUN) for _ in range(52)]
    client = as_user(app, core, staff, "coord_MUN")
    first = text(client.get("/voice/inbox?tab=new&lang=en"))
    link = re.search(r'rel="next" href="([^"]+)"', first)
    assert link and "(52)" in first
    second = text(client.get(link.group(1).replace("&amp;", "&")))
    shown = {n for n in numbers if n in first} | {n for n in numbers if n in second}
    assert shown == set(numbers)
    assert not {n for n in numbers if n in first} & {n for n in numbers if n in second}
    assert client.get("/voice/inbox?tab=nonsense").status_code == 404
    assert client.get("/voice/inbox?after=garbage").status_code == 422


def test_the_specialist_sees_only_what_is_assigned_to_them(app, core, staff):
    mine = staff.walk("complaint", "in_progress")
    other = staff.file(agency=MUN)
    client = as_user(app, core, staff, "spec_MUN")
    page = text(client.get("/voice/queue"))
    assert mine in page and other not in page
    assert client.get(f"/voice/cases/{other}").status_code == 404
    assert client.get("/voice/inbox").status_code == 403


def test_another_agencys_specialist_gets_the_same_404_as_no_case(app, core, staff):
    tracking = staff.walk("complaint", "in_progress")
    client = as_user(app, core, staff, "spec_HEALTH")
    theirs = client.get(f"/voice/cases/{tracking}?lang=en")
    missing = client.get("/voice/cases/7000000000?lang=en")
    assert theirs.status_code == missing.status_code == 404
    assert text(theirs) == text(missing)
    assert tracking not in text(theirs)


def test_the_agency_leader_sees_the_agencys_list_redacted(app, core, staff):
    mine, theirs = staff.walk("complaint", "assigned"), staff.file(agency=HEALTH)
    client = as_user(app, core, staff, "leader_MUN")
    listing = text(client.get("/voice/cases?lang=en"))
    assert mine in listing and theirs not in listing
    case = text(client.get(f"/voice/cases/{mine}?lang=en"))
    assert "0551234567" not in case and "+966551234567" not in case
    assert "سارة" not in case and "Shown masked" in case
    assert "What you can do" in case and 'name="action" value="comment"' in case
    assert 'value="assign"' not in case
    assert client.get(f"/voice/cases/{theirs}").status_code == 404


def test_leadership_sees_every_agency_and_filters_by_one(app, core, staff):
    mun, health = staff.file(agency=MUN), staff.file(agency=HEALTH)
    client = as_user(app, core, staff, "leadership")
    every = text(client.get("/voice/cases?lang=en"))
    assert mun in every and health in every
    only = text(client.get("/voice/cases?lang=en&agency=HEALTH"))
    assert health in only and mun not in only
    for days, late in ((0, False), (30, True)):  # 10 working days to answer
        with time_machine.travel(T0 + timedelta(days=days, hours=1), tick=False):
            late_only = text(as_user(app, core, staff, "leadership").get(
                "/voice/cases?lang=en&late=1"))
        assert (mun in late_only, health in late_only) == (late, late)
    case = text(client.get(f"/voice/cases/{mun}?lang=en"))
    assert "+966551234567" not in case


def test_the_list_filters_refuse_bad_input_in_the_users_language(app, core, staff):
    client = as_user(app, core, staff, "leader_MUN")
    bad_date = client.get("/voice/cases?from=yesterday")
    assert bad_date.status_code == 422 and 'role="alert"' in text(bad_date)
    assert "2026-11-22" in text(bad_date)
    assert client.get("/voice/cases?state=lost&lang=en").status_code == 422
    assert client.get("/voice/cases?category=nope&lang=en").status_code == 422
    backwards = client.get("/voice/cases?from=2026-11-22&to=2026-11-01&lang=en")
    assert backwards.status_code == 422 and "ends before it begins" in text(backwards)
    arabic = client.get("/voice/cases?from=" + "2026-11-01".translate(ARABIC))
    assert arabic.status_code == 200


def test_the_search_box_takes_arabic_indic_digits(app, core, staff):
    tracking = staff.file(agency=MUN)
    client = as_user(app, core, staff, "coord_MUN")
    typed = f"{tracking[:4]} {tracking[4:]}".translate(ARABIC)
    response = client.get("/voice/find", query_string={"tracking": typed})
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/voice/cases/{tracking}")
    assert client.get("/voice/find?tracking=12345").status_code == 404


# --- the case page ------------------------------------------------------------------------


def test_the_case_page_shows_history_clock_and_hijri_dates(app, core, staff):
    tracking = staff.walk("complaint", "awaiting_citizen")
    page = text(as_user(app, core, staff, "coord_MUN").get(f"/voice/cases/{tracking}"))
    assert "هـ" in page and "م)" in page  # Hijri with the Gregorian beside it
    assert "السياسة" in page and "Policy" not in page
    english = text(as_user(app, core, staff, "coord_MUN").get(
        f"/voice/cases/{tracking}?lang=en"))
    for fact in ("(the emirate&#39;s default)", "Calendar version", "Paused: awaiting the citizen",
                 "Pauses (awaiting the citizen)", "still paused", "Information requested",
                 "In progress → Awaiting the citizen", "spec_mun"):
        assert fact in english, fact
    assert '<th scope="col">' in english


def test_the_history_says_who_acted_in_arabic_not_citizen_or_system(app, core, staff):
    """An Arabic reader sees "مواطن" for the citizen's reply, not the English "citizen";
    staff logins stay as written."""
    tracking = staff.walk("complaint", "awaiting_citizen")
    core.voice.citizen_act(tracking, "citizen_reply", PROOF, text="الموقع أمام المدرسة")
    page = text(as_user(app, core, staff, "coord_MUN").get(f"/voice/cases/{tracking}"))
    cells = re.findall(r"<td(?: dir=\"ltr\")?>([^<]*)</td>", page)
    assert "مواطن" in cells and "spec_mun" in cells
    assert "citizen" not in cells and "system" not in cells
    english = text(as_user(app, core, staff, "coord_MUN").get(
        f"/voice/cases/{tracking}?lang=en"))
    assert "<td>Citizen</td>" in english


def test_the_forms_offered_are_the_actions_the_core_accepts(app, core, staff):
    tracking = staff.file(agency=MUN)
    coordinator = text(as_user(app, core, staff, "coord_MUN").get(
        f"/voice/cases/{tracking}?lang=en"))
    offered = set(re.findall(r'name="action" value="([a-z_]+)"', coordinator))
    assert offered == {"route", "assign", "answer", "not_competent", "merge", "close",
                       "comment"}  # request_info once assigned
    assert 'value="spec_mun"' in coordinator and 'value="spec_health"' not in coordinator
    assert 'value="HEALTH"' in coordinator and '<option value="MUN"' not in coordinator


def test_a_refused_action_is_told_on_the_page_and_changes_nothing(app, core, staff):
    tracking = staff.walk("complaint", "answer_drafted")
    coordinator = as_user(app, core, staff, "coord_MUN")
    missing = post_action(coordinator, tracking, "send_back")
    assert missing.status_code == 422
    assert "Give the reason" in text(missing) and 'aria-invalid="true"' in text(missing)
    assert staff.voice.case(staff.users["leadership"], tracking).state == "answer_drafted"

    specialist = as_user(app, core, staff, "spec_MUN")
    page = text(specialist.get(f"/voice/cases/{tracking}?lang=en"))
    forbidden = specialist.post(f"/voice/cases/{tracking}", data={
        "csrf_token": csrf(page), "lang": "en", "action": "approve"})
    assert forbidden.status_code == 403 and "not allowed" in text(forbidden)

    page = text(coordinator.get(f"/voice/cases/{tracking}?lang=en"))
    staff.act(staff.coordinator(MUN), tracking, "approve")  # someone else, meanwhile
    stale = coordinator.post(f"/voice/cases/{tracking}", data={
        "csrf_token": csrf(page), "lang": "en", "action": "send_back", "reason": "again"})
    assert stale.status_code == 409 and "moved on" in text(stale)
    arabic = post_action(coordinator, tracking, "approve", lang="ar")
    assert arabic.status_code == 409 and "تغيرت" in text(arabic)
    assert staff.voice.case(staff.users["leadership"], tracking).state == "answered"


def test_every_form_needs_its_csrf_token(app, core, staff):
    tracking = staff.file(agency=MUN)
    client = as_user(app, core, staff, "coord_MUN")
    forged = client.post(f"/voice/cases/{tracking}", data={
        "lang": "en", "action": "close", "reason": "spam"})
    assert forged.status_code == 400 and "expired" in text(forged)
    assert staff.voice.case(staff.users["leadership"], tracking).state == "received"
    admin = as_user(app, core, staff, "admin")
    assert admin.post("/admin/calendar/holidays", data={
        "holiday-first": "2027-03-20"}).status_code == 400
    assert admin.post("/admin/categories", data={"code": "x"}).status_code == 400
    assert not core.voice.calendar_state().holidays


def test_bad_input_is_a_clear_4xx_never_a_500(app, core, staff):
    tracking = staff.file(agency=MUN)
    client = as_user(app, core, staff, "coord_MUN")
    assert post_action(client, tracking, "fly").status_code == 422
    assert post_action(client, tracking, "assign", user="nobody").status_code == 422
    assert post_action(client, tracking, "route", agency="NOPE").status_code == 422
    assert post_action(client, tracking, "merge", into="123").status_code == 422
    too_long = post_action(client, tracking, "close", reason="x" * 5000)
    assert too_long.status_code == 422
    assert post_action(client, "7000000000", "close", reason="x").status_code == 404
    assert client.get("/voice/cases/%00%FF").status_code == 404
    assert staff.voice.case(staff.users["leadership"], tracking).state == "received"


def test_merge_takes_the_other_tracking_number_in_arabic_digits(app, core, staff):
    first, second = staff.file(agency=MUN), staff.file(agency=MUN)
    client = as_user(app, core, staff, "coord_MUN")
    response = post_action(client, second, "merge", into=first.translate(ARABIC))
    assert response.status_code == 303
    view = staff.voice.case(staff.users["leadership"], second)
    assert view.state == "duplicate" and view.duplicate_of == first


# --- the admin's pages ----------------------------------------------------------------------


def admin_post(client, path: str, page: str, **fields):
    form = text(client.get(page))
    return client.post(path, data={"csrf_token": csrf(form), "lang": "en", **fields})


def test_the_admin_adds_and_edits_a_category_with_its_targets(app, core, staff):
    client = as_user(app, core, staff, "admin")
    created = admin_post(client, "/admin/categories", "/admin/categories?lang=en",
                         code="roads", agency=MUN, name_ar="الطرق", name_en="Roads",
                         types=["complaint", "suggestion"], active="1",
                         acknowledge="١d", answer="10d")
    assert created.status_code == 200 and "Category roads created." in text(created)
    rows = core.voice.category_rows(MUN)
    assert [(r.code, r.answer, r.types) for r in rows] == [
        ("roads", "10d", ["complaint", "suggestion"])]
    edit = text(client.get("/admin/categories?edit=roads&agency=MUN&lang=en"))
    assert 'value="Roads"' in edit
    bad = admin_post(client, "/admin/categories", "/admin/categories?lang=en",
                     code="roads", agency=MUN, name_ar="الطرق", name_en="Roads",
                     types=["complaint"], acknowledge="1d", answer="")
    assert bad.status_code == 422 and "both targets" in text(bad)
    assert core.voice.category_rows(MUN)[0].types == ["complaint", "suggestion"]
    policy = admin_post(client, "/admin/policies", "/admin/categories?lang=en",
                        agency=HEALTH, **{"policy-acknowledge": "4h",
                                          "policy-answer": "5d"})
    assert policy.status_code == 200
    assert [(p.acknowledge, p.answer) for p in core.voice.agency_policies(HEALTH)] == [
        ("4h", "5d")]
    assert as_user(app, core, staff, "coord_MUN").get("/admin/categories").status_code == 403


def test_the_admin_adds_and_removes_a_holiday_and_an_override(app, core, staff):
    client = as_user(app, core, staff, "admin")
    before = len(core.voice.calendar_state().versions)
    added = admin_post(client, "/admin/calendar/holidays", "/admin/calendar?lang=en",
                       **{"holiday-first": "2027-03-20", "holiday-through": "2027-03-22",
                          "holiday-name": "عيد الفطر"})
    assert added.status_code == 200 and "3 day(s) added" in text(added)
    state = core.voice.calendar_state()
    assert [h.day.isoformat() for h in state.holidays] == [
        "2027-03-20", "2027-03-21", "2027-03-22"]
    assert len(state.versions) == before + 1
    override = admin_post(client, "/admin/calendar/overrides", "/admin/calendar?lang=en",
                          **{"override-first": "2027-02-08", "override-through":
                             "2027-03-09",
                             "override-hours": "sun-thu=10:00-15:00".translate(ARABIC),
                             "override-name": "رمضان"})
    assert override.status_code == 200
    overlap = admin_post(client, "/admin/calendar/overrides", "/admin/calendar?lang=en",
                         **{"override-first": "2027-03-01", "override-through":
                            "2027-03-05", "override-hours": "sun=09:00-12:00"})
    assert overlap.status_code == 409 and "overlaps" in text(overlap)
    bad_hours = admin_post(client, "/admin/calendar/overrides", "/admin/calendar?lang=en",
                           **{"override-first": "2027-04-01", "override-through":
                              "2027-04-05", "override-hours": "someday=9-5"})
    assert bad_hours.status_code == 422
    removed = admin_post(client, "/admin/calendar/holidays/remove",
                         "/admin/calendar?lang=en", first="2027-03-21")
    assert removed.status_code == 200
    assert len(core.voice.calendar_state().holidays) == 2
    gone = core.voice.calendar_state().overrides[0]
    assert gone.hours["sun"] == ["10:00-15:00"]
    assert admin_post(client, f"/admin/calendar/overrides/{gone.id}/remove",
                      "/admin/calendar?lang=en").status_code == 200
    assert admin_post(client, f"/admin/calendar/overrides/{gone.id}/remove",
                      "/admin/calendar?lang=en").status_code == 404
    assert not core.voice.calendar_state().overrides


def test_a_suggestion_is_decided_not_approved(app, core, staff):
    tracking = staff.walk("suggestion", "answer_drafted")
    client = as_user(app, core, staff, "coord_MUN")
    page = text(client.get(f"/voice/cases/{tracking}?lang=en"))
    offered = set(re.findall(r'name="action" value="([a-z_]+)"', page))
    assert {"accept", "reject", "send_back"} <= offered and "approve" not in offered
    assert "Suggestion" in page and "Answer drafted" in page
    refused = post_action(client, tracking, "reject")
    assert refused.status_code == 422 and "Give the reason" in text(refused)
    accepted = post_action(client, tracking, "accept")
    assert accepted.status_code == 303
    page = text(client.get(accepted.headers["Location"]))
    assert "Done: Accepted." in page and "The answer sent" in page
    assert set(re.findall(r'name="action" value="([a-z_]+)"', page)) == {
        "plan", "implement", "close", "comment"}


def test_a_complaint_about_an_agencys_own_staff_stays_away_from_it(app, core, staff):
    tracking = staff.file(agency=MUN, about_own_staff=True)
    assert as_user(app, core, staff, "coord_MUN").get(
        f"/voice/cases/{tracking}").status_code == 404
    emirate = text(as_user(app, core, staff, "coord_EMIRATE").get(
        f"/voice/cases/{tracking}?lang=en"))
    assert "The agency's own staff (handled by the emirate)" in emirate
    assert '<option value="HEALTH"' in emirate and '<option value="MUN"' not in emirate
    assert tracking not in text(as_user(app, core, staff, "leader_MUN").get(
        "/voice/cases?lang=en"))


def test_an_action_that_takes_the_case_away_says_so(app, core, staff):
    tracking = staff.file(agency=MUN)
    client = as_user(app, core, staff, "coord_MUN")
    response = post_action(client, tracking, "not_competent", reason="ليست من اختصاصنا")
    assert response.status_code == 303
    landed = client.get(response.headers["Location"])
    assert landed.status_code == 200 and "The case has left your lists." in text(landed)
    assert staff.handling(tracking) == EMIRATE
    assert client.get(f"/voice/cases/{tracking}").status_code == 404
    probe = client.get("/voice/cases/7000000000?done=route&lang=en")
    # The form token carries the second it was signed in: two pages a second apart differ
    # there, and only there.
    assert "TOKEN" in same_page(text(probe)) == same_page(text(client.get(
        f"/voice/cases/{tracking}?done=route&lang=en")))


def same_page(page: str) -> str:
    """``page`` with its CSRF token (itsdangerous: data.timestamp.signature) masked."""
    return CSRF_TOKEN.sub("TOKEN", page).replace("Routed", "X")


CSRF_TOKEN = re.compile(r'(?<=")[\w-]{20,}\.[\w-]{4,8}\.[\w-]{20,}(?=")')


def buttons(page: str) -> dict[str, str]:
    """Each action form's submit button text, by the form's action."""
    return dict(re.findall(r'name="action" value="([a-z_]+)">.*?<button class="button'
                           r'[^"]*" type="submit">([^<]*)</button>', page, re.S))


def test_decision_buttons_say_the_action_not_the_state_it_leads_to(app, core, staff):
    tracking = staff.file(agency=MUN)
    client = as_user(app, core, staff, "coord_MUN")
    arabic = buttons(text(client.get(f"/voice/cases/{tracking}")))
    assert arabic["close"] == "أغلق الحالة" and arabic["not_competent"].startswith(
        "ليست من اختصاصنا")
    english = buttons(text(client.get(f"/voice/cases/{tracking}?lang=en")))
    assert english["close"] == "Close the case"
    assert english["not_competent"] == "Not our competence — send back to the emirate"
    suggestion = staff.walk("suggestion", "answer_drafted")
    english = buttons(text(client.get(f"/voice/cases/{suggestion}?lang=en")))
    assert (english["accept"], english["reject"]) == ("Accept", "Reject")
    assert post_action(client, suggestion, "accept").status_code == 303
    english = buttons(text(client.get(f"/voice/cases/{suggestion}?lang=en")))
    assert (english["plan"], english["implement"]) == ("Plan", "Mark implemented")
    history = set(fmt.action_names("en").values()) | set(fmt.action_names("ar").values())
    assert not history & set(english.values()) and not history & set(arabic.values())


def test_a_paused_case_shows_its_acknowledge_target_met_not_paused(app, core, staff):
    tracking = staff.walk("complaint", "awaiting_citizen")
    page = text(as_user(app, core, staff, "coord_MUN").get(
        f"/voice/cases/{tracking}?lang=en"))
    acknowledge = re.search(r"Acknowledge due</dt><dd>(.*?)</dd>", page, re.S)
    assert acknowledge and "Paused" not in acknowledge.group(1)
    assert "met: acknowledged" in acknowledge.group(1) and "<time" in acknowledge.group(1)
    answer = re.search(r"Answer due</dt><dd>(.*?)</dd>", page, re.S)
    assert answer and answer.group(1) == "Paused"


def test_the_admin_is_told_an_acknowledge_target_may_not_outlast_the_answer(app, core,
                                                                           staff):
    client = as_user(app, core, staff, "admin")
    refused = admin_post(client, "/admin/categories", "/admin/categories?lang=en",
                         code="roads", agency=MUN, name_ar="الطرق", name_en="Roads",
                         types=["complaint"], active="1", acknowledge="10d", answer="2d")
    assert refused.status_code == 422
    assert "must not be longer than the answer target" in text(refused)
    assert not core.voice.category_rows(MUN)
    form = text(client.get("/admin/categories"))
    policy = client.post("/admin/policies", data={
        "csrf_token": csrf(form), "agency": HEALTH, "policy-acknowledge": "1d",
        "policy-answer": "4h"})
    assert policy.status_code == 422 and "مهلة الإقرار" in text(policy)
    assert not core.voice.agency_policies(HEALTH)


@pytest.mark.parametrize("cursor", ["garbage", "1.x", "99999999999999999999999.1", "-1.-1", "-.0"])
def test_every_list_answers_a_bad_page_link_alike(app, core, staff, cursor):
    staff.walk("complaint", "in_progress")
    for user, path in (("coord_MUN", "/voice/inbox?tab=open&"), ("spec_MUN", "/voice/queue?"),
                       ("leader_MUN", "/voice/cases?state=in_progress&"),
                       ("leadership", "/voice/cases?")):
        client = as_user(app, core, staff, user)
        arabic = client.get(f"{path}after={cursor}")
        assert arabic.status_code == 422, (user, arabic.status_code)
        assert "رابط الصفحة غير صالح" in text(arabic)
        english = client.get(f"{path}after={cursor}&lang=en")
        assert english.status_code == 422 and "The page link is not valid" in text(english)
        first = re.search(r'<a href="([^"]+)">Go to the first page', text(english))
        assert first and "after=" not in first.group(1)
        assert client.get(first.group(1).replace("&amp;", "&")).status_code == 200
