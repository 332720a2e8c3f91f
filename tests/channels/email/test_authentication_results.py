"""Reading Authentication-Results (RFC 8601) and deciding whether our server vouched for
a From address: pure, no peers (channels/email/authentication.py)."""

from __future__ import annotations

import pytest

from channels.email.authentication import not_authenticated, parse_authentication_results
from tests.channels.email.mails import OUR_SERVER, passed, received

VICTIM = "applicant@example.com"


def test_results_are_read_through_comments_quotes_and_spacing():
    server, results = parse_authentication_results(
        'MX.Emirate.gov.sa 1 (comment; dmarc=pass (nested)); none')
    assert (server, results) == ("mx.emirate.gov.sa", [])
    server, results = parse_authentication_results(
        'mx.emirate.gov.sa; dkim=pass (2048-bit) header.d=example.com header.b="ab;c"; '
        'spf/1 = PASS smtp.mailfrom=<a@Example.COM>; dmarc=pass header.from="example.com"')
    assert [(r.method, r.result) for r in results] == [
        ("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass")]
    assert results[0].properties["header.b"] == "ab;c"
    assert results[2].properties["header.from"] == "example.com"


@pytest.mark.parametrize("value", [
    "", ";;;", "(", ")))", '"', "mx.emirate.gov.sa; =pass", "mx.emirate.gov.sa; dmarc=",
    "mx.emirate.gov.sa; dmarc=pass header.from", "\\", "x" * 10_000 + "; dmarc=pass",
    "mx.emirate.gov.sa; " + "dmarc=pass; " * 1000,
])
def test_odd_values_are_read_without_error(value):
    server, results = parse_authentication_results(value)
    assert isinstance(server, str) and len(results) <= 50


def test_no_server_ids_configured_means_nothing_is_authenticated():
    trace = (("authentication-results", passed(VICTIM)), ("received", received()))
    assert not_authenticated(trace, VICTIM, [OUR_SERVER]) is None
    assert not_authenticated(trace, VICTIM, []) is not None
    assert not_authenticated(trace, "someone@else.example", [OUR_SERVER]) is not None
