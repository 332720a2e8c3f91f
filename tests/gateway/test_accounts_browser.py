"""Staff accounts in real headless Chromium, served by waitress as in production: a new
admin signs in with the initial password, is made to choose their own, creates a
coordinator on the admin page, and signs out; by keyboard alone, in Arabic."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from core.access.users import StaffUsers
from tests import factories as f
from tests.gateway.live import serving

pytestmark = pytest.mark.browser

NEW_PASSWORD = "palm trees at the oasis"


@pytest.fixture
def site(app, core):
    core.__dict__["users"] = StaffUsers(
        core.db, core.config, hasher=PasswordHasher(time_cost=1, memory_cost=1024,
                                                    parallelism=1))
    core.upsert_agency("AMANA", f.agency())
    with serving(app) as url:
        yield url


@pytest.fixture
def page(chromium, site):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    # A refused form is a 4xx the browser logs: that is the page working, not an error.
    page.on("console", lambda msg: msg.type == "error" and "status of 4" not in msg.text
            and errors.append(msg.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == []


def test_first_admin_signs_in_changes_password_creates_a_user_and_signs_out(page, site,
                                                                             core):
    initial = core.users.create("admin", "first.admin", name="مدير النظام").password

    page.goto(f"{site}/admin/users")
    assert (page.get_attribute("html", "lang"), page.get_attribute("html", "dir")) == \
        ("ar", "rtl")
    # By keyboard: the login field, the password, then Enter.
    page.get_by_label("اسم الدخول").fill("first.admin")
    page.get_by_label("كلمة المرور").fill("wrong password here")
    page.keyboard.press("Enter")
    summary = page.get_by_role("alert")
    assert "اسم الدخول أو كلمة المرور غير صحيحين" in summary.inner_text()
    assert page.get_by_label("اسم الدخول").get_attribute("aria-invalid") == "true"
    page.get_by_label("كلمة المرور").fill(initial)
    page.get_by_role("button", name="دخول").click()

    page.wait_for_url("**/account/password**")
    page.get_by_label("كلمة المرور الحالية").fill(initial)
    page.get_by_label("كلمة المرور الجديدة", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("كلمة المرور الجديدة مرة أخرى").fill(NEW_PASSWORD)
    page.get_by_role("button", name="حفظ كلمة المرور الجديدة").click()

    page.wait_for_url("**/admin/users**")
    page.get_by_label("اسم الدخول").fill("noura")
    page.get_by_label("الاسم", exact=True).fill("نورة")
    page.get_by_label("الدور").select_option("coordinator")
    page.get_by_label("رمز الجهة").fill("AMANA")
    page.get_by_role("button", name="إنشاء الحساب").click()
    shown = page.locator("code.secret").inner_text()
    assert core.users.sign_in("noura", shown, origin=None).must_change_password
    row = page.locator("#users tr", has_text="noura")
    assert "منسق الجهة" in row.inner_text() and "AMANA" in row.inner_text()

    page.get_by_role("button", name="خروج").click()
    page.wait_for_url("**/login**")
    page.goto(f"{site}/admin/users")
    page.wait_for_url("**/login**")  # the session is over on the server


def test_the_sign_in_form_is_reached_by_keyboard_in_order(page, site):
    page.goto(f"{site}/login?lang=en")
    order = []
    for _ in range(5):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || "
                                   "document.activeElement.textContent.trim()"))
    login_at, password_at = order.index("login"), order.index("password")
    assert login_at < password_at
    assert order[password_at + 1] == "Sign in"
