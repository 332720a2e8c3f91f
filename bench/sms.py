"""SMS benchmark: the SMS channel (SMPP, smpplib) against bare smpplib and Kannel, on the
node-smpp peer.

    .venv/bin/python bench/sms.py [--transactions N] [--strangers N] [--owners N]
                                  [--latency-seconds S] [--rate R] [--notifications N]
                                  [--push-threads T] [--gateway-processes P] [--no-kannel]
                                  [--keep] [--profile]

1. A fresh SQLite database in a temp dir, migrated and loaded by bench/_dataset.py.
2. The node-smpp SMSC peer (tests/peers/smsc, ``make test`` installs it) on loopback.
3. (a) Inquiries: the peer pushes MO deliver_sms (its ``POST /mo``), each from its own
   sender, to each ESME in turn: bare smpplib echoing a fixed answer (no database),
   Kannel (bearerbox + smsbox, Debian's ``kannel``) asking a small lookup app under
   gunicorn (when installed), and the gateway (``gateway sms`` as it runs, in
   ``--gateway-processes`` processes, one bind each). Per ESME: MO->MT latency at
   ``--rate`` per second for ``--latency-seconds`` (~90 % owners asking their own
   transaction, ~10 % not found; on the peer's clock: from its writing the deliver_sm to
   its reading the answer's last submit_sm), then two floods pushed as fast as
   ``--push-threads`` keep-alive connections can: ``--strangers`` mobiles each asking an
   existing number that is not theirs (the issue's stranger flood), and ``--owners``
   applicants each asking their own.
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
TARGET_MO_PER_S = 2500.0
TARGET_KANNEL_RATIO = 1.5
TARGET_P99_MS = 50.0
TARGET_SEGMENTS_PER_S = 3500.0
FLOODS = ("strangers", "owners")
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
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
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
                "control_port": peer.control_port,
                "system_id": peer.system_id, "password": peer.password,
                "var_dir": str(workdir / "var"), "window": args.window}
        # Each MO from a sender of its own, across every ESME and run (the gateway dedupes
        # per sender and text, and budgets answers per sender).
        planner = Planner(args.transactions, args.seed)
        latency_n = int(args.rate * args.latency_seconds)
        results: dict = {"a": {}, "b": {}}
        kinds = [kind for kind in ("echo", "kannel", "gateway") if kind in args.esmes
                 and (kind != "kannel" or _kannel_wanted(args))]
        for kind in kinds:
            print(f"\n== (a) inquiries, {kind}")
            server = _start_esme(kind, spec, workdir, processes, args, url)
            _warm_up(peer, server, planner)
            spy = _spy(args, server, kind, "a-latency")
            lat = _inquiries(peer, server, planner.mix(latency_n), kind, rate=args.rate,
                             threads=1, args=args)
            _spied(spy)
            print(f"   {args.rate:g}/s offered for {args.latency_seconds:g} s: "
                  f"p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms, "
                  f"max {lat['max_ms']:.1f} ms ({lat['answered']:,}/{lat['sent']:,} answered); "
                  f"the harness's call into the peer: p50 {lat['push_p50_ms']:.1f} ms, "
                  f"p99 {lat['push_p99_ms']:.1f} ms")
            results["a"][kind] = {"latency": lat}
            for flood in FLOODS:
                mos = (planner.strangers(args.strangers) if flood == "strangers"
                       else planner.owners(args.owners))
                spy = _spy(args, server, kind, f"a-{flood}")
                tput = _inquiries(peer, server, mos, kind, rate=None,
                                  threads=args.push_threads, args=args)
                _spied(spy)
                print(f"   {flood}: {tput['sent']:,} MOs pushed at {tput['push_rate']:,.0f}/s: "
                      f"{tput['rate']:,.0f} answered/s ({tput['answered']:,} answered, "
                      f"{tput['segments_per_answer']:.2f} segments each); CPU cores: ESME "
                      f"{tput['esme_cpu']:.2f}, SMSC peer {tput['peer_cpu']:.2f}; "
                      f"{tput['per_cpu_second']:,.0f} answers per ESME CPU-second")
                results["a"][kind][flood] = tput
            _stop(server)
        notifications = _notifications(args.notifications)
        for kind in ("submit", "gateway") if args.notifications else ():
            label = "bare smpplib submit loop" if kind == "submit" else "gateway"
            print(f"\n== (b) outbox dispatch, {label}")
            results["b"][kind] = _dispatch(kind, peer, spec, workdir, processes,
                                           notifications, url, args)
            row = results["b"][kind]
            print(f"   {row['segments']:,} segments ({row['messages']:,} messages) in "
                  f"{row['seconds']:.2f} s: {row['rate']:,.0f} segments/s, window "
                  f"{row['window']}; CPU cores: ESME {row['esme_cpu']:.2f}, SMSC peer "
                  f"{row['peer_cpu']:.2f}")
        if set(results["a"]) >= {"echo", "gateway"} and results["b"]:
            _report(results, args, loaded)
        else:
            (OUT / "sms.json").write_text(json.dumps(results, indent=2) + "\n")
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
    parser.add_argument("--strangers", type=int, default=3_000,
                        help="the stranger flood: mobiles each asking a number not theirs "
                             "(default: 3,000)")
    parser.add_argument("--owners", type=int, default=3_000,
                        help="the owners' flood: applicants each asking their own "
                             "(default: 3,000)")
    parser.add_argument("--rate", type=float, default=200.0,
                        help="MO/s offered for the latency run (default: 200)")
    parser.add_argument("--latency-seconds", type=float, default=10.0,
                        help="length of the latency run (default: 10)")
    parser.add_argument("--notifications", type=int, default=4_000,
                        help="notifications enqueued for the dispatch run (default: 4,000)")
    parser.add_argument("--push-threads", type=int, default=2,
                        help="keep-alive connections pushing the floods to the peer "
                             "(default: 2)")
    parser.add_argument("--push-batch", type=int, default=25,
                        help="MOs per call into the peer in the floods (its POST /mos; "
                             "default: 25), so the harness is not what limits them")
    parser.add_argument("--window", type=int, default=None,
                        help="sms.smpp.window for the gateway and the bare submit loop "
                             "(default: the setting, 10 unless configured)")
    parser.add_argument("--gateway-processes", type=int, default=1,
                        help="`gateway sms` processes for (a), one bind each "
                             "(sms.smpp.binds; default: 1)")
    parser.add_argument("--no-kannel", action="store_true",
                        help="leave Kannel out even when it is installed")
    parser.add_argument("--esmes", default="echo,kannel,gateway",
                        help="which ESMEs (a) runs, for a quicker look (default: all); "
                             "the report needs all three and --notifications > 0")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL database to load and use instead of a temp "
                             "SQLite file (EMPTIED first); several gateway processes "
                             "share SQLite's one writer badly")
    parser.add_argument("--seed", type=int, default=74747)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument("--profile", action="store_true",
                        help="sample the gateway with py-spy during (a)'s push and (b); "
                             "the summaries go to bench/out/pyspy-sms-*.txt")
    parser.add_argument("--profile-wall", action="store_true",
                        help="with --profile: every thread's wall clock, waits included "
                             "(py-spy --idle), instead of the GIL holder's CPU")
    args = parser.parse_args()
    if (args.transactions < 20_000 or min(args.strangers, args.owners) < 100
            or args.rate <= 0 or args.gateway_processes < 1):
        parser.error("--transactions >= 20,000, --strangers and --owners >= 100, --rate > 0, "
                     "--gateway-processes >= 1")
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
    return out, _profile.record(server.process.pid, 600, out, gil=not args.profile_wall,
                                idle=args.profile_wall)


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


class Planner:
    """MOs, each from a sender never used before in this run (owners are drawn without
    replacement; strangers and not-found senders count up)."""

    def __init__(self, transactions: int, seed: int) -> None:
        self.transactions = transactions
        self.rng = random.Random(seed)
        self._owners = iter(self.rng.sample(range(min(transactions, 10**7)),
                                            min(transactions, 10**7)))
        self._strangers = 0

    def owner(self) -> Mo:
        i = next(self._owners)
        return Mo(f"96655{i % 10**7:07d}",
                  "استعلام " + _dataset.number(i).translate(ARABIC_DIGITS), True)

    def stranger(self, *, unknown: bool = False) -> Mo:
        """A mobile that is no applicant's, asking an existing number (or one that does
        not exist)."""
        self._strangers += 1
        number = (str(_dataset.UNKNOWN_FIRST + self.rng.randrange(9_000_000)) if unknown
                  else _dataset.number(self.rng.randrange(self.transactions)))
        return Mo(f"96650{self._strangers:07d}",
                  "استعلام " + number.translate(ARABIC_DIGITS), False)

    def owners(self, count: int) -> list[Mo]:
        return [self.owner() for _ in range(count)]

    def strangers(self, count: int) -> list[Mo]:
        return [self.stranger() for _ in range(count)]

    def mix(self, count: int) -> list[Mo]:
        """~90 % owners, ~5 % strangers, ~5 % numbers that do not exist."""
        out = []
        for _ in range(count):
            roll = self.rng.random()
            out.append(self.owner() if roll < 0.9 else self.stranger(unknown=roll >= 0.95))
        return out


# --- processes ---------------------------------------------------------------------------


@dataclass
class Server:
    kind: str
    process: subprocess.Popen  # the first (the one --profile samples)
    window: int
    others: tuple[subprocess.Popen, ...] = ()

    @property
    def all(self) -> tuple[subprocess.Popen, ...]:
        return (self.process, *self.others)

    def cpu(self) -> float:
        """CPU seconds of its processes and their children (gunicorn's workers)."""
        return sum(_tree_cpu(process.pid) for process in self.all)

    def died(self) -> bool:
        return any(process.poll() is not None for process in self.all)


def _start(kind: str, spec: dict, workdir: Path, processes: list, *, tag: str = "",
           **extra) -> Server:
    ready = workdir / f"{kind}{tag}.ready"
    ready.unlink(missing_ok=True)
    log = (OUT / f"sms-{kind}{tag}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, str(HERE / "_sms_servers.py"), kind,
         json.dumps({**spec, "ready_file": str(ready), **extra})],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    processes.append(process)
    deadline = time.monotonic() + 60
    while not (ready.exists() and ready.read_text().endswith("\n")):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop_process(process)
            raise BenchError(f"the {kind} ESME did not bind; see "
                             f"{OUT / f'sms-{kind}{tag}.log'}")
        time.sleep(0.05)
    return Server(kind, process, int(ready.read_text()))


def _start_esme(kind: str, spec: dict, workdir: Path, processes: list,
                args: argparse.Namespace, url: str) -> Server:
    if kind == "kannel":
        return _start_kannel(spec, workdir, processes, url)
    if kind != "gateway" or args.gateway_processes == 1:
        return _start(kind, spec, workdir, processes)
    # One bind per process, the account's binds shared as the operator would configure.
    binds = {"binds": args.gateway_processes, "binds_per_process": 1}
    servers = [_start(kind, spec, workdir, processes, tag=f"-{k}", **binds)
               for k in range(args.gateway_processes)]
    return Server(kind, servers[0].process, servers[0].window,
                  tuple(server.process for server in servers[1:]))


def _kannel_wanted(args: argparse.Namespace) -> bool:
    if args.no_kannel:
        return False
    if shutil.which("bearerbox", path="/usr/sbin:/usr/bin") is None:
        print("\n   Kannel is not installed (apt-get install -y kannel): its baseline is "
              "left out")
        return False
    return True


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_kannel(spec: dict, workdir: Path, processes: list, url: str) -> Server:
    """The lookup app under gunicorn (2 workers, one per core, 8 threads each), then
    bearerbox and smsbox; ready once the peer sees the bind."""
    from _sms_servers import kannel_conf

    lookup, admin, box = _free_port(), _free_port(), _free_port()
    conf = workdir / "kannel.conf"
    kannel_conf(conf, smsc_host=spec["host"], smsc_port=spec["port"],
                system_id=spec["system_id"], password=spec["password"],
                window=spec["window"] or _default_window(), admin_port=admin,
                smsbox_port=box, lookup_port=lookup, log_dir=OUT)
    (OUT / "kannel.conf").write_text(conf.read_text())
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = {**os.environ, "SMS_LOOKUP_DB": url}

    def launch(command: list[str], name: str) -> subprocess.Popen:
        log = (OUT / f"sms-kannel-{name}.log").open("w")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=HERE,
                                   env=env)
        processes.append(process)
        return process

    app = launch([str(gunicorn), "-w", "2", "-k", "gthread", "--threads", "8", "-b",
                  f"127.0.0.1:{lookup}", "--log-level", "warning",
                  "_sms_servers:lookup_app()"], "lookup")
    bearerbox = launch(["/usr/sbin/bearerbox", str(conf)], "bearerbox")
    time.sleep(1.0)  # smsbox gives up when bearerbox does not listen yet
    smsbox = launch(["/usr/sbin/smsbox", str(conf)], "smsbox")
    server = Server("kannel", bearerbox, spec["window"] or _default_window(), (smsbox, app))
    deadline = time.monotonic() + 30
    while not _bound(spec):
        if server.died() or time.monotonic() > deadline:
            raise BenchError(f"Kannel did not bind; see {OUT}/sms-kannel-*.log, "
                             f"{OUT}/kannel-*.log")
        time.sleep(0.2)
    return server


