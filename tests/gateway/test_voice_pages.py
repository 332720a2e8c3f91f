"""The staff web app of Citizen's Voice through the Flask app: each role's home and scope
(never a row of another agency; leaders see citizens masked), the case page's forms
offered exactly as the core would accept them, refusals shown on the page with nothing
changed (403, 409, a missing reason, a bad tracking number), CSRF on every form, and the
admin's categories and calendar."""

from __future__ import annotations

import re

import pytest

from core.access.actors import Actor
from core.access.models import StaffUser
from tests.core.voice.conftest import EMIRATE, HEALTH, MUN, World, add_user  # noqa: F401
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
