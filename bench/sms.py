"""SMS benchmark: the SMS channel (SMPP, smpplib) against bare smpplib, on the node-smpp peer.

    .venv/bin/python bench/sms.py [--transactions N] [--mo N] [--latency-seconds S]
                                  [--rate R] [--notifications N] [--push-threads T] [--keep]

1. A fresh SQLite database in a temp dir, migrated and loaded by bench/_dataset.py.
2. The node-smpp SMSC peer (tests/peers/smsc, ``make test`` installs it) on loopback.
3. (a) Inquiries: the peer pushes MO deliver_sms (its ``POST /mo``), each from its own
   sender; ~90 % from the transaction's applicant (found), ~10 % not found. First at
   ``--rate`` per second for ``--latency-seconds`` (MO->MT latency, on the peer's clock:
   from its writing the deliver_sm to its reading the answer's last submit_sm; the
   harness's HTTP call into the peer is shown apart), then ``--mo`` MOs
   as fast as ``--push-threads`` keep-alive connections push them (answers per second).
   Baseline: a bare smpplib echo ESME, no database, answering each MO with a submit_sm.
4. (b) Outbox: ``--notifications`` rows enqueued, then the channel started with the rate
   limit lifted; segments per second from the peer's submit_sm times. Baseline: bare
   smpplib submitting the same segments with the same window.
5. A table, the ratios and PASS/MISS against the issue's targets. Answers are checked
   (found/not found per MO, every notification sent); the exit status is non-zero only
   when something broke. Results and logs go to bench/out/.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import _dataset  # noqa: E402
from inquiry_http import BenchError, python_speed  # noqa: E402

from tests.peers.smsc_peer import SmscPeer, smsc_peer_available  # noqa: E402

OUT = HERE / "out"
TARGET_MO_PER_S = 1500.0
TARGET_P99_MS = 50.0
TARGET_SEGMENTS_PER_S = 3500.0
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@dataclass(frozen=True)
class Mo:
    sender: str  # as the SMSC writes it: international, no '+'
    text: str
    found: bool


def main() -> int:
    args = _arguments()
    OUT.mkdir(exist_ok=True)
    ok, why = smsc_peer_available()
    if not ok:
        print(f"BENCH BROKEN: the SMSC peer is not available: {why}", file=sys.stderr)
        return 1
    _print_machine()
    workdir = Path(tempfile.mkdtemp(prefix="sms-bench-"))
    url = f"sqlite:///{workdir / 'bench.db'}"
    key = secrets.token_urlsafe(32)
    processes: list[subprocess.Popen] = []
    peer = SmscPeer()
    try:
        print(f"\n== loading {args.transactions:,} transactions into {url}")
        loaded = _dataset.prepare(url, args.transactions, key.encode(), log=lambda *_: None)
        print(f"   {loaded.transactions:,} transactions + {loaded.events:,} events in "
              f"{loaded.seconds:.1f} s")
        peer.start()
        print(f"   SMSC peer (node-smpp) on 127.0.0.1:{peer.port}, control {peer.control_port}")
        spec = {"url": url, "national_id_key": key, "host": peer.host, "port": peer.port,
                "system_id": peer.system_id, "password": peer.password,
                "var_dir": str(workdir / "var"), "window": args.window}
        latency_n = int(args.rate * args.latency_seconds)
        plan = _plan_mos(args.transactions, 2 * (latency_n + args.mo), args.seed)
        results: dict = {"a": {}, "b": {}}
        for kind in ("echo", "gateway"):
            print(f"\n== (a) inquiries, {kind}")
            server = _start(kind, spec, workdir, processes)
            mos = plan[: latency_n + args.mo] if kind == "echo" else plan[latency_n + args.mo:]
            lat = _inquiries(peer, server, mos[:latency_n], kind, rate=args.rate, threads=1)
            print(f"   {args.rate:g}/s offered for {args.latency_seconds:g} s: "
                  f"p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms, "
                  f"max {lat['max_ms']:.1f} ms ({lat['answered']:,}/{lat['sent']:,} answered); "
                  f"the harness's call into the peer: p50 {lat['push_p50_ms']:.1f} ms, "
                  f"p99 {lat['push_p99_ms']:.1f} ms")
            spy = _spy(args, server, kind, "a")
            tput = _inquiries(peer, server, mos[latency_n:], kind, rate=None,
                              threads=args.push_threads)
            _spied(spy)
            print(f"   {tput['sent']:,} MOs pushed at {tput['push_rate']:,.0f}/s: "
                  f"{tput['rate']:,.0f} answered/s ({tput['answered']:,} answered, "
                  f"{tput['segments_per_answer']:.2f} segments each); CPU cores: ESME "
                  f"{tput['esme_cpu']:.2f}, SMSC peer {tput['peer_cpu']:.2f}")
            results["a"][kind] = {"latency": lat, "throughput": tput}
            _stop(server)
        notifications = _notifications(args.notifications)
        for kind in ("submit", "gateway"):
            label = "bare smpplib submit loop" if kind == "submit" else "gateway"
            print(f"\n== (b) outbox dispatch, {label}")
            results["b"][kind] = _dispatch(kind, peer, spec, workdir, processes,
                                           notifications, url, args)
            row = results["b"][kind]
            print(f"   {row['segments']:,} segments ({row['messages']:,} messages) in "
                  f"{row['seconds']:.2f} s: {row['rate']:,.0f} segments/s, window "
                  f"{row['window']}; CPU cores: ESME {row['esme_cpu']:.2f}, SMSC peer "
                  f"{row['peer_cpu']:.2f}")
        _report(results, args, loaded)
    except BenchError as exc:
        print(f"\nBENCH BROKEN: {exc}", file=sys.stderr)
        return 1
    finally:
        for process in processes:
            _stop_process(process)
        peer.stop()
        if args.keep:
            print(f"\nkept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=100_000,
                        help="transactions to load (default: 100,000)")
    parser.add_argument("--mo", type=int, default=6_000,
                        help="MOs pushed as fast as possible for answers/s (default: 6,000)")
    parser.add_argument("--rate", type=float, default=200.0,
                        help="MO/s offered for the latency run (default: 200)")
    parser.add_argument("--latency-seconds", type=float, default=10.0,
                        help="length of the latency run (default: 10)")
    parser.add_argument("--notifications", type=int, default=4_000,
                        help="notifications enqueued for the dispatch run (default: 4,000)")
    parser.add_argument("--push-threads", type=int, default=4,
                        help="keep-alive connections pushing MOs to the peer (default: 4)")
    parser.add_argument("--window", type=int, default=None,
                        help="sms.smpp.window for the gateway and the bare submit loop "
                             "(default: the setting, 10 unless configured)")
    parser.add_argument("--seed", type=int, default=74747)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument("--profile", action="store_true",
                        help="sample the gateway with py-spy during (a)'s push and (b); "
                             "the summaries go to bench/out/pyspy-sms-*.txt")
    args = parser.parse_args()
    if args.transactions < 1000 or args.mo < 100 or args.rate <= 0:
        parser.error("--transactions >= 1000, --mo >= 100, --rate > 0")
    return args


def _print_machine() -> None:
    from importlib.metadata import version

    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    print("== machine")
    print(f"   nproc {len(os.sched_getaffinity(0))}, {platform.system()} {platform.release()}, "
          f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, "
          f"smpplib {version('smpplib')}, SQLAlchemy {version('SQLAlchemy')}, node {node}")
    print(f"   python speed {python_speed():.0f} ns/loop iteration (lower is faster); "
          "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


# --- profiling ---------------------------------------------------------------------------


def _spy(args: argparse.Namespace, server: Server, kind: str, phase: str):
    """py-spy on the gateway for the phase about to run (--profile); None otherwise."""
    if not args.profile or kind != "gateway":
        return None
    import _profile

    if _profile.py_spy() is None:
        print("   --profile: py-spy is missing (.venv/bin/pip install py-spy); skipped")
        return None
    out = OUT / f"pyspy-sms-{phase}.txt"
    return out, _profile.record(server.process.pid, 600, out, gil=False)


def _spied(spy) -> None:
    if spy is None:
        return
    import _profile

    out, process = spy
    process.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
    process.wait(timeout=30)
    summary = out.with_name(out.stem + "-summary.txt")
    summary.write_text(_profile.summarize(out) + "\n")
    print(f"   profile: {summary}")


# --- the MO mix --------------------------------------------------------------------------


def _plan_mos(transactions: int, count: int, seed: int) -> list[Mo]:
    """``count`` MOs, each from its own sender (the channel dedupes per sender + text)."""
    rng = random.Random(seed)
    owners = rng.sample(range(min(transactions, 10**7)), min(count, transactions))
    out: list[Mo] = []
    stranger = 0
    for k in range(count):
        roll = rng.random()
        if roll < 0.9 and k < len(owners):
            i = owners[k]
            out.append(Mo(f"96655{i % 10**7:07d}",
                          "استعلام " + _dataset.number(i).translate(ARABIC_DIGITS), True))
            continue
        stranger += 1
        number = (_dataset.number(rng.randrange(transactions)) if roll < 0.95
                  else str(_dataset.UNKNOWN_FIRST + rng.randrange(9_000_000)))
        out.append(Mo(f"96650{stranger:07d}", "استعلام " + number.translate(ARABIC_DIGITS),
                      False))
    return out


# --- processes ---------------------------------------------------------------------------


@dataclass
class Server:
    kind: str
    process: subprocess.Popen
    window: int


def _start(kind: str, spec: dict, workdir: Path, processes: list, **extra) -> Server:
    ready = workdir / f"{kind}.ready"
    ready.unlink(missing_ok=True)
    log = (OUT / f"sms-{kind}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, str(HERE / "_sms_servers.py"), kind,
         json.dumps({**spec, "ready_file": str(ready), **extra})],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    processes.append(process)
    deadline = time.monotonic() + 60
    while not (ready.exists() and ready.read_text().endswith("\n")):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop_process(process)
            raise BenchError(f"the {kind} ESME did not bind; see {OUT / f'sms-{kind}.log'}")
        time.sleep(0.05)
    return Server(kind, process, int(ready.read_text()))


def _stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _stop(server: Server) -> None:
    _stop_process(server.process)


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- (a) inquiries -----------------------------------------------------------------------


def _push(port: int, mos: list[Mo], threads: int,
          rate: float | None) -> tuple[list[float], list[float]]:
    """POST /mo for each MO; the wall time just before each call, and the peer's own time
    of writing the deliver_sm (its clock is the one the submits are stamped with).
    Paced when ``rate``."""
    sent = [0.0] * len(mos)
    delivered = [0.0] * len(mos)
    errors: list[str] = []
    start = time.time() + 0.05

    def worker(first: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json"}
        for k in range(first, len(mos), threads):
            if rate:
                delay = start + k / rate - time.time()
                if delay > 0:
                    time.sleep(delay)
            mo = mos[k]
            body = json.dumps({"text": mo.text, "source_addr": mo.sender})
            sent[k] = time.time()
            conn.request("POST", "/mo", body, headers)
            response = conn.getresponse()
            raw = response.read()
            if response.status != 200:
                errors.append(f"{response.status} {raw[:200]!r}")
                return
            delivered[k] = json.loads(raw)["sent"][-1]["at"]
        conn.close()

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise BenchError(f"the peer refused an MO: {errors[0]}")
    return sent, delivered


def _answers(submits: list[dict]) -> dict[str, tuple[float, str, int]]:
    """Complete answers by destination: (time of the last segment, joined text, segments)."""
    parts: dict[str, dict[int, tuple[float, str]]] = {}
    totals: dict[str, int] = {}
    for s in submits:
        if not s.get("message_id"):
            continue
        udh = s.get("udh") or ""
        total, part = (int(udh[8:10], 16), int(udh[10:12], 16)) if len(udh) >= 12 else (1, 1)
        parts.setdefault(s["destination_addr"], {})[part] = (s["at"], s.get("text") or "")
        totals[s["destination_addr"]] = total
    out = {}
    for destination, got in parts.items():
        if len(got) >= totals[destination]:
            out[destination] = (max(at for at, _ in got.values()),
                                "".join(got[p][1] for p in sorted(got)), len(got))
    return out


def _inquiries(peer: SmscPeer, server: Server, mos: list[Mo], kind: str, *,
               rate: float | None, threads: int) -> dict:
    from core.transactions import render

    peer.reset()
    cpu_before = (_cpu(server.process.pid), _cpu(peer._process.pid), time.monotonic())
    sent, delivered = _push(peer.control_port, mos, threads, rate)
    push_seconds = max(sent) - min(sent)
    wanted = {mo.sender for mo in mos}
    deadline = time.monotonic() + max(60.0, len(mos) / 100)
    while True:
        time.sleep(0.5 if rate else 1.0)
        answers = _answers(peer.submits())
        if wanted <= answers.keys() or time.monotonic() > deadline:
            break
        if server.process.poll() is not None:
            raise BenchError(f"the {kind} ESME exited; see {OUT / f'sms-{kind}.log'}")
    cpu_after = (_cpu(server.process.pid), _cpu(peer._process.pid), time.monotonic())
    got = [answers[mo.sender] for mo in mos if mo.sender in answers]
    if not got:
        raise BenchError(f"{kind}: no MO was answered")
    not_found = render.not_found_text("ar")
    wrong = [mo for mo in mos if mo.sender in answers and kind == "gateway"
             and (answers[mo.sender][1] != not_found) != mo.found]
    if wrong:
        mo = wrong[0]
        raise BenchError(f"{kind}: {len(wrong)} wrong answers, e.g. {mo.text!r} from "
                         f"{mo.sender} (found={mo.found}) got {answers[mo.sender][1]!r}")
    # MO->MT as the SMSC sees it: from writing the deliver_sm to reading the last
    # submit_sm of the answer, both on the peer's clock. The harness's own HTTP call to
    # the peer (which swings by tens of ms between runs) is reported apart.
    latencies = sorted((answers[mo.sender][0] - t) * 1000
                       for mo, t in zip(mos, delivered, strict=True) if mo.sender in answers)
    harness = sorted((d - t) * 1000 for d, t in zip(delivered, sent, strict=True))
    last = max(at for at, _, _ in got)
    elapsed = max(last - min(sent), 1e-6)
    # Time spent polling counts against nobody: the window ends at the last answer.
    window = cpu_after[2] - cpu_before[2]
    result = {
        "sent": len(mos), "answered": len(got), "push_rate": len(mos) / max(push_seconds, 1e-6),
        "rate": len(got) / elapsed, "seconds": elapsed,
        "segments_per_answer": sum(n for _, _, n in got) / len(got),
        "p50_ms": _pct(latencies, 50), "p90_ms": _pct(latencies, 90),
        "p99_ms": _pct(latencies, 99), "max_ms": latencies[-1],
        "push_p50_ms": _pct(harness, 50), "push_p99_ms": _pct(harness, 99),
        "esme_cpu": (cpu_after[0] - cpu_before[0]) / window,
        "peer_cpu": (cpu_after[1] - cpu_before[1]) / window,
        "found": sum(mo.found for mo in mos),
    }
    if len(got) < len(mos):
        print(f"   WARNING: {len(mos) - len(got):,} of {len(mos):,} MOs unanswered in time")
    return result


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p / 100))]


# --- (b) outbox dispatch -----------------------------------------------------------------


def _notifications(count: int) -> list[tuple[str, str]]:
    """(recipient, body): half one UCS-2 segment, half two, like registration notices."""
    out = []
    for k in range(count):
        number = _dataset.number(k).translate(ARABIC_DIGITS)
        body = f"تم تسجيل معاملتكم رقم {number} بنجاح. للاستعلام أرسل الرقم إلى ٧٤٧٤٧"
        if k % 2:
            body += " وسيتم إشعاركم برسالة نصية عند إحالة المعاملة إلى الإدارة المختصة."
        out.append((f"+96656{k:07d}", body))
    return out


def _dispatch(kind: str, peer: SmscPeer, spec: dict, workdir: Path, processes: list,
              notifications: list[tuple[str, str]], url: str,
              args: argparse.Namespace) -> dict:
    from channels.sms.encoding import sms_parts

    peer.reset()
    if kind == "submit":
        segments = [(recipient.removeprefix("+"), s.payload.hex(), s.data_coding, s.esm_class)
                    for k, (recipient, body) in enumerate(notifications)
                    for s in sms_parts(body, k % 256)]
        seg_file, go = workdir / "segments.json", workdir / "submit.go"
        seg_file.write_text(json.dumps(segments))
        go.unlink(missing_ok=True)
        window = spec["window"] or _default_window()
        server = _start("submit", spec, workdir, processes, segments_file=str(seg_file),
                        go_file=str(go), window=window)
        # It exits when done: its CPU is read from the reaped children's rusage (which
        # includes its start-up imports, a few tenths of a second).
        before = (_children_cpu(), _cpu(peer._process.pid), time.monotonic())
        go.touch()
        server.process.wait(timeout=300)
        after = (_children_cpu(), _cpu(peer._process.pid), time.monotonic())
        expected = len(segments)
    else:
        from core.messaging import outbox
        from core.platform.db import Database

        database = Database(url)
        expected = 0
        try:
            with database.write.begin() as session:
                for k, (recipient, body) in enumerate(notifications):
                    outbox.enqueue(session, cause_key=f"bench:{k}", kind="registration",
                                   audience="citizen", recipient=recipient, language="ar",
                                   body=body)
        finally:
            database.dispose()
        # Message ids decide the concatenation reference only, not the segment count.
        expected = sum(len(sms_parts(body, 0)) for _, body in notifications)
        before = None
        server = _start("gateway", spec, workdir, processes)
        spy = _spy(args, server, "gateway", "b")
        before = (_cpu(server.process.pid), _cpu(peer._process.pid), time.monotonic())
        window = server.window
        deadline = time.monotonic() + max(60.0, expected / 200)
        while time.monotonic() < deadline:
            time.sleep(1.0)
            if len(peer.submits()) >= expected:
                break
        after = (_cpu(server.process.pid), _cpu(peer._process.pid), time.monotonic())
        _spied(spy)
        _stop(server)
        sent = _count_sent(url)
        if sent != len(notifications):
            raise BenchError(f"gateway: {sent:,} of {len(notifications):,} notifications "
                             "marked sent")
    submits = [s for s in peer.submits() if s.get("message_id")]
    if len(submits) < expected:
        raise BenchError(f"{kind}: {len(submits):,} of {expected:,} segments accepted")
    times = sorted(s["at"] for s in submits)
    seconds = max(times[-1] - times[0], 1e-6)
    busy = after[2] - before[2]
    esme_cpu = (after[0] - before[0]) / busy
    return {"segments": len(submits), "messages": len(notifications), "seconds": seconds,
            "rate": (len(submits) - 1) / seconds, "window": window, "esme_cpu": esme_cpu,
            "peer_cpu": (after[1] - before[1]) / busy}


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _default_window() -> int:
    from channels.sms.settings import SmppSettings

    return SmppSettings().window


def _count_sent(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM notifications WHERE "
                                     "kind = 'registration' AND status = 'sent'")).scalar_one()
    finally:
        engine.dispose()


# --- report ------------------------------------------------------------------------------


def _report(results: dict, args: argparse.Namespace, loaded: _dataset.Loaded) -> None:
    echo, gw = results["a"]["echo"], results["a"]["gateway"]
    bare, disp = results["b"]["submit"], results["b"]["gateway"]
    ratio_a = gw["throughput"]["rate"] / echo["throughput"]["rate"]
    ratio_b = disp["rate"] / bare["rate"]
    ok_a = gw["throughput"]["rate"] >= TARGET_MO_PER_S
    ok_p99 = gw["latency"]["p99_ms"] < TARGET_P99_MS
    ok_b = disp["rate"] >= TARGET_SEGMENTS_PER_S
    print(f"\n== results: {args.transactions:,} transactions, {args.mo:,} MOs pushed by "
          f"{args.push_threads} connections, {args.rate:g} MO/s for {args.latency_seconds:g} s, "
          f"{args.notifications:,} notifications")
    print(f"   {'(a) inquiries':<30}{'answers/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'ESME CPU':>10}{'peer CPU':>10}")
    for label, row in (("bare smpplib echo (no DB)", echo), ("gateway SmsChannel", gw)):
        print(f"   {label:<30}{row['throughput']['rate']:>10,.0f}"
              f"{row['latency']['p50_ms']:>9.1f}{row['latency']['p99_ms']:>9.1f}"
              f"{row['throughput']['esme_cpu']:>10.2f}{row['throughput']['peer_cpu']:>10.2f}")
    print(f"   {'(b) outbox dispatch':<30}{'segments/s':>10}{'window':>9}{'':>9}"
          f"{'ESME CPU':>10}{'peer CPU':>10}")
    for label, row in (("bare smpplib submit loop", bare), ("gateway SmsChannel", disp)):
        print(f"   {label:<30}{row['rate']:>10,.0f}{row['window']:>9}{'':>9}"
              f"{row['esme_cpu']:>10.2f}{row['peer_cpu']:>10.2f}")
    mark = lambda ok: "PASS" if ok else "MISS"  # noqa: E731
    print(f"\n   (a) gateway / echo answers/s    {ratio_a:6.1%}")
    print(f"   (a) gateway answers/s           {gw['throughput']['rate']:6,.0f}   target >= "
          f"{TARGET_MO_PER_S:,.0f}   {mark(ok_a)}")
    print(f"   (a) gateway p99 at {args.rate:g}/s        {gw['latency']['p99_ms']:6.1f} ms "
          f"target < {TARGET_P99_MS:g} ms  {mark(ok_p99)}")
    print(f"   (b) gateway / bare segments/s   {ratio_b:6.1%}")
    print(f"   (b) gateway segments/s          {disp['rate']:6,.0f}   target >= "
          f"{TARGET_SEGMENTS_PER_S:,.0f}   {mark(ok_b)}")
    push = min(echo["throughput"]["push_rate"], gw["throughput"]["push_rate"])
    if echo["throughput"]["rate"] > 0.9 * echo["throughput"]["push_rate"]:
        print(f"   NOTE: the echo kept up with the push ({push:,.0f} MO/s): its figure is the "
              "pusher's, a floor of bare smpplib's")
    summary = {"transactions": args.transactions, "events": loaded.events,
               "args": vars(args), "results": results,
               "ratios": {"a": round(ratio_a, 3), "b": round(ratio_b, 3)},
               "targets": {"mo_per_s": TARGET_MO_PER_S, "p99_ms": TARGET_P99_MS,
                           "segments_per_s": TARGET_SEGMENTS_PER_S},
               "pass": {"mo_per_s": ok_a, "p99": ok_p99, "segments_per_s": ok_b},
               "python_speed_end": round(python_speed(), 1)}
    (OUT / "sms.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"   details: {OUT / 'sms.json'}; logs: {OUT}/sms-*.log")


if __name__ == "__main__":
    sys.exit(main())
