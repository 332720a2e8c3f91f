"""Whether our own mail server vouches for a mail's From address: the Authentication-Results
header fields (RFC 8601) it added. Pure, no I/O.

Anyone can write any From address. The responder answers only a mail whose From domain
our receiving server authenticated: a DMARC pass for that domain, or an SPF pass for an
envelope sender aligned with it (the same domain, or one a subdomain of the other, as
DMARC's relaxed alignment). Anything else (no result, a fail, a pass for another domain)
is not authenticated, and gets no reply: the emirate's signed address never delivers
mail to someone who did not write.

Which fields are our server's: those whose authserv-id is one of ``email.authserv_ids``,
and of those only the topmost group: from the topmost such field down to the next
``Received`` field. Every server that accepts a mail adds a ``Received`` field above what
it was given (RFC 5321 4.4), and A-R fields are added at the top (RFC 8601 2), so what
the sender wrote into the mail, an A-R naming our server included, lies below our
server's ``Received`` field and is never read. Within the group a failed result of a
method outweighs any pass of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

RECEIVED = "received"
AUTHENTICATION_RESULTS = "authentication-results"
TRACE_HEADERS = (RECEIVED, AUTHENTICATION_RESULTS)
# Fields of a mail's trace read at most (a mail with more is cut there: what lies below
# is the sender's part anyway), and results read of one field.
MAX_TRACE_FIELDS = 100
_MAX_RESULTS = 50

NOT_AUTHENTICATED = "not authenticated"
# What a DMARC or SPF result may be besides pass without vetoing: the domain publishes
# no policy ("none"), or the method was not run ("neutral" is SPF's "no assertion").
_NO_VERDICT = frozenset({"none", "neutral"})

_TOKEN = re.compile(r'(?:"(?:\\.|[^"\\])*"|[^\s"])+')
_AROUND = re.compile(r"\s*([=./])\s*")


@dataclass(frozen=True)
class Result:
    """One ``method=result`` of an A-R field, with its properties ("header.from")."""

    method: str
    result: str
    properties: dict[str, str] = field(default_factory=dict)


def not_authenticated(trace: Sequence[tuple[str, str]], sender: str,
                      authserv_ids: Iterable[str]) -> str | None:
    """Why the mail's From ``sender`` is not authenticated by our server, or None when it
    is. ``trace`` is the mail's Received and Authentication-Results fields, topmost first,
    as (lower-case name, value)."""
    ours = {server.strip().lower() for server in authserv_ids if server.strip()}
    domain = sender.strip().lower().rpartition("@")[2].rstrip(".")
    results = _our_results(trace[:MAX_TRACE_FIELDS], ours)
    if results is None:
        return f"{NOT_AUTHENTICATED}: no Authentication-Results of our server"
    by_method: dict[str, list[Result]] = {}
    for result in results:
        by_method.setdefault(result.method, []).append(result)
    for method in ("dmarc", "spf"):
        failed = [r.result for r in by_method.get(method, ())
                  if r.result != "pass" and r.result not in _NO_VERDICT]
        if failed:
            return f"{NOT_AUTHENTICATED}: {method}={failed[0]}"[:64]
    if domain and any(_aligned(r.properties.get("header.from", ""), domain, exact=True)
                      for r in by_method.get("dmarc", ()) if r.result == "pass"):
        return None
    if domain and any(_aligned(_domain(r.properties.get("smtp.mailfrom", "")), domain)
                      for r in by_method.get("spf", ()) if r.result == "pass"):
        return None
    return f"{NOT_AUTHENTICATED}: no dmarc or aligned spf pass"


def _our_results(trace: Sequence[tuple[str, str]], ours: set[str]) -> list[Result] | None:
    """The results of our server's topmost group of A-R fields; None when there is none."""
    results: list[Result] | None = None
    for name, value in trace:
        if results is not None and name == RECEIVED:
            break
        if name != AUTHENTICATION_RESULTS:
            continue
        server, found = parse_authentication_results(value)
        if server in ours:
            results = (results or []) + found
    return results


def parse_authentication_results(value: str) -> tuple[str, list[Result]]:
    """An A-R field's authserv-id (lower case) and its results; ("", []) when unreadable.
    Comments are dropped, values unquoted, names and results lower-cased."""
    segments = _split(_without_comments(value))
    if not segments:
        return "", []
    first = _TOKEN.findall(segments[0])
    server = _unquote(first[0]).lower() if first else ""
    results = []
    for segment in segments[1:1 + _MAX_RESULTS]:
        tokens = _TOKEN.findall(_AROUND.sub(r"\1", segment))
        if not tokens or "=" not in tokens[0]:
            continue  # "none", or not a result
        method, _, outcome = tokens[0].partition("=")
        properties: dict[str, str] = {}
        for token in tokens[1:]:
            key, equals, raw = token.partition("=")
            if equals:
                properties.setdefault(key.lower(), _unquote(raw).strip().lower())
        results.append(Result(method.split("/")[0].lower(), _unquote(outcome).lower(),
                              properties))
    return server, results


def _aligned(domain: str, from_domain: str, *, exact: bool = False) -> bool:
    domain = domain.strip().lower().rstrip(".")
    if not domain or domain == from_domain:
        return bool(domain)
    return not exact and (domain.endswith("." + from_domain)
                          or from_domain.endswith("." + domain))


def _domain(mailfrom: str) -> str:
    """The domain of smtp.mailfrom ("user@example.com", "<user@example.com>" or just the
    domain)."""
    return mailfrom.strip().strip("<>").rpartition("@")[2]


def _without_comments(value: str) -> str:
    """The value with its (nested) comments removed; quoted strings kept whole."""
    out: list[str] = []
    depth, quoted, escaped = 0, False, False
    for char in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
            continue
        if char == "\\":
            escaped = True
            if depth == 0:
                out.append(char)
        elif quoted:
            quoted = char != '"'
            out.append(char)
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif depth == 0:
            quoted = char == '"'
            out.append(char)
    return "".join(out)


def _split(value: str) -> list[str]:
    """The value cut at each ";" outside a quoted string."""
    segments: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            segments.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    segments.append("".join(current).strip())
    return [segment for segment in segments if segment]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value
