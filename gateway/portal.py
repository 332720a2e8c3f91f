"""The citizen web portal (being written)."""

from __future__ import annotations

from flask import Blueprint

portal = Blueprint("portal", __name__)
