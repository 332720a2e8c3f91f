"""The JSON routes' guard (``api_user_required``) as an attacker tries it: no token, a
made-up one, a service token where a user is needed, a user of the wrong role, a token
kept after the account is disabled."""

from __future__ import annotations

import pytest
from flask import Blueprint, g, jsonify

from core.access.tokens import create_token
from gateway.accounts import api_user_required

probe = Blueprint("probe", __name__, url_prefix="/api/v1/probe")


@probe.get("/admins")
@api_user_required("admin")
def admins_only():
    return jsonify({"login": g.actor.login})


@probe.get("/cases")
@api_user_required(services=("kiosk", "staff"))
def users_or_services():
    return jsonify({"actor": g.actor.login if g.actor else None,
                    "service": g.principal.role if g.principal else None})


@pytest.fixture
def api(app):
    app.register_blueprint(probe)
    return app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(core):
    core.users.create("admin", "root1")
    core.users.create("leadership", "lead1")
    return {"admin": core.users.create_token("root1"),
            "leadership": core.users.create_token("lead1"),
            "kiosk": create_token(core.db.write, "kiosk", "kiosk-7"),
            "records": create_token(core.db.write, "records", "records")}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"},
                                     {"Authorization": "Basic cm9vdDE6cGFzcw=="},
                                     bearer("gw_" + "A" * 43), bearer("not a token")])
def test_no_valid_token_is_a_401_in_json(api, tokens, headers):
    response = api.get("/api/v1/probe/admins", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json["error"]) == {"code", "message"}


def test_roles_and_services_are_checked(api, tokens):
    assert api.get("/api/v1/probe/admins", headers=bearer(tokens["admin"])).json == \
        {"login": "root1"}
    for who in ("leadership", "kiosk", "records"):
        response = api.get("/api/v1/probe/admins", headers=bearer(tokens[who]))
        assert response.status_code == 403, who
        assert response.json["error"]["code"] == "forbidden"

    assert api.get("/api/v1/probe/cases", headers=bearer(tokens["leadership"])).json == \
        {"actor": "lead1", "service": None}
    assert api.get("/api/v1/probe/cases", headers=bearer(tokens["kiosk"])).json == \
        {"actor": None, "service": "kiosk"}
    assert api.get("/api/v1/probe/cases",
                   headers=bearer(tokens["records"])).status_code == 403


def test_a_disabled_user_s_token_stops_at_once(api, core, tokens):
    assert api.get("/api/v1/probe/cases", headers=bearer(tokens["leadership"])).status_code \
        == 200
    core.users.disable("lead1")
    assert api.get("/api/v1/probe/cases", headers=bearer(tokens["leadership"])).status_code \
        == 401
    assert api.get("/api/v1/me", headers=bearer(tokens["leadership"])).status_code == 401


def test_the_api_never_opens_a_cookie_session(api, tokens):
    response = api.get("/api/v1/me", headers=bearer(tokens["admin"]))
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
