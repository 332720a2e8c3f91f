"""The staff user's own pages (sign in, sign out, choose a password, their account) and
``GET /api/v1/me``: who a personal token acts as.

Signing in answers alike whatever is wrong (no such login, a wrong password, a disabled
or locked account: ``core.access.users``); only an address refused for its many failures
is told so. Every form carries its CSRF token; ``next`` goes back to a page of this site
only (``gateway.accounts.safe_next``).
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify

from gateway.accounts import api_user_required

accounts_api = Blueprint("accounts_api", __name__, url_prefix="/api/v1")


@accounts_api.get("/me")
@api_user_required()
def me():
    """The user a personal token acts as (an agency's system checks its token with it)."""
    actor = g.actor
    return jsonify({"login": actor.login, "name": actor.name, "role": actor.role,
                    "agency": current_app.extensions["core"].users.agency_code(
                        actor.agency_id)})