def _bound(spec: dict) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", spec["control_port"], timeout=5)
    try:
        conn.request("GET", "/state")
        return json.loads(conn.getresponse().read())["bound"] >= 1
    finally:
        conn.close()


def _warm_up(peer: SmscPeer, server: Server, planner: Planner) -> None:
    """One MO answered end to end before anything is measured (Kannel's smsbox connects
    to bearerbox after the bind; the gateway's first inquiry loads its caches)."""
    mo = planner.owner()
    _reset(peer)
    peer.send_mo(mo.text, source_addr=mo.sender)
    deadline = time.monotonic() + 30
    while mo.sender not in _answers(peer.submits()):
        if server.died() or time.monotonic() > deadline:
            raise BenchError(f"the {server.kind} ESME answered no MO; see {OUT}/sms-*.log")
        time.sleep(0.1)


def _reset(peer: SmscPeer) -> None:
    """Forget the records; MOs spread over the bound sessions, as an SMSC spreads them over
    an account's binds."""
    peer.reset()
    peer.script(mo_to="round_robin")


def _stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _stop(server: Server) -> None:
    for process in server.all:
        _stop_process(process)


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its live descendants."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            parents[int(entry.name)] = int(fields[1])
    tree, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        grew = bool(more)
        tree |= more
    return sum(_cpu(member) for member in tree)


