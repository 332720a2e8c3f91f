"""Every /api/v1 operation fuzzed against the live gateway (waitress on a loopback socket)
from its OpenAPI description (docs/openapi.yaml), with schemathesis.

Each operation gets generated requests that fit the description (positive) and that do
not (negative), carrying the right role's token, another role's, none, or a made-up one.
Every answer must be documented: no 5xx, a status the operation lists, the body and
headers of that status, and a request outside the description refused with a 4xx.
``EXAMPLES`` per operation and mode: 6 operations with a body x 2 modes x 250 = 3,000
requests, and a few for the description's own two.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.access.actors import AGENCY_ROLES
from core.access.tokens import create_token
from tests import factories as f
from tests.gateway.live import serving

DESCRIPTION = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
EXAMPLES = 250
ROLES = ("records", "kiosk", "staff")
# Staff users' personal tokens (Citizen's Voice routes), each user of its role.
USER_ROLES = ("coordinator", "specialist", "agency_leader", "leadership", "admin")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]

_document = yaml.safe_load(DESCRIPTION.read_text(encoding="utf-8"))
# (path, method, mode): a negative request needs something to get wrong (a parameter or
# a body); one with neither varies only by its token, so a few examples do.
CASES = [(path, method.upper(), mode) for path, item in _document["paths"].items()
         for method, spec in item.items()
         for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
         if mode.is_positive or spec.get("parameters") or spec.get("requestBody")]


@pytest.fixture
def live_api(app, core):
    """The app under waitress on a free port, with reference data and one transaction."""
    core.upsert_department("RIGHTS", f.department())
    core.upsert_agency("MOI", f.agency())
    core.upsert_employee("E1", f.employee())
    core.record_event(f.registered("4471234"))
    with serving(app) as url:
        yield url


@pytest.fixture
def tokens(core) -> dict[str, str]:
    services = {role: create_token(core.db.write, role, f"fuzz-{role}") for role in ROLES}
    users = {}
    for role in USER_ROLES:
        login = f"fuzz-{role}".replace("_", "-")
        core.users.create(role, login, agency="MOI" if role in AGENCY_ROLES else None)
        users[role] = core.users.create_token(login)
    # x-roles: [user] is any user's token.
    return {**services, **users, "user": users["leadership"]}


def _authorization(operation_roles: list[str], tokens: dict[str, str]):
    """Mostly a token the operation accepts; also another role's, a made-up one, none."""
    right = [f"Bearer {tokens[role]}" for role in operation_roles]
    # Any user's token is right where the operation takes "user".
    users = USER_ROLES if "user" in operation_roles else ()
    wrong = [f"Bearer {tokens[role]}" for role in (*ROLES, *USER_ROLES)
             if role not in operation_roles and role not in users]
    made_up = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1,
                      max_size=60).map(lambda token: f"Bearer {token}")
    choices = [st.sampled_from(right)] * 6 if right else []
    if wrong:
        choices.append(st.sampled_from(wrong))
    return st.one_of(*choices, made_up, st.just(None))


@pytest.mark.parametrize(("path", "method", "mode"), CASES,
                         ids=[f"{m} {p} {mode}" for p, m, mode in CASES])
def test_every_answer_is_documented(live_api, tokens, path, method, mode):
    schema = schemathesis.openapi.from_path(DESCRIPTION)
    operation = schema[path][method]
    spec = _document["paths"][path][method.lower()]
    roles = spec.get("x-roles", [])
    examples = EXAMPLES if spec.get("parameters") or spec.get("requestBody") else 20
    checks = CHECKS + ([negative_data_rejection] if mode.is_negative else [])
    session = requests.Session()

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode),
           authorization=_authorization(roles, tokens))
    def one_request(case, authorization):
        if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER):
            # The negative case is the headers themselves (the token left out, say): a
            # token added here would make the request valid again.
            authorization = None
        headers = {"Authorization": authorization} if authorization else {}
        if authorization is None and case.headers:
            case.headers.pop("Authorization", None)
        case.call_and_validate(base_url=live_api, session=session, headers=headers,
                               checks=checks, timeout=30)

    sent = session.request
    count = [0]

    def counted(*args, **kwargs):
        count[0] += 1
        return sent(*args, **kwargs)

    session.request = counted
    try:
        one_request()
    finally:
        session.close()
    print(f"{method} {path} {mode}: {count[0]} requests")
