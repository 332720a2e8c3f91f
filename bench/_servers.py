"""The two servers under test, each run in its own process (``python _servers.py KIND SPEC``).

``gateway``: the production app: ``load_settings`` + ``build_core`` + ``create_app``, served
by waitress with the keyword arguments ``gateway.cli._serve`` uses (``gateway run``).

``baseline``: a bare Flask app under the same waitress settings that answers the same
request with one indexed lookup (``SELECT ... FROM transactions WHERE number = ?``) on a
per-thread DBAPI connection: the floor of what any Python/Flask/waitress gateway costs.

The process binds the port given in the spec, then writes it to ``ready_file``.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

# The checkout this script is in, not whatever the venv's editable install points at
# (another worktree's code would be measured, and refuse this one's database schema).
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask import Flask, jsonify, request  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from waitress import create_server  # noqa: E402

from gateway.cli import configure_logging  # noqa: E402
from gateway.settings import Settings, load_settings  # noqa: E402


def bench_settings(spec: dict[str, Any]) -> Settings:
    """The gateway's settings for the bench; config.yaml and GATEWAY__* still apply."""
    return load_settings(
        None, database={"url": spec["url"]},
        security={"national_id_key": spec["national_id_key"]},
        gateway={"host": "127.0.0.1", "port": spec["port"], "secret_key": "bench-not-secret"},
        # Kiosk failures count per national ID, and the mix reuses 5,000 applicants' IDs:
        # the default 10 failures / 15 min would turn the failing share into refusals.
        inquiry={"max_failures": 1_000_000_000},
        var_dir=spec["var_dir"],
    )


def gateway_app(settings: Settings):
    from gateway.app import create_app
    from gateway.bootstrap import build_core, check_schema

    core = build_core(settings)
    problem = check_schema(core)
    if problem:
        raise SystemExit(problem)
    return create_app(settings, core), core.close


def baseline_app(url: str):
    app = Flask("baseline")
    local = threading.local()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        sql = ("SELECT id, number, status, applicant_national_id_hash FROM transactions "
               "WHERE number = ?")

        def connect():
            return sqlite3.connect(parsed.database, isolation_level=None,
                                   check_same_thread=False)
    else:
        import psycopg

        sql = ("SELECT id, number, status, applicant_national_id_hash FROM transactions "
               "WHERE number = %s")
        dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)

        def connect():
            return psycopg.connect(dsn, autocommit=True)

    def connection():
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = connect()
        return conn

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    @app.post("/api/v1/inquiries")
    def inquiry():
        data = request.get_json()
        row = connection().execute(sql, (data["number"],)).fetchone()
        if row is None:
            return jsonify({"found": False})
        return jsonify({"found": True, "transaction": {"number": row[1], "status": row[2]}})

    return app, lambda: None


def _stop(_signum, _frame) -> None:
    # As gateway.cli._serve does: raise out of the select loop (server.close() there would
    # end it with "OSError: [Errno 9] Bad file descriptor"); waitress's run() stops its
    # worker threads on SystemExit and returns, then the core closes.
    raise SystemExit(0)


def main(kind: str, spec_json: str) -> None:
    # Both servers log as `gateway run` does (waitress's per-request queue warnings off).
    configure_logging()
    spec = json.loads(spec_json)
    settings = bench_settings(spec)
    if kind == "gateway":
        app, close = gateway_app(settings)
    else:
        app, close = baseline_app(settings.database.url)
    # The same arguments as gateway.cli._serve: the threads setting, the proxy headers.
    server = create_server(app, host=settings.gateway.host, port=settings.gateway.port,
                           threads=settings.gateway.threads, ident=kind,
                           clear_untrusted_proxy_headers=True)
    signal.signal(signal.SIGTERM, _stop)
    Path(spec["ready_file"]).write_text(f"{server.effective_port} {settings.gateway.threads}\n")
    try:
        server.run()
    finally:
        close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