# --- (a) inquiries -----------------------------------------------------------------------


def _push(port: int, mos: list[Mo], threads: int, rate: float | None,
          batch: int = 1) -> tuple[list[float], list[float]]:
    """POST /mo for each MO (paced when ``rate``), or /mos for ``batch`` of them at a time;
    the wall time just before each call, and the peer's own time of writing each
    deliver_sm (its clock is the one the submits are stamped with)."""
    sent = [0.0] * len(mos)
    delivered = [0.0] * len(mos)
    errors: list[str] = []
    start = time.time() + 0.05

    def worker(first: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json"}
        for k in range(first * batch, len(mos), threads * batch):
            if rate:
                delay = start + k / rate - time.time()
                if delay > 0:
                    time.sleep(delay)
            chunk = mos[k:k + batch]
            bodies = [{"text": mo.text, "source_addr": mo.sender} for mo in chunk]
            body, route = ((json.dumps(bodies[0]), "/mo") if batch == 1
                           else (json.dumps({"mos": bodies}), "/mos"))
            now = time.time()
            conn.request("POST", route, body, headers)
            response = conn.getresponse()
            raw = response.read()
            if response.status != 200:
                errors.append(f"{response.status} {raw[:200]!r}")
                return
            records = json.loads(raw)["sent"]
            if batch == 1:
                records = records[-1:]
            for j, record in enumerate(records):
                sent[k + j] = now
                delivered[k + j] = record["at"]
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
               rate: float | None, threads: int, args: argparse.Namespace) -> dict:
    from core.transactions import render

    _reset(peer)
    cpu_before = (server.cpu(), _cpu(peer._process.pid), time.monotonic())
    sent, delivered = _push(peer.control_port, mos, threads, rate,
                            batch=1 if rate else args.push_batch)
    push_seconds = max(sent) - min(sent)
    wanted = {mo.sender for mo in mos}
    deadline = time.monotonic() + max(60.0, len(mos) / 100)
    while True:
        time.sleep(0.5 if rate else 1.0)
        answers = _answers(peer.submits())
        if wanted <= answers.keys() or time.monotonic() > deadline:
            break
        if server.died():
            raise BenchError(f"the {kind} ESME exited; see {OUT / f'sms-{kind}.log'}")
    cpu_after = (server.cpu(), _cpu(peer._process.pid), time.monotonic())
    got = [answers[mo.sender] for mo in mos if mo.sender in answers]
    if not got:
        raise BenchError(f"{kind}: no MO was answered")
    not_found = render.not_found_text("ar")
    wrong = [mo for mo in mos if mo.sender in answers and kind != "echo"
             and (answers[mo.sender][1] != not_found) != mo.found]
    if wrong:
        mo = wrong[0]
        raise BenchError(f"{kind}: {len(wrong)} wrong answers, e.g. {mo.text!r} from "
                         f"{mo.sender} (found={mo.found}) got {answers[mo.sender][1]!r}")
    # MO->MT as the SMSC sees it: from writing the deliver_sm to reading the last
    # submit_sm of the answer, both on the peer's clock. The harness's own HTTP call to
    # the peer (which swings by tens of ms between runs) is reported apart.
    timeline = [(t - min(delivered), (answers[mo.sender][0] - t) * 1000)
                for mo, t in zip(mos, delivered, strict=True) if mo.sender in answers]
    latencies = sorted(ms for _, ms in timeline)
    # When the slowest answers came (seconds into the run): a stall shows as one moment.
    slowest = sorted(timeline, key=lambda item: -item[1])[:max(1, len(timeline) // 100)]
    harness = sorted((d - t) * 1000 for d, t in zip(delivered, sent, strict=True))
    last = max(at for at, _, _ in got)
    elapsed = max(last - min(sent), 1e-6)
    # A flood's cores over the flood, first push to last answer: the CPU read also spans
    # the polling after the last answer (up to a second, as long as a flood), when the
    # ESME idles; divided by that span the cores were understated by up to half, and
    # answers/s over them overstated answers per CPU-second as much, at random.
    span = elapsed if rate is None else cpu_after[2] - cpu_before[2]
    esme_seconds = cpu_after[0] - cpu_before[0]
    result = {
        "sent": len(mos), "answered": len(got), "push_rate": len(mos) / max(push_seconds, 1e-6),
        "rate": len(got) / elapsed, "seconds": elapsed,
        "segments_per_answer": sum(n for _, _, n in got) / len(got),
        "p50_ms": _pct(latencies, 50), "p90_ms": _pct(latencies, 90),
        "p99_ms": _pct(latencies, 99), "max_ms": latencies[-1],
        "push_p50_ms": _pct(harness, 50), "push_p99_ms": _pct(harness, 99),
        "slowest": [(round(at, 2), round(ms, 1)) for at, ms in sorted(slowest)],
        "esme_cpu": esme_seconds / span, "peer_cpu": (cpu_after[1] - cpu_before[1]) / span,
        "esme_cpu_seconds": esme_seconds,
        "per_cpu_second": len(got) / max(esme_seconds, 1e-6),
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


def _per_cpu(row: dict) -> float:
    """Answers per CPU-second of the ESME's processes (``_inquiries``)."""
    return row["per_cpu_second"]


def _report(results: dict, args: argparse.Namespace, loaded: _dataset.Loaded) -> None:
    a = results["a"]
    gw = a["gateway"]
    bare, disp = results["b"]["submit"], results["b"]["gateway"]
    ratio_b = disp["rate"] / bare["rate"]
    mark = lambda ok: "PASS" if ok else "MISS"  # noqa: E731
    print(f"\n== results: {args.transactions:,} transactions; floods of {args.strangers:,} "
          f"strangers and {args.owners:,} owners pushed by {args.push_threads} connections; "
          f"{args.rate:g} MO/s for {args.latency_seconds:g} s; {args.notifications:,} "
          f"notifications; gateway in {args.gateway_processes} process(es); load average "
          "{:.2f} {:.2f} {:.2f} (other work on this machine counts in)".format(
              *os.getloadavg()))
    print(f"   {'(a) inquiries':<30}{'strangers/s':>12}{'owners/s':>10}{'p50 ms':>8}"
          f"{'p99 ms':>8}{'ESME CPU':>10}{'peer CPU':>10}{'per CPU-s':>11}")
    labels = {"echo": "bare smpplib echo (no DB)", "kannel": "Kannel + lookup app",
              "gateway": "gateway SmsChannel"}
    for kind, row in a.items():
        print(f"   {labels[kind]:<30}{row['strangers']['rate']:>12,.0f}"
              f"{row['owners']['rate']:>10,.0f}{row['latency']['p50_ms']:>8.1f}"
              f"{row['latency']['p99_ms']:>8.1f}{row['strangers']['esme_cpu']:>10.2f}"
              f"{row['strangers']['peer_cpu']:>10.2f}{_per_cpu(row['strangers']):>11,.0f}")
    print("   (ESME CPU: cores its processes used during the strangers' flood; per CPU-s: "
          "its answers per CPU-second then, which the machine's other load moves less)")
    print(f"   {'(b) outbox dispatch':<30}{'segments/s':>12}{'window':>10}{'':>16}"
          f"{'ESME CPU':>10}{'peer CPU':>10}")
    for label, row in (("bare smpplib submit loop", bare), ("gateway SmsChannel", disp)):
        print(f"   {label:<30}{row['rate']:>12,.0f}{row['window']:>10}{'':>16}"
              f"{row['esme_cpu']:>10.2f}{row['peer_cpu']:>10.2f}")
    passed: dict[str, bool] = {}
    print()
    for flood in FLOODS:
        rate = gw[flood]["rate"]
        passed[f"{flood}_per_s"] = ok = rate >= TARGET_MO_PER_S
        print(f"   (a) gateway {flood + '/s':<20}{rate:8,.0f}   target >= "
              f"{TARGET_MO_PER_S:,.0f}        {mark(ok)}")
        if "kannel" in a:
            ratio = rate / a["kannel"][flood]["rate"]
            passed[f"{flood}_vs_kannel"] = ok = ratio >= TARGET_KANNEL_RATIO
            print(f"   (a) gateway / Kannel {flood:<11}{ratio:8.2f}x  target >= "
                  f"{TARGET_KANNEL_RATIO:g}x          {mark(ok)}")
        print(f"   (a) gateway / echo {flood:<13}{rate / a['echo'][flood]['rate']:8.1%}")
        if "kannel" in a:
            print(f"   (a) per CPU-s, gateway / Kannel {flood:<9}"
                  f"{_per_cpu(gw[flood]) / _per_cpu(a['kannel'][flood]):5.2f}x")
    passed["p99"] = ok = gw["latency"]["p99_ms"] < TARGET_P99_MS
    print(f"   (a) gateway p99 at {args.rate:g}/s{'':<8}{gw['latency']['p99_ms']:8.1f} ms "
          f"target < {TARGET_P99_MS:g} ms        {mark(ok)}")
    passed["segments_per_s"] = ok = disp["rate"] >= TARGET_SEGMENTS_PER_S
    print(f"   (b) gateway / bare segments/s   {ratio_b:8.1%}")
    print(f"   (b) gateway segments/s{'':<11}{disp['rate']:8,.0f}   target >= "
          f"{TARGET_SEGMENTS_PER_S:,.0f}        {mark(ok)}")
    echo = a["echo"]
    for flood in FLOODS:
        if echo[flood]["rate"] > 0.9 * echo[flood]["push_rate"]:
            print(f"   NOTE: the echo kept up with the {flood} push "
                  f"({echo[flood]['push_rate']:,.0f} MO/s): its figure is the pusher's, a "
                  "floor of bare smpplib's")
    summary = {"transactions": args.transactions, "events": loaded.events,
               "args": vars(args), "results": results, "ratios": {"b": round(ratio_b, 3)},
               "targets": {"mo_per_s": TARGET_MO_PER_S, "vs_kannel": TARGET_KANNEL_RATIO,
                           "p99_ms": TARGET_P99_MS, "segments_per_s": TARGET_SEGMENTS_PER_S},
               "pass": passed, "load_average_end": os.getloadavg(),
               "python_speed_end": round(python_speed(), 1)}
    (OUT / "sms.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"   details: {OUT / 'sms.json'}; logs: {OUT}/sms-*.log")


if __name__ == "__main__":
    sys.exit(main())
