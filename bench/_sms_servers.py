"""The SMS bench's ESMEs, each in its own process (``python _sms_servers.py KIND SPEC``).

``gateway``: the SMS channel as ``gateway sms`` runs it: ``load_settings`` (config.yaml and
GATEWAY__* still apply) + ``build_core`` + ``SmsBinds(core, settings.sms)`` with the
production ``Timings`` (``binds``/``binds_per_process`` from the spec, when several run).
The bench lifts the rate limit (``throughput_per_second``) and sets
``inquiry.max_failures`` to 10^9 (as bench/_servers.py does); the window is the setting's.

``echo``: bare smpplib, no database: one transceiver bind that answers each deliver_sm
with the segments of a fixed Arabic reply (the not-found text) to its sender.

``submit``: bare smpplib, no database: submits the segments listed in a JSON file with
the same window as the gateway, as fast as the SMSC answers, then exits.

``lookup_app()``: the small HTTP lookup app Kannel's smsbox asks for each MO (its
``get-url``), served by gunicorn (``kannel_commands``): one indexed lookup of the number
and the sender's mobile in the bench's SQLite file, answered with the status or the
not-found text, in Arabic (``X-Kannel-Coding: 2``: UCS-2, as the gateway answers).
``kannel_conf`` writes the bearerbox/smsbox configuration for the same SMSC peer.

The process writes ``ready_file`` once bound; SIGTERM stops it.
"""

from __future__ import annotations

import json
import select
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import smpplib.client  # noqa: E402
import smpplib.smpp  # noqa: E402

from gateway.runner import StopFlag  # noqa: E402

_stop = StopFlag()  # set by the SIGTERM handler: no lock taken there (StopFlag says why)


def _on_term(_signum, _frame) -> None:
    _stop.set()


def gateway_settings(spec: dict[str, Any]):
    from gateway.settings import load_settings

    return load_settings(
        None, database={"url": spec["url"]},
        security={"national_id_key": spec["national_id_key"]},
        gateway={"secret_key": "bench-not-secret"},
        inquiry={"max_failures": 1_000_000_000},
        # Quiet hours off: the dispatch run measures sending, whatever the hour in Riyadh.
        sms={"enabled": True, "quiet_hours": {"enabled": False}, "smpp": {
            "host": spec["host"], "port": spec["port"], "system_id": spec["system_id"],
            "password": spec["password"], "throughput_per_second": 1_000_000.0,
            **({"window": spec["window"]} if spec.get("window") else {}),
            **{key: spec[key] for key in ("binds", "binds_per_process") if key in spec}}},
        var_dir=spec["var_dir"],
    )


def run_gateway(spec: dict[str, Any]) -> None:
    from channels.sms.binds import SmsBinds
    from channels.sms.channel import shorten_gil_turns, timings_for
    from gateway.bootstrap import build_core, check_schema
    from gateway.cli import configure_logging

    configure_logging()
    settings = gateway_settings(spec)
    core = build_core(settings)
    problem = check_schema(core)
    if problem:
        raise SystemExit(problem)
    shorten_gil_turns()
    channel = SmsBinds(core, settings.sms, timings=timings_for(settings))
    channel.start()
    try:
        deadline = time.monotonic() + 30
        while not channel.bound:
            if time.monotonic() > deadline:
                raise SystemExit("the SMS channel did not bind")
            time.sleep(0.05)
        _ready(spec, settings.sms.smpp.window)
        while not _stop.wait(0.5):
            pass
    finally:
        channel.stop()
        core.close()


def _client(spec: dict[str, Any]) -> smpplib.client.Client:
    client = smpplib.client.Client(spec["host"], spec["port"], timeout=30,
                                   allow_unknown_opt_params=True)
    client.connect()
    client.bind_transceiver(system_id=spec["system_id"], password=spec["password"])
    return client


def _submit_pdu(client, destination: str, payload: bytes, data_coding: int, esm_class: int):
    return smpplib.smpp.make_pdu(
        "submit_sm", client=client, source_addr_ton=0, source_addr_npi=0,
        source_addr="74747", dest_addr_ton=1, dest_addr_npi=1, destination_addr=destination,
        short_message=payload, data_coding=data_coding, esm_class=esm_class,
        registered_delivery=1)


def run_echo(spec: dict[str, Any]) -> None:
    from channels.sms.encoding import sms_parts
    from core.transactions import render

    reply = sms_parts(render.not_found_text("ar"), 1)
    client = _client(spec)

    def on_deliver(pdu, **_kwargs) -> int:
        source = pdu.source_addr.decode() if isinstance(pdu.source_addr, bytes) \
            else str(pdu.source_addr)
        for segment in reply:
            client.send_pdu(_submit_pdu(client, source, segment.payload, segment.data_coding,
                                        segment.esm_class))
        return 0

    client.set_message_received_handler(on_deliver)
    client.set_message_sent_handler(lambda **_kwargs: None)
    _ready(spec, 0)
    while not _stop.is_set():
        readable, _, _ = select.select([client._socket], [], [], 0.2)
        if readable:
            client.read_once(auto_send_enquire_link=False)
    client.unbind()
    client.disconnect()


