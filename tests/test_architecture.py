"""core/ is the domain: it imports no web framework, no channel library, no adapter; and no
package of ours imports itself back (the other contracts: setup.cfg [importlinter])."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parent.parent
CORE = REPO / "core"

# Third-party and standard-library modules that belong to adapters, and our own adapters.
FORBIDDEN = frozenset({
    "flask", "werkzeug", "smpplib", "twilio", "PyQt6", "imapclient", "imaplib", "smtplib",
    "apscheduler", "waitress", "gateway", "channels", "scheduler",
})


def imported_modules(source: str) -> set[str]:
    """Every module a source file imports: import statements and literal dynamic imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and _call_name(node.func) in ("__import__", "import_module")):
            found.add(node.args[0].value)
    return found


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def forbidden_in(source: str) -> list[str]:
    return sorted(name for name in imported_modules(source)
                  if name.split(".")[0] in FORBIDDEN)


CORE_FILES = sorted(CORE.rglob("*.py"))


def test_the_walk_sees_the_whole_core():
    names = {path.relative_to(CORE).as_posix() for path in CORE_FILES}

    assert {"service.py", "transactions/lifecycle.py", "transactions/inquiry.py",
            "transactions/render.py", "platform/migrations/env.py"} <= names


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_core_imports_no_adapter_or_framework(path):
    assert forbidden_in(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(("source", "caught"), [
    ("import flask", ["flask"]),
    ("from werkzeug.exceptions import NotFound", ["werkzeug.exceptions"]),
    ("import imaplib, json", ["imaplib"]),
    ("from PyQt6 import QtWidgets", ["PyQt6"]),
    ("from apscheduler.schedulers.background import BackgroundScheduler",
     ["apscheduler.schedulers.background"]),
    ("from gateway.api import api", ["gateway.api"]),
    ("import channels.sms.smpp as smpp", ["channels.sms.smpp"]),
    ("def f():\n    from scheduler import jobs\n", ["scheduler"]),
    ("import importlib\nimportlib.import_module('twilio.rest')", ["twilio.rest"]),
    ("__import__('smtplib')", ["smtplib"]),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import waitress\n", ["waitress"]),
    ("import json\nfrom core.models import Base\nfrom . import render", []),
    ("import flaskish\nfrom gateways import x", []),
])
def test_the_check_catches_every_form_of_import(source, caught):
    assert forbidden_in(source) == caught


OUR_PACKAGES = ("core", "gateway", "channels", "scheduler")


def import_cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """Each direct import that a chain of imports leads back from, with that way back.

    import-linter's acyclic_siblings contract sees cycles between the siblings of one
    package; this sees any module-level cycle, across our top-level packages too.
    Type-checking-only imports count: a cycle through an annotation is a cycle in design.
    """
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                cycles.append((importer, *back))
    return cycles


# Modules other branches are dissolving (issue #12): core.sms_inquiry's type-only import of
# core.service closes a cycle today. Once they are gone this changes nothing; until then
# `lint-imports` (the no-cycles contract) still reports that cycle.
DISSOLVING = frozenset({"core.sms_inquiry", "core.email_inquiry", "core.email_rules"})


def test_no_import_cycles():
    graph = grimp.build_graph(*OUR_PACKAGES, cache_dir=None)

    assert [cycle for cycle in import_cycles(graph) if not DISSOLVING & set(cycle)] == []


def test_the_cycle_check_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    assert import_cycles(graph) == []

    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert ("pkg.a", "pkg.b", "pkg.c", "pkg.a") in import_cycles(graph)
