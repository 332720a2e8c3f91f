"""``gateway.trusted_proxies`` through the real server (waitress on a loopback socket), as
a client behind a load balancer sees it: the rate limit and the /metrics and /healthz
allow-list judge the address the balancer reports, and a forged X-Forwarded-For changes
nothing. The socket's peer here (127.0.0.1) plays the balancer's private address.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from core.platform import leases
from gateway.app import create_app
from gateway.components import WebServer
from gateway.settings import load_settings
from tests import factories as f
from tests.conftest import NATIONAL_ID_KEY

MONITORING = "10.0.0.0/8"  # the operator's network here: the loopback peer is outside it
ATTACKER, CITIZEN, MONITOR = "203.0.113.7", "198.51.100.9", "10.0.0.5"
WRONG_NUMBER = "9990001"


@pytest.fixture
def serve(core, database_url, tmp_path) -> Iterator:
    """``serve(trusted_proxies)``: the gateway under waitress on a free loopback port."""
    servers: list[WebServer] = []

    def start(trusted_proxies: int) -> str:
        settings = load_settings(
            None, database={"url": database_url}, var_dir=str(tmp_path),
            security={"national_id_key": NATIONAL_ID_KEY},
            gateway={"secret_key": "test-secret", "host": "127.0.0.1", "threads": 2,
                     "trusted_proxies": trusted_proxies, "metrics_networks": [MONITORING]})
        # Port 0 (a free one) is no operator's setting, so not a valid one either.
        settings = settings.model_copy(update={
            "gateway": settings.gateway.model_copy(update={"port": 0})})
        web = WebServer(create_app(settings, core), settings)
        servers.append(web)
        web.start()
        return f"http://127.0.0.1:{web.server.effective_port}"

    yield start
    for web in servers:
        web.stop()


def via_proxy(client: str, forged: str = "") -> dict[str, str]:
    """The headers one proxy sends: what the client wrote, then the client's address."""
    return {"X-Forwarded-For": f"{forged}, {client}" if forged else client}


def portal_inquiry(url: str, number: str, national_id: str,
                   headers: dict[str, str]) -> requests.Response:
    """A citizen's form post, as a browser makes it (the form's CSRF token and cookie)."""
    with requests.Session() as browser:
        form = browser.get(f"{url}/?lang=en", headers=headers, timeout=10)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token, form.text
        return browser.post(f"{url}/inquiry", headers=headers, timeout=10, data={
            "csrf_token": token.group(1), "lang": "en", "number": number,
            "national_id": national_id})


def fail_until_refused(url: str, headers_for_try) -> int:
    """Failed inquiries (one wrong number) until a 429; the number of tries it took."""
    for attempt in range(1, 30):
        response = portal_inquiry(url, WRONG_NUMBER, f.OTHER_NATIONAL_ID,
                                  headers_for_try(attempt))
        if response.status_code == 429:
            return attempt
        assert response.status_code == 200, response.text
    raise AssertionError("never refused")


def test_behind_a_proxy_one_strangers_failures_do_not_lock_the_portal_for_others(
        serve, transaction):
    url = serve(1)

    # The attacker writes a new X-Forwarded-For each time; the proxy appends its address.
    tries = fail_until_refused(url, lambda n: via_proxy(ATTACKER, forged=f"192.0.2.{n}"))

    assert tries == 11  # the limit (10 failures) counted against the attacker's address
    answer = portal_inquiry(url, transaction, f.NATIONAL_ID, via_proxy(CITIZEN))
    assert answer.status_code == 200
    assert 'class="layout layout-answer"' in answer.text  # the status, not a refusal


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_escape_the_limit(
        serve, transaction):
    url = serve(0)

    tries = fail_until_refused(url, lambda n: {"X-Forwarded-For": f"192.0.2.{n}",
                                               "Forwarded": f"for=192.0.2.{n}"})

    assert tries == 11


def test_behind_a_proxy_metrics_judge_the_client_not_the_proxy(serve):
    url = serve(1)

    def metrics(headers: dict[str, str]) -> int:
        return requests.get(f"{url}/metrics", headers=headers, timeout=10).status_code

    assert metrics(via_proxy(MONITOR)) == 200
    # The balancer's own address no longer opens it to everyone behind it...
    assert metrics(via_proxy(ATTACKER)) == 403
    # ...and a client cannot write its way into the operator's network.
    assert metrics(via_proxy(ATTACKER, forged=MONITOR)) == 403
    assert metrics({"X-Forwarded-For": f"{MONITOR}, {MONITOR}, {ATTACKER}"}) == 403


def test_without_trusted_proxies_a_forged_address_does_not_open_metrics(serve):
    url = serve(0)

    for headers in ({"X-Forwarded-For": MONITOR}, {"Forwarded": f"for={MONITOR}"},
                    {"X-Real-IP": MONITOR}):
        assert requests.get(f"{url}/metrics", headers=headers, timeout=10).status_code == 403


def test_behind_a_proxy_a_strangers_healthz_tells_nothing_and_the_operators_tells_all(
        serve, core):
    holder = "sms@smsc-7.internal:4242:abc"
    leases.acquire(core.db, f"{leases.SMS_CHANNEL_PREFIX}{holder}", holder,
                   timedelta(seconds=90),
                   state={"bound": True, "smsc": "smsc-7.internal:2775"})
    url = serve(1)

    stranger = requests.get(f"{url}/healthz", headers=via_proxy(ATTACKER, forged=MONITOR),
                            timeout=10)
    operator = requests.get(f"{url}/healthz", headers=via_proxy(MONITOR), timeout=10)

    assert stranger.status_code == 200 and stranger.json() == {"status": "ok"}
    assert "smsc-7" not in stranger.text
    assert operator.json()["sms_channels"][0]["smsc"] == "smsc-7.internal:2775"


def test_a_malformed_forwarded_header_from_the_proxy_is_a_400_not_a_500(serve):
    url = serve(1)

    with contextlib.closing(requests.get(f"{url}/healthz", timeout=10, headers={
            "X-Forwarded-For": ATTACKER, "X-Forwarded-Proto": "gopher"})) as response:
        assert response.status_code == 400