def run_submit(spec: dict[str, Any]) -> None:
    segments = json.loads(Path(spec["segments_file"]).read_text())
    window = spec["window"]
    client = _client(spec)
    state = {"in_flight": 0, "done": 0}

    def on_resp(**_kwargs) -> None:
        state["in_flight"] -= 1
        state["done"] += 1

    client.set_message_sent_handler(on_resp)
    client.set_error_pdu_handler(lambda pdu: None)
    _ready(spec, window)
    go = Path(spec["go_file"])
    while not go.exists() and not _stop.is_set():
        time.sleep(0.01)
    sent = 0
    while state["done"] < len(segments) and not _stop.is_set():
        while state["in_flight"] < window and sent < len(segments):
            destination, payload_hex, data_coding, esm_class = segments[sent]
            client.send_pdu(_submit_pdu(client, destination, bytes.fromhex(payload_hex),
                                        data_coding, esm_class))
            state["in_flight"] += 1
            sent += 1
        client.read_once(auto_send_enquire_link=False)
    client.unbind()
    client.disconnect()


# --- Kannel and its lookup app ------------------------------------------------------------

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def lookup_app():
    """The WSGI app gunicorn serves for Kannel (``_sms_servers:lookup_app()``); the
    database is ``SMS_LOOKUP_DB`` (the bench's URL: SQLite or PostgreSQL)."""
    import os
    import re
    import sqlite3
    from urllib.parse import parse_qs

    from core.transactions import render

    url = os.environ["SMS_LOOKUP_DB"]
    not_found = render.not_found_text("ar").encode()
    number_re = re.compile(r"\d{4,}")
    sql = "SELECT status FROM transactions WHERE number = ? AND applicant_mobile = ?"
    if url.startswith("postgresql"):
        import psycopg

        dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
        sql = sql.replace("?", "%s")

        def connect():
            return psycopg.connect(dsn, autocommit=True)
    else:
        def connect():
            return sqlite3.connect(url.removeprefix("sqlite:///"), check_same_thread=False)
    local = threading.local()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("X-Kannel-Coding", "2")]

    def app(environ, start_response):
        query = parse_qs(environ.get("QUERY_STRING", ""))
        sender = query.get("from", [""])[0].lstrip("+")
        text = query.get("text", [""])[0].translate(_DIGITS)
        match = number_re.search(text)
        row = None
        if match:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = connect()
            row = conn.execute(sql, (match.group(), f"+{sender}")).fetchone()
        body = (f"المعاملة {match.group()}: {row[0]}".encode() if row and match
                else not_found)
        start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
        return [body]

    return app


def kannel_conf(path: Path, *, smsc_host: str, smsc_port: int, system_id: str,
                password: str, window: int, admin_port: int, smsbox_port: int,
                lookup_port: int, log_dir: Path) -> None:
    """bearerbox + smsbox for the peer: one transceiver bind with the gateway's window,
    every MO (``catch-all``) answered with what the lookup app says."""
    path.write_text(f"""\
group = core
admin-port = {admin_port}
admin-password = bench
smsbox-port = {smsbox_port}
box-allow-ip = 127.0.0.1
log-level = 3
log-file = "{log_dir / 'kannel-bearerbox.log'}"

group = smsc
smsc = smpp
smsc-id = peer
host = {smsc_host}
port = {smsc_port}
transceiver-mode = true
smsc-username = {system_id}
smsc-password = {password}
system-type = ""
max-pending-submits = {window}
enquire-link-interval = 30
source-addr-ton = 0
source-addr-npi = 0
dest-addr-ton = 1
dest-addr-npi = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox_port}
mo-recode = true
log-level = 3
log-file = "{log_dir / 'kannel-smsbox.log'}"

group = sms-service
keyword = default
catch-all = true
get-url = "http://127.0.0.1:{lookup_port}/sms?from=%p&text=%a"
accept-x-kannel-headers = true
concatenation = true
max-messages = 4
omit-empty = true
""")


def _ready(spec: dict[str, Any], window: int) -> None:
    Path(spec["ready_file"]).write_text(f"{window}\n")


def main(kind: str, spec_json: str) -> None:
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, _on_term)
    spec = json.loads(spec_json)
    {"gateway": run_gateway, "echo": run_echo, "submit": run_submit}[kind](spec)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
