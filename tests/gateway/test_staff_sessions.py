"""Staff sessions and bearer tokens, as an attacker tries them: a cookie copied before
sign-out, a session left idle or kept for days, a flood of made-up tokens."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from core.access.tokens import create_token
from tests import factories as f
from tests.conftest import csrf_token

STAFF_PAGE = "/staff/messages"
INQUIRIES = "/api/v1/inquiries"


def signed_in(client) -> bool:
    response = client.get(STAFF_PAGE)
    assert response.status_code in (200, 303), response.status_code
    return response.status_code == 200


def sign_out(client) -> None:
    response = client.post("/simulator/logout", data={
        "csrf_token": csrf_token(client, "/simulator"), "lang": "en"})
    assert response.status_code == 303


# --- the session ends on the server --------------------------------------------------------


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app, staff_client):
    thief = app.test_client()
    thief.set_cookie("session", staff_client.get_cookie("session").value)
    assert signed_in(thief)  # the copy works while the session is open

    sign_out(staff_client)

    assert not signed_in(thief)
    assert not signed_in(staff_client)


def test_signing_in_again_does_not_revive_the_old_cookie(app, client, staff_token):
    from tests.conftest import sign_in

    assert sign_in(client, staff_token).status_code == 303
    old = client.get_cookie("session").value
    sign_out(client)
    assert sign_in(client, staff_token).status_code == 303

    thief = app.test_client()
    thief.set_cookie("session", old)
    assert not signed_in(thief)
    assert signed_in(client)


def test_signing_in_again_without_signing_out_ends_the_old_session(app, client, staff_token):
    from tests.conftest import csrf_token, sign_in

    assert sign_in(client, staff_token).status_code == 303
    old = client.get_cookie("session").value
    # The sign-in form posted again while signed in (the token from a signed-in page).
    again = client.post("/simulator/login", data={
        "csrf_token": csrf_token(client, "/simulator"), "lang": "ar", "token": staff_token})
    assert again.status_code == 303

    thief = app.test_client()
    thief.set_cookie("session", old)
    assert not signed_in(thief)
    assert signed_in(client)


def test_a_session_left_idle_past_the_timeout_is_refused(staff_client, later):
    later(minutes=31)  # gateway.staff_idle_minutes: 30

    assert not signed_in(staff_client)


def test_a_session_in_use_stays_open_until_its_lifetime_ends(staff_client, later):
    for minutes in range(20, 12 * 60, 20):  # a request every 20 minutes, for 12 hours
        later(minutes=minutes)
        assert signed_in(staff_client), f"refused {minutes} minutes after sign-in"

    later(hours=12, minutes=5)  # gateway.staff_session_hours: 12
    assert not signed_in(staff_client)


def test_the_timeouts_come_from_the_settings(core, settings, later):
    from gateway.app import create_app
    from tests.conftest import sign_in

    short = settings.model_copy(update={"gateway": settings.gateway.model_copy(
        update={"staff_idle_minutes": 5})})
    client = create_app(short, core).test_client()
    assert sign_in(client, create_token(core.db.write, "staff", "night-shift")
                   ).status_code == 303

    later(minutes=6)
    assert not signed_in(client)


# --- a flood of made-up bearer tokens ----------------------------------------------------


@contextmanager
def token_queries(core) -> Iterator[list[str]]:
    """The statements that read api_tokens while the block runs."""
    seen: list[str] = []

    def listen(_conn, _cursor, statement, *_args) -> None:
        if "api_tokens" in statement:
            seen.append(statement)

    event.listen(core.db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(core.db.engine, "before_cursor_execute", listen)


def ask(client, token: str) -> int:
    return client.post(INQUIRIES, json={"number": "4471234", "national_id": f.NATIONAL_ID},
                       headers={"Authorization": f"Bearer {token}"}).status_code


@pytest.mark.parametrize("shape", ["ours", "any"])
def test_five_thousand_random_tokens_cost_a_handful_of_queries(core, client, shape):
    kiosk = create_token(core.db.write, "kiosk", "kiosk-1")
    assert ask(client, kiosk) == 200  # a kiosk at work before the flood

    started = time.monotonic()
    with token_queries(core) as queries:
        for n in range(5000):
            made_up = ("gw_" + secrets.token_urlsafe(32) if shape == "ours"
                       else secrets.token_urlsafe(8 + n % 40))
            assert ask(client, made_up) == 401
            if n % 1000 == 0:
                assert ask(client, kiosk) == 200  # the kiosk goes on meanwhile
    elapsed = time.monotonic() - started

    # A burst of 5, then one a second, and one re-read of the valid tokens every 30 s.
    assert len(queries) <= 5 + elapsed + elapsed / 30 + 1, (len(queries), elapsed)
    if shape == "any":
        assert len(queries) <= 1  # refused on sight, whatever the rate


def test_a_token_made_during_a_flood_works_within_a_second_or_two(core, client):
    for _ in range(50):
        ask(client, "gw_" + secrets.token_urlsafe(32))
    fresh = create_token(core.db.write, "kiosk", "kiosk-new")

    deadline = time.monotonic() + 2.5
    while ask(client, fresh) != 200:
        assert time.monotonic() < deadline, "a new token stayed refused"
        time.sleep(0.1)


def test_the_same_bad_token_again_and_again_does_not_drain_the_budget(core, client):
    misconfigured = "gw_" + secrets.token_urlsafe(32)
    with token_queries(core) as queries:
        for _ in range(200):
            assert ask(client, misconfigured) == 401
    assert len(queries) <= 2

    fresh = create_token(core.db.write, "kiosk", "kiosk-2")
    assert ask(client, fresh) == 200  # the budget is still there for a new token
