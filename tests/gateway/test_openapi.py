"""The OpenAPI description the gateway serves is the repository's, and it describes every
/api/v1 route the app has (no more, no fewer): a new route without its description
fails here, before the fuzz test (test_api_fuzz.py) can miss it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

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
