"""Cookie sessions for the portal only: the JSON API, health, metrics and Twilio's webhooks
never open one."""

from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface

SESSIONLESS_PREFIXES = ("/api/", "/healthz", "/metrics", "/ivr/")


class PortalSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app, request):
        if request.path.startswith(SESSIONLESS_PREFIXES):
            # None makes Flask use a null session: nothing to verify on the hot path.
            return None
        return super().open_session(app, request)
