"""The staff sign-in, password and admin pages through the real server (waitress on a
loopback socket, a requests session as the browser), as an attacker tries them: a cookie
copied before sign-out, a session left idle, forms posted without their CSRF token, a
``next`` leading to another site, guessing a password until the account locks."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from argon2 import PasswordHasher

from core.access.users import StaffUsers
from gateway.app import create_app
from gateway.components import WebServer
from gateway.settings import load_settings
from tests import factories as f
from tests.conftest import NATIONAL_ID_KEY

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
NEW_PASSWORD = "olive tree by the well"


@pytest.fixture
def users(core) -> StaffUsers:
    """The core's accounts, hashed cheaply for the tests (the rules are the same)."""
    core.__dict__["users"] = StaffUsers(core.db, core.config, hasher=FAST)
    core.upsert_agency("AMANA", f.agency())
    return core.users


@pytest.fixture
def site(core, users, database_url, tmp_path) -> Iterator[str]:
    settings = load_settings(
        None, database={"url": database_url}, var_dir=str(tmp_path),
        security={"national_id_key": NATIONAL_ID_KEY},
        gateway={"secret_key": "test-secret", "host": "127.0.0.1", "threads": 2})
    settings = settings.model_copy(update={
        "gateway": settings.gateway.model_copy(update={"port": 0})})
    web = WebServer(create_app(settings, core), settings)
    web.start()
    yield f"http://127.0.0.1:{web.server.effective_port}"
    web.stop()


def csrf(browser: requests.Session, url: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(url).text)
    assert match, f"{url} has a form with its CSRF token"
    return match.group(1)


def sign_in(site: str, login: str, password: str, browser: requests.Session | None = None,
            **extra: str) -> tuple[requests.Session, requests.Response]:
    if browser is None:
        browser = requests.Session()
        # A connection per request: ``later`` moves the server's clock too, and waitress
        # closes a kept-alive connection it then finds idle for minutes, racing the next
        # request sent on it (a reset, not an answer).
        browser.headers["Connection"] = "close"
    response = browser.post(f"{site}/login", data={
        "csrf_token": csrf(browser, f"{site}/login"), "login": login, "password": password,
        "lang": "en", **extra}, allow_redirects=False)
    return browser, response


def ready_user(users: StaffUsers, login: str = "huda", role: str = "leadership",
               agency: str | None = None) -> str:
    """An account that has chosen its password already; the password."""
    created = users.create(role, login, agency=agency)
    users.change_password(created.user.id, created.password, NEW_PASSWORD)
    return NEW_PASSWORD


def signed_in(browser: requests.Session, site: str) -> bool:
    response = browser.get(f"{site}/account?lang=en", allow_redirects=False)
    assert response.status_code in (200, 303), response.status_code
    return response.status_code == 200


# --- signing in and out ----------------------------------------------------------------


def test_the_sign_in_page_is_arabic_first_with_labels(site):
    page = requests.get(f"{site}/login").text
    assert '<html lang="ar" dir="rtl">' in page
    assert '<label class="label" for="login">' in page
    assert 'autocomplete="current-password"' in page
    english = requests.get(f"{site}/login?lang=en").text
    assert '<html lang="en" dir="ltr">' in english and "Staff sign-in" in english


def test_a_cookie_copied_before_sign_out_is_refused_after_it(site, users):
    browser, response = sign_in(site, "huda", ready_user(users))
    assert response.status_code == 303 and response.headers["Location"].startswith(
        "/voice/")
    thief = requests.Session()
    thief.cookies.update(browser.cookies)
    assert signed_in(thief, site)

    out = browser.post(f"{site}/logout", data={
        "csrf_token": csrf(browser, f"{site}/account?lang=en"), "lang": "en"},
        allow_redirects=False)

    assert out.status_code == 303
    assert not signed_in(thief, site)
    assert not signed_in(browser, site)


def test_logout_is_a_post_with_its_csrf_token(site, users):
    browser, _ = sign_in(site, "huda", ready_user(users))
    assert browser.get(f"{site}/logout").status_code == 405
    forged = browser.post(f"{site}/logout", data={"lang": "en"}, allow_redirects=False)
    assert forged.status_code == 400
    assert signed_in(browser, site)  # a page elsewhere cannot sign the user out


def test_a_session_left_idle_is_refused_and_one_in_use_is_not(site, users, later):
    browser, _ = sign_in(site, "huda", ready_user(users))
    later(minutes=20)
    assert signed_in(browser, site)
    later(minutes=51)  # gateway.staff_idle_minutes (30) after the last request
    assert not signed_in(browser, site)


