"""The two servers under test, each started the way its users deploy it
(``python _servers.py KIND SPEC``: the process replaces itself with the server, so the
bench's handle is the server's top process and its SIGTERM the server's stop).

``gateway``: ``gateway web`` itself: its supervisor and ``gateway.workers`` waitress workers
(``gateway.webtier``), on the bench's database. The settings go in as ``GATEWAY__*``
variables over config.yaml, as an operator's would.

``baseline``: a bare Flask app that answers the same request with one indexed lookup
(``SELECT ... FROM transactions WHERE number = ?``) on a per-process DBAPI connection,
under gunicorn with one sync worker per core (``gunicorn -w $(nproc)``, its documented
deployment): what a user would stand up instead of the gateway.

Both listen on 127.0.0.1 and the port in the spec; the bench waits for /healthz.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# The checkout this script is in, not whatever the venv's editable install points at
# (another worktree's code would be measured, and refuse this one's database schema).
ROOT = Path(__file__).resolve().parent.parent
BASELINE_URL = "BENCH_BASELINE_DATABASE_URL"


def gateway_environment(spec: dict[str, Any]) -> dict[str, str]:
    """The bench's settings for ``gateway web``; config.yaml and other GATEWAY__* apply."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [
            os.environ.get("PYTHONPATH")])]),
        "GATEWAY__DATABASE__URL": spec["url"],
        "GATEWAY__SECURITY__NATIONAL_ID_KEY": spec["national_id_key"],
        "GATEWAY__GATEWAY__HOST": "127.0.0.1",
        "GATEWAY__GATEWAY__PORT": str(spec["port"]),
        "GATEWAY__GATEWAY__SECRET_KEY": "bench-not-secret",
        "GATEWAY__GATEWAY__WORKERS": str(spec["workers"]),
        # Kiosk failures count per national ID, and the mix reuses 5,000 applicants' IDs:
        # the default 10 failures / 15 min would turn the failing share into refusals.
        "GATEWAY__INQUIRY__MAX_FAILURES": "1000000000",
        "GATEWAY__VAR_DIR": spec["var_dir"],
    }


def baseline_app():
    """The bare Flask app (gunicorn's application factory: ``_servers:baseline_app()``)."""
    from flask import Flask, jsonify, request
    from sqlalchemy.engine import make_url

    app = Flask("baseline")
    parsed = make_url(os.environ[BASELINE_URL])
    connection: list[Any] = []  # one per worker process, made on its first request
    if parsed.get_backend_name() == "sqlite":
        import sqlite3

        sql = ("SELECT id, number, status, applicant_national_id_hash FROM transactions "
               "WHERE number = ?")

        def connect():
            return sqlite3.connect(parsed.database, isolation_level=None)
    else:
        import psycopg

        sql = ("SELECT id, number, status, applicant_national_id_hash FROM transactions "
               "WHERE number = %s")
        dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)

        def connect():
            return psycopg.connect(dsn, autocommit=True)

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    @app.post("/api/v1/inquiries")
    def inquiry():
        data = request.get_json()
        if not connection:
            connection.append(connect())
        row = connection[0].execute(sql, (data["number"],)).fetchone()
        if row is None:
            return jsonify({"found": False})
        return jsonify({"found": True, "transaction": {"number": row[1], "status": row[2]}})

    return app


def main(kind: str, spec_json: str) -> None:
    spec = json.loads(spec_json)
    if kind == "gateway":
        command = [sys.executable, "-m", "gateway.cli", "web"]
        env = gateway_environment(spec)
    else:
        command = [sys.executable, "-m", "gunicorn", "--workers", str(spec["workers"]),
                   "--bind", f"127.0.0.1:{spec['port']}", "--chdir", str(Path(__file__).parent),
                   "_servers:baseline_app()"]
        env = {**os.environ, BASELINE_URL: spec["url"]}
    os.chdir(ROOT)
    os.execve(sys.executable, command, env)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
