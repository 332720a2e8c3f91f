"""The OpenAPI description the gateway serves is the repository's, and it describes every
/api/v1 route the app has (no more, no fewer): a new route without its description
fails here, before the fuzz test (test_api_fuzz.py) can miss it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from core.access.actors import USER_ROLES

DESCRIPTION = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def test_the_served_description_is_the_repositorys(client):
    served = client.get("/api/v1/openapi.yaml")
    assert served.status_code == 200
    assert served.mimetype == "application/yaml"
    assert served.get_data(as_text=True) == DESCRIPTION.read_text(encoding="utf-8")
    as_json = client.get("/api/v1/openapi.json")
    assert as_json.status_code == 200
    assert as_json.get_json() == yaml.safe_load(DESCRIPTION.read_text(encoding="utf-8"))


def test_every_api_route_is_described_and_nothing_else(app):
    document = yaml.safe_load(DESCRIPTION.read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    described = {(path, method.upper()) for path, item in document["paths"].items()
                 for method in item}
    routes = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert described == routes


def test_every_operation_says_its_roles_and_its_refusals():
    document = yaml.safe_load(DESCRIPTION.read_text(encoding="utf-8"))
    for path, item in document["paths"].items():
        for method, spec in item.items():
            if spec.get("security") == []:  # the description itself is public
                continue
            assert spec["x-roles"], (method, path)
            assert {"401", "403", "422"} <= set(spec["responses"]), (method, path)


def test_every_operations_roles_are_the_ones_its_route_accepts(app):
    """``x-roles`` says who may call an operation; the route's guard decides. A guard
    changed without the description (or the other way) fails here."""
    document = yaml.safe_load(DESCRIPTION.read_text(encoding="utf-8"))
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        accepted = getattr(app.view_functions[rule.endpoint], "accepted_roles", None)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            spec = document["paths"][path][method.lower()]
            if spec.get("security") == []:
                assert accepted is None, (method, path)
                continue
            said = set(spec["x-roles"])
            if "user" in said:  # any staff user
                said = (said - {"user"}) | set(USER_ROLES)
            assert accepted == said, (method, path)
            checked += 1
    assert checked >= 10
