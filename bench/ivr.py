"""IVR webhooks: responses per second and latency over whole calls, beside a bare floor.

    .venv/bin/python bench/ivr.py [--seconds S] [--callers 1,4] [--profile]

Two servers, each in its own process under waitress with ``gateway run``'s settings:

- ``gateway``: the production app (``create_app``) on a fresh SQLite database holding one
  transaction, with signature checks on;
- ``baseline``: a bare Flask app whose one route returns a fixed TwiML document for any
  ``POST /ivr/...``: what Python + Flask + waitress cost for a webhook on this machine.

``--callers`` client threads (in this process; one run per value, 1 and 4 by default)
each make whole calls, one after another, the way Twilio drives them, two shapes in turn:

- caller ID: ``/ivr/voice`` (``StirVerstat`` full attestation), ``1`` (Arabic), ``1``
  (the main menu: a transaction), the transaction number (the # ends the <Gather>;
  Twilio leaves it out of ``Digits``), and as the caller ID is the applicant's the status
  comes at once, ``9`` (goodbye): five signed webhooks;
- national ID: from another mobile, ``/ivr/voice``, ``2`` (English), ``1``, the number,
  the national ID (the inquiry), ``9``: six signed webhooks.

Every gateway answer is checked (200, TwiML, the expected menu). The same requests go to
the baseline. Prints webhooks/s and p50/p90/p99 latency of each, the gateway's p99 per
step, and the gateway's p99 against the 20 ms target.

``--profile`` adds two runs at the highest number of callers with py-spy attached to the
gateway (all active threads, then only the thread holding the GIL), prints the top frames
and writes the collapsed stacks to ``bench/out/pyspy-ivr-*.txt``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

AUTH_TOKEN = "bench-auth-token"
PUBLIC_URL = "https://ivr.bench.example"
NUMBER = "4471234"
MOBILE = "+966551234567"
OTHER_MOBILE = "+966569876543"
NATIONAL_ID = "1012345672"
NATIONAL_ID_KEY = "bench-not-secret"
FIXED_TWIML = ('<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="'
               f'{PUBLIC_URL}/ivr/input/number" input="dtmf" method="POST" timeout="6">'
               '<Say language="arb" voice="Polly.Zeina">أدخل رقم المعاملة</Say></Gather>'
               f'<Redirect method="POST">{PUBLIC_URL}/ivr/input/number</Redirect></Response>')
TARGET_P99_MS = 20.0


# --- the servers (child processes) ----------------------------------------------------------


def _settings(spec: dict):
    from gateway.settings import load_settings

    return load_settings(
        None, database={"url": spec["url"]}, var_dir=spec["var_dir"],
        security={"national_id_key": NATIONAL_ID_KEY},
        gateway={"host": "127.0.0.1", "port": spec["port"], "secret_key": "bench",
                 "public_url": PUBLIC_URL},
        ivr={"enabled": True, "twilio": {"auth_token": AUTH_TOKEN}},
        inquiry={"max_failures": 1_000_000_000})


def _serve(kind: str, spec: dict) -> None:
    from flask import Flask, Response
    from waitress import create_server

    settings = _settings(spec)
    if kind == "gateway":
        from gateway.app import create_app
        from gateway.bootstrap import build_core

        app = create_app(settings, build_core(settings))
    else:
        app = Flask("baseline")

        @app.post("/ivr/<path:_rest>")
        def fixed(_rest):
            return Response(FIXED_TWIML, mimetype="text/xml")

    server = create_server(app, host="127.0.0.1", port=spec["port"],
                           threads=settings.gateway.threads, ident="bench",
                           clear_untrusted_proxy_headers=True)
    Path(spec["ready"]).write_text("ready")
    server.run()


def _prepare(url: str) -> None:
    from core.platform import migrate
    from core.platform.db import Database
    from core.service import Core

    database = Database(url)
    migrate.upgrade(database.engine)
    core = Core.build(database, _settings(
        {"url": url, "var_dir": tempfile.gettempdir(), "port": 1}), background_log=False)
    core.upsert_department("RIGHTS", {"name_ar": "إدارة الحقوق", "name_en": "Rights",
                                      "manager": {"name": "م", "mobile": "0501112233"}})
    core.record_event({"event_id": "b-1", "type": "registered",
                       "occurred_at": "2025-11-02T09:15:00+03:00",
                       "transaction": {"number": NUMBER, "subject": "طلب", "applicant": {
                           "name": "محمد", "national_id": NATIONAL_ID, "mobile": MOBILE}}})
    core.record_event({"event_id": "b-2", "type": "referred", "department": "RIGHTS",
                       "occurred_at": "2025-11-03T10:00:00+03:00",
                       "transaction": {"number": NUMBER}})
    core.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(kind: str, url: str, work: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    ready = work / f"{kind}.ready"
    spec = {"url": url, "var_dir": str(work), "port": port, "ready": str(ready)}
    with open(work / f"{kind}.log", "w") as log:
        process = subprocess.Popen([sys.executable, __file__, "--serve", kind,
                                    json.dumps(spec)], stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 30
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{kind} server did not start; see {work / (kind + '.log')}")
        time.sleep(0.05)
    return process, port


# --- the callers ----------------------------------------------------------------------------


def _call_steps(sid: str, national_id: bool) -> list[tuple[str, dict, str]]:
    """(path, parameters, what the answer must contain) for one whole call: verified by
    the caller ID (attested by the network), or from another mobile by the national ID."""
    base = {"CallSid": sid, "AccountSid": "AC" + "0" * 32,
            "From": OTHER_MOBILE if national_id else MOBILE, "To": "+9668001287788",
            "CallStatus": "in-progress"}
    if not national_id:
        base["StirVerstat"] = "TN-Validation-Passed-A"
    voice = ("/ivr/voice", base, "/ivr/input/language")
    goodbye = ("/ivr/input/options", {**base, "Digits": "9"}, "<Hangup")
    service = ("/ivr/input/service", {**base, "Digits": "1"}, "/ivr/input/number")
    if not national_id:
        return [voice,
                ("/ivr/input/language", {**base, "Digits": "1"}, "/ivr/input/service"),
                service,
                ("/ivr/input/number", {**base, "Digits": NUMBER}, "/ivr/input/options"),
                goodbye]
    return [voice,
            ("/ivr/input/language", {**base, "Digits": "2"}, "/ivr/input/service"),
            service,
            ("/ivr/input/number", {**base, "Digits": NUMBER}, "/ivr/input/national_id"),
            ("/ivr/input/national_id", {**base, "Digits": NATIONAL_ID},
             "/ivr/input/options"),
            goodbye]


def _caller(port: int, stop: float, check: bool, latencies: list[tuple[str, float]],
            errors: list[str], calls: list[int], first_shape: int) -> None:
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(AUTH_TOKEN)
    connection = http.client.HTTPConnection("127.0.0.1", port)
    shape = first_shape
    while time.monotonic() < stop:
        shape ^= 1
        calls.append(1)
        for path, params, expected in _call_steps(f"CA{secrets.token_hex(16)}",
                                                  national_id=bool(shape)):
            body = urlencode(params)
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "X-Twilio-Signature": validator.compute_signature(
                           PUBLIC_URL + path, params)}
            started = time.perf_counter()
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read().decode("utf-8")
            latencies.append((path, time.perf_counter() - started))
            if response.status != 200 or (check and expected not in answer):
                errors.append(f"{path}: {response.status} {answer[:200]}")
                return


def _load(port: int, seconds: float, callers: int, check: bool) -> dict:
    latencies: list[tuple[str, float]] = []
    errors: list[str] = []
    calls: list[int] = []
    stop = time.monotonic() + seconds
    threads = [threading.Thread(target=_caller, args=(port, stop, check, latencies, errors,
                                                      calls, n % 2))
               for n in range(callers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    if errors:
        raise SystemExit("wrong answers:\n" + "\n".join(errors[:5]))
    ordered = sorted(seconds for _path, seconds in latencies)
    quantiles = statistics.quantiles(ordered, n=100)
    by_step: dict[str, list[float]] = {}
    for path, seconds in latencies:
        by_step.setdefault(path, []).append(seconds)
    return {"webhooks": len(ordered), "per_second": len(ordered) / elapsed,
            "calls_per_second": len(calls) / elapsed,
            "p50_ms": quantiles[49] * 1000, "p90_ms": quantiles[89] * 1000,
            "p99_ms": quantiles[98] * 1000,
            "p99_by_step_ms": {path: statistics.quantiles(values, n=100)[98] * 1000
                               for path, values in by_step.items() if len(values) > 1}}


def _profile_gateway(pid: int, port: int, seconds: float, callers: int) -> None:
    import _profile

    if _profile.py_spy() is None:
        print("--profile: py-spy is missing (.venv/bin/pip install py-spy); skipped")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    for gil in (False, True):
        out = OUT / f"pyspy-ivr-{'gil' if gil else 'all'}.txt"
        spy = _profile.record(pid, seconds, out, gil=gil)
        time.sleep(0.5)
        run = _load(port, seconds, callers, True)
        _, err = spy.communicate(timeout=seconds + 60)
        if spy.returncode != 0 or not out.exists():
            print(f"py-spy failed ({spy.returncode}): {err.strip()[-500:]}")
            return
        what = "threads holding the GIL" if gil else "all active threads"
        print(f"\npy-spy, {what} ({run['per_second']:,.0f} webhooks/s while sampled) "
              f"-> {out}")
        print(_profile.summarize(out, top=30), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--callers", default="1,4",
                        help="concurrent callers, one run per value (default: 1,4)")
    parser.add_argument("--profile", action="store_true",
                        help="also sample the gateway with py-spy (bench/out/pyspy-ivr-*)")
    parser.add_argument("--serve", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve[0], json.loads(args.serve[1]))
        return
    levels = [int(n) for n in args.callers.split(",")]
    results: dict[tuple[str, int], dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ivr-") as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'gateway.db'}"
        _prepare(url)
        for kind in ("baseline", "gateway"):
            process, port = _start(kind, url, work)
            try:
                _load(port, 1.0, max(levels), kind == "gateway")  # warm-up
                for callers in levels:
                    results[kind, callers] = _load(port, args.seconds, callers,
                                                   kind == "gateway")
                if kind == "gateway" and args.profile:
                    _profile_gateway(process.pid, port, args.seconds, max(levels))
            finally:
                process.terminate()
                process.wait(timeout=10)
    print(f"IVR webhooks over whole calls (caller ID: 5 signed webhooks, national ID: 6, "
          f"in turn), {args.seconds:.0f} s a run, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}")
    for callers in levels:
        print(f" {callers} caller(s) at once:")
        for kind in ("baseline", "gateway"):
            r = results[kind, callers]
            print(f"  {kind:9} {r['per_second']:7.0f} webhooks/s ({r['calls_per_second']:4.0f} "
                  f"calls/s)  p50 {r['p50_ms']:5.1f} ms  p90 {r['p90_ms']:5.1f} ms  "
                  f"p99 {r['p99_ms']:5.1f} ms")
        ratio = results["gateway", callers]["per_second"] / \
            results["baseline", callers]["per_second"]
        p99 = results["gateway", callers]["p99_ms"]
        verdict = "PASS" if p99 < TARGET_P99_MS else "MISS"
        steps = results["gateway", callers]["p99_by_step_ms"]
        print("  gateway p99 by step: " + ", ".join(
            f"{path.removeprefix('/ivr/')} {ms:.1f} ms" for path, ms in steps.items()))
        print(f"  gateway/baseline {ratio:.0%}; gateway p99 {p99:.1f} ms "
              f"(target < {TARGET_P99_MS:.0f} ms: {verdict})")


if __name__ == "__main__":
    main()
