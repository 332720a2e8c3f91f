"""The JSON API's OpenAPI description, served from the package so an installed gateway
has it too (``gateway/static/openapi.yaml``; ``docs/openapi.yaml`` links to it)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import yaml
from flask import Blueprint, Response, jsonify

openapi = Blueprint("openapi", __name__, url_prefix="/api/v1")


@cache
def description_text() -> str:
    """The YAML as kept in the package: read once, it does not change while running."""
    return files("gateway").joinpath("static/openapi.yaml").read_text(encoding="utf-8")


@cache
def description() -> dict[str, Any]:
    return yaml.safe_load(description_text())


@openapi.get("/openapi.yaml")
def as_yaml() -> Response:
    return Response(description_text(), mimetype="application/yaml")


@openapi.get("/openapi.json")
def as_json() -> Response:
    return jsonify(description())