def test_a_wrong_password_and_an_unknown_login_get_the_same_page(site, users):
    ready_user(users)
    _, wrong = sign_in(site, "huda", "not her password at all")
    _, unknown = sign_in(site, "nobody", "not her password at all")
    assert wrong.status_code == unknown.status_code == 422

    def body(response):  # without the per-page CSRF token and the login typed back
        text = re.sub(r'name="csrf_token" value="[^"]+"', "", response.text)
        return re.sub(r'id="login" (.|\n)*?>', "", text)

    assert body(wrong) == body(unknown)


def test_five_wrong_passwords_lock_the_account(site, users):
    password = ready_user(users)
    for _ in range(5):
        assert sign_in(site, "huda", "guess guess guess")[1].status_code == 422
    _, locked = sign_in(site, "huda", password)
    assert locked.status_code == 422 and "locked for a while" in locked.text

    users.reset_password("huda")  # an admin's reset lifts the lock
    assert users.list_users()[0].locked_until is None


def test_disabling_the_user_ends_their_session_at_once(site, users):
    browser, _ = sign_in(site, "huda", ready_user(users))
    assert signed_in(browser, site)
    users.disable("huda")
    assert not signed_in(browser, site)


# --- next: only a page of this site -------------------------------------------------------


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example",
    "javascript:alert(1)", "http:/evil.example", " //evil.example", "/\t/evil.example",
    "////evil.example", "/\r\nSet-Cookie: x=1", "evil.example", "/" + "a" * 600])
