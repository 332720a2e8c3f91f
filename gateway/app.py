"""The Flask app factory: the portal, the JSON API, health and metrics around one core."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from core.service import Core
from gateway import errors, ivr
from gateway.admin_users import admin_users
from gateway.api import api
from gateway.call_simulator import call_simulator
from gateway.dashboards import dashboards
from gateway.health import health
from gateway.kiosks import kiosk_api, kiosk_pages
from gateway.messages import messages
from gateway.my_api import my_api
from gateway.my_portal import my_portal
from gateway.open311 import open311
from gateway.openapi import openapi
from gateway.overdue import overdue
from gateway.portal import portal, template_gettext, template_ngettext
from gateway.sessions import PortalSessionInterface
from gateway.settings import Settings
from gateway.simulator import simulator
from gateway.staff_accounts import accounts, accounts_api
from gateway.stats_api import stats_api
from gateway.transactions_stats_api import transactions_stats_api
from gateway.transparency import transparency
from gateway.voice_admin import voice_admin
from gateway.voice_api import voice_api
from gateway.voice_attachments import voice_attachments
from gateway.voice_citizen_api import voice_citizen_api
from gateway.voice_dashboards import voice_dashboards
from gateway.voice_pages import voice_pages
from gateway.voice_portal import voice_portal


def create_app(settings: Settings, core: Core) -> Flask:
    # No Flask static route: the portal serves its own assets (once, at /assets/).
    app = Flask(__name__, static_folder=None)
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key(),
        MAX_CONTENT_LENGTH=settings.gateway.max_body_bytes,
        JSON_AS_ASCII=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.gateway.public_url.startswith("https://"),
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_CHECK_DEFAULT=False,
    )
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.session_interface = PortalSessionInterface()
    app.extensions["core"] = core
    # gateway.trusted_proxies is applied by the web server (gateway.components.WebServer,
    # waitress's trusted_proxy_count), the one place that knows the socket's peer: the
    # app believes request.remote_addr and never reads X-Forwarded-* itself.
    errors.install(app)
    # CSRF is checked where there are forms: the portal calls protect() itself
    # (WTF_CSRF_CHECK_DEFAULT off). The API's clients and Twilio's webhooks carry their
    # own credentials and need no exemption list.
    CSRFProtect(app)
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(template_gettext, template_ngettext,
                                            newstyle=True)
    app.register_blueprint(health)
    app.register_blueprint(api)
    app.register_blueprint(accounts_api)
    app.register_blueprint(voice_api)
    app.register_blueprint(stats_api)
    app.register_blueprint(transactions_stats_api)
    app.register_blueprint(voice_citizen_api)
    app.register_blueprint(my_api)
    app.register_blueprint(accounts)
    app.register_blueprint(admin_users)
    app.register_blueprint(voice_pages)
    app.register_blueprint(voice_attachments)
    app.register_blueprint(voice_admin)
    app.register_blueprint(dashboards)
    app.register_blueprint(voice_dashboards)
    app.register_blueprint(transparency)
    app.register_blueprint(openapi)
    app.register_blueprint(open311)
    app.register_blueprint(portal)
    app.register_blueprint(voice_portal)
    app.register_blueprint(my_portal)
    app.register_blueprint(simulator)
    app.register_blueprint(messages)
    app.register_blueprint(kiosk_api)
    app.register_blueprint(kiosk_pages)
    app.register_blueprint(call_simulator)
    ivr.install(app, core, settings)
    app.register_blueprint(overdue)
    return app