def test_next_never_leads_to_another_site(site, users, target):
    _, response = sign_in(site, "huda", ready_user(users), next=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/voice/?lang=en"
    assert "x=1" not in response.headers.get("Set-Cookie", "")


def test_an_encoded_line_break_in_next_stays_a_harmless_path(site, users):
    _, response = sign_in(site, "huda", ready_user(users), next="/%0d%0aSet-Cookie:x=1")
    assert response.headers["Location"].startswith("/%0d%0aSet-Cookie:x=1")
    assert "x=1" not in response.headers.get("Set-Cookie", "")


def test_next_leads_back_to_the_page_that_asked(site, users):
    password = ready_user(users, "root1", "admin")
    asked = requests.get(f"{site}/admin/users?lang=en", allow_redirects=False)
    assert asked.status_code == 303
    assert asked.headers["Location"].startswith("/login?lang=en&next=/admin/users")
    _, response = sign_in(site, "root1", password, next="/admin/users")
    assert response.headers["Location"] == "/admin/users?lang=en"


# --- the first password ------------------------------------------------------------------


def test_a_new_account_must_choose_its_password_before_anything(site, users):
    created = users.create("admin", "fresh.admin")
    browser, response = sign_in(site, "fresh.admin", created.password,
                                next="/admin/users")
    assert response.headers["Location"].startswith("/account/password")
    page = browser.get(f"{site}/admin/users?lang=en", allow_redirects=False)
    assert page.status_code == 303 and "/account/password" in page.headers["Location"]

    form = f"{site}/account/password?lang=en&next=/admin/users"
    token = csrf(browser, form)
    short = browser.post(f"{site}/account/password", data={
        "csrf_token": token, "lang": "en", "current_password": created.password,
        "new_password": "short", "confirm_password": "short"})
    assert short.status_code == 422 and "at least 12 characters" in short.text
    done = browser.post(f"{site}/account/password", data={
        "csrf_token": token, "lang": "en", "next": "/admin/users",
        "current_password": created.password, "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD}, allow_redirects=False)
    assert done.status_code == 303 and done.headers["Location"] == "/admin/users?lang=en"
    assert browser.get(f"{site}/admin/users?lang=en").status_code == 200


def test_a_password_change_signs_out_the_other_browsers(site, users):
    password = ready_user(users)
    here, _ = sign_in(site, "huda", password)
    there, _ = sign_in(site, "huda", password)
    response = here.post(f"{site}/account/password", data={
        "csrf_token": csrf(here, f"{site}/account/password?lang=en"), "lang": "en",
        "current_password": password, "new_password": "another long passphrase",
        "confirm_password": "another long passphrase"}, allow_redirects=False)
    assert response.status_code == 303
    assert signed_in(here, site) and not signed_in(there, site)


# --- CSRF on every form -------------------------------------------------------------------


def test_every_form_refuses_a_post_without_its_csrf_token(site, users):
    password = ready_user(users, "root1", "admin")
    ready_user(users, "lead1")
    admin, _ = sign_in(site, "root1", password)
    stranger = requests.Session()
    stranger.get(f"{site}/login")
    cases = [
        (stranger, "/login", {"login": "root1", "password": password}),
        (admin, "/logout", {}),
        (admin, "/account/password", {"current_password": password,
                                      "new_password": "x" * 20, "confirm_password": "x" * 20}),
        (admin, "/admin/users", {"login": "sneaky", "role": "admin"}),
        (admin, "/admin/users/lead1/reset", {}),
        (admin, "/admin/users/lead1/token", {}),
        (admin, "/admin/users/lead1/disable", {}),
    ]
    for browser, path, data in cases:
        for token in (None, "forged-token"):
            sent = {**data, "lang": "en"} | ({"csrf_token": token} if token else {})
            response = browser.post(site + path, data=sent, allow_redirects=False)
            assert response.status_code == 400, (path, token, response.status_code)
            assert "expired" in response.text, path
    listed = {user.login: user for user in users.list_users()}
    assert set(listed) == {"root1", "lead1"}
    assert listed["lead1"].disabled_at is None and not listed["lead1"].must_change_password
    assert signed_in(admin, site)
    assert users.sign_in("root1", password, origin=None).actor is not None


# --- the admin page -------------------------------------------------------------------------


def test_only_an_admin_reaches_the_admin_page(site, users):
    leader, _ = sign_in(site, "huda", ready_user(users))
    page = leader.get(f"{site}/admin/users?lang=en", allow_redirects=False)
    assert page.status_code == 403 and "Not allowed" in page.text
    post = leader.post(f"{site}/admin/users", data={
        "csrf_token": csrf(leader, f"{site}/account?lang=en"), "lang": "en",
        "login": "mine", "role": "admin"}, allow_redirects=False)
    assert post.status_code == 403
    assert [user.login for user in users.list_users()] == ["huda"]


def test_the_admin_creates_resets_tokens_and_disables(site, users, core):
    admin, _ = sign_in(site, "root1", ready_user(users, "root1", "admin"))
    page = f"{site}/admin/users?lang=en"

    def post(path: str, **data: str) -> requests.Response:
        return admin.post(site + path, data={"csrf_token": csrf(admin, page), "lang": "en",
                                             **data})

    refused = post("/admin/users", login="noura", role="coordinator")
    assert refused.status_code == 422 and "enter its code" in refused.text
    created = post("/admin/users", login="noura", role="coordinator", agency="AMANA",
                   name="نورة", mobile="0551234567")
    assert created.status_code == 200
    password = re.search(r'<code class="secret" dir="ltr">([^<]+)</code>', created.text)[1]
    assert users.sign_in("noura", password, origin=None).must_change_password
    assert password not in admin.get(page).text  # shown once only

    reset = post("/admin/users/noura/reset")
    new = re.search(r'<code class="secret" dir="ltr">([^<]+)</code>', reset.text)[1]
    assert users.sign_in("noura", new, origin=None).actor is not None

    made = post("/admin/users/noura/token")
    token = re.search(r'<code class="secret" dir="ltr">([^<]+)</code>', made.text)[1]
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{site}/api/v1/me", headers=auth).json()["agency"] == "AMANA"

    assert post("/admin/users/noura/disable").status_code == 200
    assert requests.get(f"{site}/api/v1/me", headers=auth).status_code == 401
    assert post("/admin/users/root1/disable").status_code == 422  # not oneself
    assert post("/admin/users/ghost/reset").status_code == 404


def test_the_simulator_s_sign_in_ends_the_user_session_the_cookie_held(site, users, core):
    """One cookie, one session: the simulator's sign-in starts afresh, and the staff
    user's session it held is ended on the server, not just forgotten by the browser."""
    from core.access.tokens import create_token

    browser, _ = sign_in(site, "huda", ready_user(users))
    thief = requests.Session()
    thief.cookies.update(browser.cookies)
    assert signed_in(thief, site)

    assert browser.post(f"{site}/simulator/login", data={
        "csrf_token": csrf(browser, f"{site}/simulator/login"), "lang": "en",
        "token": create_token(core.db.write, "staff", "trainer")},
        allow_redirects=False).status_code == 303

    assert not signed_in(thief, site)


def test_an_admin_reads_the_outbox_history_and_other_roles_do_not(site, users, core):
    core.upsert_department("RIGHTS", f.department())
    core.record_event(f.registered("4471234", "2025-11-23T09:15:00+03:00"))
    admin, _ = sign_in(site, "root1", ready_user(users, "root1", "admin"))
    page = admin.get(f"{site}/staff/messages?lang=en", allow_redirects=False)
    assert page.status_code == 200, page.status_code
    assert "registration" in page.text and "+966*******67" in page.text
    assert 'href="/admin/users?lang=en"' in page.text
    arabic = admin.get(f"{site}/staff/messages", allow_redirects=False)
    assert arabic.status_code == 200 and 'dir="rtl"' in arabic.text
    leader, _ = sign_in(site, "huda", ready_user(users))
    refused = leader.get(f"{site}/staff/messages?lang=en", allow_redirects=False)
    assert refused.status_code == 403 and "registration" not in refused.text
    stranger = requests.get(f"{site}/staff/messages", allow_redirects=False)
    assert stranger.status_code == 303 and "/simulator/login" in stranger.headers["Location"]
