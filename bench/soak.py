"""A soak: ``gateway run`` on PostgreSQL answering inquiries on every channel for an hour,
the memory and open descriptors of each of its processes sampled as it goes.

    .venv/bin/python bench/soak.py --database-url URL [--duration 3600] [--rate 200]
                                   [--shares 0.75,0.20,0.05] [--every 30] [--warmup S]
                                   [--transactions 100000] [--rss-bound-mb 10]
                                   [--rss-bound-percent 5] [--fd-bound 5]

``URL`` names a throwaway PostgreSQL database (emptied first; ``bash .ci/postgres.sh
start``, then a database of its own). It gets bench/big_data.py's history (``--transactions``
of them, COPY). Then, all on loopback:

- the SMSC peer (tests/peers/smsc) and, when Dovecot is installed, a throwaway Dovecot
  and an SMTP sink (tests/peers/), as the tests run them;
- ``gateway run`` as an operator starts it (a subprocess, the settings in ``GATEWAY__*``
  variables), with SMS and e-mail on;
- ``--rate`` inquiries a second in an open loop (each sent at its time, whatever the
  answers before it), split by ``--shares`` between ``POST /api/v1/inquiries`` (kiosk
  token, ~90 % found), SMS MOs pushed by the peer (``استعلام`` and the number in
  Arabic-Indic digits, from the applicant's mobile or a stranger's) and e-mails appended
  to the mailbox (from the applicant's address or a stranger's). Every answer is
  checked: HTTP 200 with the expected ``found``; one SMS answer per MO, found or not as
  expected; one e-mail reply per mail.

Every ``--every`` seconds it samples each process of the gateway's process tree (the
root and every descendant: ``gateway.workers`` may fork workers): resident memory (VmRSS),
open descriptors, threads, CPU; and the database's connections. It prints a row per
sample and, at the end, a verdict per process: **flat** when, from the end of the
warm-up (``--warmup``, default a sixth of the run, at most 10 minutes) to the end, the
resident memory grew by at most ``--rss-bound-mb`` MB or ``--rss-bound-percent`` % of
its size after the warm-up (whichever is larger), and the descriptors and threads by at
most ``--fd-bound`` (medians of the first and last three samples). Also the least-squares
slope of the memory (MB/hour), for a growth too slow to pass the bound in one hour.

Settings that differ from production, so that the soak measures steady work and not the
abuse limits: ``inquiry.max_failures`` 10⁹ (the strangers' failures would soon be
refused), ``email.max_replies_per_hour`` 10⁹, ``sms.smpp.throughput_per_second`` 500
(the operator's agreed rate; 50 by default, below the answers' segments at 40 MO/s),
quiet hours off, the e-mail poll every 2 s. Exit status 0 unless something broke (the
gateway died, answers wrong or missing); a growth is reported, not an error.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import imaplib
import itertools
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(HERE), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import big  # noqa: E402
import big_data  # noqa: E402
import inquiry_http  # noqa: E402
from email_replies import AUTHSERV_ID  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests.peers.dovecot_peer import DovecotPeer, dovecot_available  # noqa: E402
from tests.peers.smsc_peer import SmscPeer, smsc_peer_available  # noqa: E402
from tests.peers.smtp_peer import SmtpPeer  # noqa: E402

OUT = HERE / "out"
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
MAILBOX = "inquiries@emirate.gov.sa"
HTTP_THREADS = 12
SETTLE_SECONDS = 60  # after the load, for the answers still on their way
MAX_LATE = 5.0  # seconds a request may start after its time in a run that kept up


class SoakError(Exception):
    """Something broke: the figures would mean nothing."""


def _stop_on_signal(signum: int, _frame: object) -> None:
    # SIGTERM (and a second SIGINT) end the run through the cleanup below: the gateway,
    # the peers and the temp dir go with it, not left running.
    raise SystemExit(128 + signum)


def main() -> int:
    args = _arguments()
    OUT.mkdir(exist_ok=True)
    ok, why = smsc_peer_available()
    if not ok:
        print(f"BENCH BROKEN: the SMSC peer is not available: {why}", file=sys.stderr)
        return 1
    mail_ok, mail_why = dovecot_available()
    if args.shares[2] and not mail_ok:
        print(f"NOTE: no e-mail ({mail_why}); its share goes to HTTP")
        args.shares = (args.shares[0] + args.shares[2], args.shares[1], 0.0)
    url = args.database_url
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    # History up to now: the gateway runs on the wall clock, and history that ended days
    # ago would start it with a burst of overdue messages.
    shape = big_data.Shape(args.transactions, end=int(time.time()))
    print(f"== soak: {args.rate:g} inquiries/s for {args.duration:,.0f} s (HTTP "
          f"{args.shares[0]:.0%}, SMS {args.shares[1]:.0%}, e-mail {args.shares[2]:.0%}); "
          f"samples every {args.every:g} s, warm-up {args.warmup:,.0f} s; "
          f"{big._machine()}", flush=True)
    big.load(url, dsn, shape)
    # From here (not before the loader: its pool's workers would inherit the handler and
    # hang its terminate).
    signal.signal(signal.SIGTERM, _stop_on_signal)
    work = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    smsc = SmscPeer()
    imap = DovecotPeer() if args.shares[2] else None
    smtp = SmtpPeer() if args.shares[2] else None
    gateway: Gateway | None = None
    try:
        smsc.start()
        if imap is not None and smtp is not None:
            imap.start()
            smtp.start()
        gateway = Gateway.start(url, work, smsc, imap, smtp, trace=args.trace_memory)
        print(f"   gateway run: pid {gateway.process.pid}, http://127.0.0.1:{gateway.port}; "
              f"SMSC peer :{smsc.port}" + (f"; Dovecot :{imap.port}, SMTP sink :{smtp.port}"
                                          if imap and smtp else ""), flush=True)
        soak = Soak(args, shape, gateway, dsn, smsc, imap, smtp)
        soak.run()
        return soak.report()
    except SoakError as exc:
        print(f"\nBENCH BROKEN: {exc}", file=sys.stderr)
        return 1
    finally:
        if gateway is not None:
            gateway.stop()
        smsc.stop()
        for peer in (imap, smtp):
            if peer is not None:
                peer.stop()
        shutil.rmtree(work, ignore_errors=True)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True,
                        help="a throwaway PostgreSQL database; ALL ITS TABLES ARE DROPPED")
    parser.add_argument("--duration", type=float, default=3600.0, help="seconds of load")
    parser.add_argument("--rate", type=float, default=200.0, help="inquiries per second")
    parser.add_argument("--shares", default="0.75,0.20,0.05",
                        help="HTTP, SMS, e-mail shares of the rate")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, help="seconds before the growth is judged "
                        "(default: a sixth of the duration, at most 600)")
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--rss-bound-mb", type=float, default=10.0)
    parser.add_argument("--rss-bound-percent", type=float, default=5.0)
    parser.add_argument("--fd-bound", type=int, default=5)
    parser.add_argument("--name", default="soak",
                        help="the prefix of its files in bench/out/ (default: soak)")
    parser.add_argument("--trace-memory", nargs="?", const="all", metavar="ROLES",
                        help="tracemalloc in the gateway's processes (slower): what grew "
                             "between the end of the warm-up and the end, by traceback; "
                             "ROLES (comma-separated: web, background) traces only those "
                             "workers (the others start at full speed)")
    args = parser.parse_args()
    if make_url(args.database_url).get_backend_name() != "postgresql":
        parser.error("--database-url: a PostgreSQL database")
    shares = tuple(float(x) for x in args.shares.split(","))
    if len(shares) != 3 or min(shares) < 0 or abs(sum(shares) - 1) > 1e-6:
        parser.error("--shares: three shares (HTTP, SMS, e-mail) adding up to 1")
    args.shares = shares
    NAME[0] = args.name
    if args.warmup is None:
        args.warmup = min(600.0, args.duration / 6)
    if args.duration < 3 * args.every or args.warmup >= args.duration - 2 * args.every:
        parser.error("--duration: at least three samples after the warm-up")
    return args


# --- the gateway -------------------------------------------------------------------------


@dataclass
class Gateway:
    process: subprocess.Popen
    port: int
    log_path: Path

    @classmethod
    def start(cls, url: str, work: Path, smsc: SmscPeer, imap: DovecotPeer | None,
              smtp: SmtpPeer | None, *, trace: str | None = None) -> Gateway:
        port = inquiry_http._free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT), **_environment(url, work, port, smsc,
                                                                      imap, smtp)}
        if trace:
            env.update(_tracing(work, [] if trace == "all" else trace.split(",")))
        log_path = OUT / f"{NAME[0]}-gateway.log"
        log = log_path.open("w")
        process = subprocess.Popen(
            [sys.executable, "-c", "from gateway.cli import main; main()", "run"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        gateway = cls(process, port, log_path)
        # tracemalloc from the first import on makes the start several times slower.
        deadline = time.monotonic() + (600 if trace else 120)
        while not gateway.healthy():
            if process.poll() is not None or time.monotonic() > deadline:
                gateway.stop()
                raise SoakError(f"gateway run did not start; see {log_path}")
            time.sleep(0.5)
        while not smsc.state()["bound"]:
            if time.monotonic() > deadline:
                gateway.stop()
                raise SoakError(f"the SMS channel did not bind; see {log_path}")
            time.sleep(0.2)
        return gateway

    def healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def stop(self) -> float | None:
        """SIGTERM, as systemd stops it; the seconds it took (None: killed after 60 s)."""
        if self.process.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
            return time.monotonic() - started
        except subprocess.TimeoutExpired:
            for pid in reversed(process_tree(self.process.pid)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.process.wait()
            return None


def _environment(url: str, work: Path, port: int, smsc: SmscPeer, imap: DovecotPeer | None,
                 smtp: SmtpPeer | None) -> dict[str, str]:
    """The settings, as an operator's unit file would give them (``GATEWAY__…``)."""
    env = {
        "DATABASE__URL": url, "VAR_DIR": str(work),
        "GATEWAY__HOST": "127.0.0.1", "GATEWAY__PORT": str(port),
        "GATEWAY__PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GATEWAY__SECRET_KEY": "soak-not-secret", "SECURITY__NATIONAL_ID_KEY": big.KEY,
        "INQUIRY__MAX_FAILURES": "1000000000",
        "SMS__ENABLED": "true", "SMS__QUIET_HOURS__ENABLED": "false",
        "SMS__SMPP__HOST": smsc.host, "SMS__SMPP__PORT": str(smsc.port),
        "SMS__SMPP__SYSTEM_ID": smsc.system_id, "SMS__SMPP__PASSWORD": smsc.password,
        "SMS__SMPP__THROUGHPUT_PER_SECOND": "500",
    }
    if imap is not None and smtp is not None:
        env.update({
            "EMAIL__ENABLED": "true", "EMAIL__MAX_REPLIES_PER_HOUR": "1000000000",
            "EMAIL__AUTHSERV_IDS": json.dumps([AUTHSERV_ID]),
            "EMAIL__IMAP__HOST": imap.host, "EMAIL__IMAP__PORT": str(imap.port),
            "EMAIL__IMAP__USERNAME": imap.username, "EMAIL__IMAP__PASSWORD": imap.password,
            "EMAIL__IMAP__SSL": "false", "EMAIL__IMAP__POLL_SECONDS": "2",
            "EMAIL__SMTP__HOST": smtp.host, "EMAIL__SMTP__PORT": str(smtp.port),
            "EMAIL__SMTP__SSL": "false", "EMAIL__SMTP__STARTTLS": "false",
            "EMAIL__SMTP__FROM_ADDRESS": MAILBOX,
        })
    return {f"GATEWAY__{key}": value for key, value in env.items()}


# The files' prefix (--name): two soaks at once write apart.
NAME = ["soak"]


def _trace_out() -> Path:
    return OUT / f"{NAME[0]}-tracemalloc.txt"
# Loaded by every Python process of the gateway (``sitecustomize`` on its PYTHONPATH, with
# --trace-memory only): tracemalloc from the start; SIGUSR2 takes a snapshot, the first
# one the baseline, each later one compared with it and written to SOAK_TRACEMALLOC.
_SITECUSTOMIZE = """
import os, signal, sys, tracemalloc
_roles = os.environ.get("SOAK_TRACE_ROLES", "").split()
if not _roles or any(role in sys.argv for role in _roles):
    tracemalloc.start(12)
_first = []

def _snapshot(signum, frame):
    if not tracemalloc.is_tracing():
        return
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)])
    if not _first:
        _first.append(snapshot)
        return
    with open(os.environ["SOAK_TRACEMALLOC"], "a") as out:
        out.write(f"== process {os.getpid()}: grown since the first snapshot\\n")
        for stat in snapshot.compare_to(_first[0], "traceback")[:12]:
            out.write(f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+8d} blocks\\n")
            for line in stat.traceback.format()[-8:]:
                out.write(f"      {line}\\n")

signal.signal(signal.SIGUSR2, _snapshot)
"""


def _tracing(work: Path, roles: list[str]) -> dict[str, str]:
    folder = work / "trace"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    _trace_out().unlink(missing_ok=True)
    return {"PYTHONPATH": f"{ROOT}{os.pathsep}{folder}", "SOAK_TRACEMALLOC": str(_trace_out()),
            "SOAK_TRACE_ROLES": " ".join(roles)}


def _snapshot_memory(root: int) -> None:
    """SIGUSR2 to every process of the tree (--trace-memory)."""
    for pid in process_tree(root):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGUSR2)


# --- the process tree --------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """``root`` and every descendant, parents first."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry))
    out, queue = [], deque([root])
    while queue:
        pid = queue.popleft()
        out.append(pid)
        queue.extend(sorted(children.get(pid, ())))
    return out


@dataclass(frozen=True)
class ProcessSample:
    pid: int
    name: str
    rss_mb: float
    fds: int
    threads: int
    cpu_seconds: float


def sample_process(pid: int) -> ProcessSample | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    words = [part.decode(errors="replace") for part in command if part]
    if "-c" in words:  # the soak's own ``python -c "...main()" run``
        name = f"gateway {' '.join(words[words.index('-c') + 2:])}"
    elif "-m" in words:  # a worker: ``python -m gateway.worker ROLE NUMBER``
        name = " ".join(words[words.index("-m") + 1:])
    else:
        name = " ".join(words[:3])
    return ProcessSample(
        pid, name[:40], int(fields["VmRSS"].split()[0]) / 1024, fds,
        int(fields["Threads"]), (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK"))


# --- the load -----------------------------------------------------------------------------


class Pace:
    """The times of an open loop: the k-th request at ``start + k / rate``, until ``end``."""

    def __init__(self, rate: float, start: float, end: float) -> None:
        self.rate, self.start, self.end = rate, start, end
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def next(self) -> float | None:
        if self.rate <= 0:
            return None
        with self._lock:
            k = next(self._counter)
        at = self.start + k / self.rate
        return at if at < self.end else None


def _post(conn: http.client.HTTPConnection, path: str, body: str,
          headers: dict[str, str]) -> tuple[int, bytes]:
    conn.request("POST", path, body, headers)
    response = conn.getresponse()
    return response.status, response.read()


def _wait_until(at: float) -> float:
    """Sleep until ``at`` (time.monotonic); how late it was already (s)."""
    delay = at - time.monotonic()
    if delay > 0:
        time.sleep(delay)
        return 0.0
    return -delay


@dataclass
class Window:
    """What one sampling interval saw of the load."""

    http_sent: int = 0
    http_ok: int = 0
    http_errors: list[str] = field(default_factory=list)
    http_latency: list[float] = field(default_factory=list)
    late: float = 0.0  # the most a request started after its time (s)
    sms_sent: int = 0
    sms_answered: int = 0
    mail_sent: int = 0
    mail_replied: int = 0


@dataclass(frozen=True)
class Mo:
    sender: str
    text: str
    found: bool


class Soak:
    def __init__(self, args: argparse.Namespace, shape: big_data.Shape, gateway: Gateway,
                 dsn: str, smsc: SmscPeer, imap: DovecotPeer | None,
                 smtp: SmtpPeer | None) -> None:
        self.args, self.shape, self.gateway, self.dsn = args, shape, gateway, dsn
        self.smsc, self.imap, self.smtp = smsc, imap, smtp
        self.lock = threading.Lock()
        self.window = Window()
        self.totals = Window()
        self.samples: list[tuple[float, list[ProcessSample], int, Window]] = []
        self.problems: list[str] = []
        self.token = inquiry_http._kiosk_token(args.database_url)
        self.probes = big.probe_mix(shape, 50_000, seed=2026)
        self.http_errors = 0
        # SMS: per sender, the MOs not yet answered (found?), and answers being assembled.
        self.waiting: dict[str, deque[bool]] = defaultdict(deque)
        self.parts: dict[tuple[str, str], dict[int, str]] = {}
        self.sms_wrong = 0
        self.mail_waiting: dict[str, float] = {}
        self.load_seconds = args.duration  # until the last request went out

    # --- running ------------------------------------------------------------------

    def run(self) -> None:
        args = self.args
        start = time.monotonic() + 1.0
        end = start + args.duration
        paces = [Pace(args.rate * share, start, end) for share in args.shares]
        threads = [threading.Thread(target=self._http, args=(paces[0], n), daemon=True)
                   for n in range(HTTP_THREADS)]
        threads += [threading.Thread(target=self._sms, args=(paces[1], n), daemon=True)
                    for n in range(2)]
        if self.imap is not None:
            threads.append(threading.Thread(target=self._mail, args=(paces[2],), daemon=True))
        self._header()
        for thread in threads:
            thread.start()
        next_sample = start
        traced = False
        while time.monotonic() < end:
            next_sample += self.args.every
            _wait_until(min(next_sample, end))
            self._sample(time.monotonic() - start)
            if args.trace_memory and not traced and time.monotonic() - start >= args.warmup:
                _snapshot_memory(self.gateway.process.pid)  # the baseline
                traced = True
            if self.gateway.process.poll() is not None:
                raise SoakError(f"gateway run exited ({self.gateway.process.returncode}); "
                                f"see {self.gateway.log_path}")
        for thread in threads:
            thread.join()  # an open loop that fell behind sends the rest now
        self.load_seconds = time.monotonic() - start
        if traced:
            pids = process_tree(self.gateway.process.pid)
            _snapshot_memory(self.gateway.process.pid)
            deadline = time.monotonic() + 300  # a snapshot of a busy process takes a while
            while time.monotonic() < deadline and (not _trace_out().exists() or _trace_out(
                    ).read_text().count("== process") < len(pids)):
                time.sleep(2)
        settle = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < settle and (self._sms_outstanding() or self.mail_waiting):
            time.sleep(2)
            self._collect()
        self._sample(time.monotonic() - start)

    def _http(self, pace: Pace, n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.gateway.port, timeout=30)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        for k in itertools.count(n * 997):
            at = pace.next()
            if at is None:
                break
            late = _wait_until(at)
            probe = self.probes[k % len(self.probes)]
            started = time.monotonic()
            error = None
            try:
                conn.request("POST", "/api/v1/inquiries", probe.body(), headers)
                response = conn.getresponse()
                raw = response.read()
                if response.status != 200:
                    error = f"HTTP {response.status} {raw[:120]!r}"
                elif json.loads(raw).get("found") is not probe.found:
                    error = f"{probe.number}: found is not {probe.found}"
            except (OSError, http.client.HTTPException, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.gateway.port, timeout=30)
            latency = time.monotonic() - started
            with self.lock:
                self.window.http_sent += 1
                self.window.late = max(self.window.late, late)
                if error is None:
                    self.window.http_ok += 1
                    self.window.http_latency.append(latency)
                else:
                    self.window.http_errors.append(error)
        conn.close()

    def _mos(self, n: int):
        """MOs without end: the owners of a walk over the history in one shuffled order,
        again and again (the same MO comes back only a whole pass later, never within the
        channel's redelivery window), one in ten from a stranger."""
        rng = random.Random(n)
        slots = list(range(n, self.shape.transactions, 2))
        rng.shuffle(slots)
        stranger = itertools.count(n * 10**6)  # +96656…: no department manager has one
        while True:
            for i in slots:
                if rng.random() < 0.1:
                    number = (big_data.lifecycle(self.shape, rng.randrange(
                        self.shape.transactions)).number if rng.random() < 0.5
                        else str(90_000_000 + rng.randrange(9_000_000)))
                    yield Mo(f"96656{next(stranger) % 10**7:07d}",
                             "استعلام " + number.translate(ARABIC_DIGITS), False)
                life = big_data.lifecycle(self.shape, i)
                yield Mo(big_data.mobile(life.applicant).lstrip("+"),
                         "استعلام " + life.number.translate(ARABIC_DIGITS), True)

    def _sms(self, pace: Pace, n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.smsc.control_port, timeout=30)
        headers = {"Content-Type": "application/json"}
        for mo in self._mos(n):
            at = pace.next()
            if at is None:
                break
            _wait_until(at)
            with self.lock:
                self.waiting[mo.sender].append(mo.found)
                self.window.sms_sent += 1
            body = json.dumps({"text": mo.text, "source_addr": mo.sender})
            try:
                status, raw = _post(conn, "/mo", body, headers)
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                # The peer closes a keep-alive connection idle for 5 s (Node's default):
                # a stalled machine leaves it so. The MO was not taken: sent again, anew.
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.smsc.control_port,
                                                  timeout=30)
                try:
                    status, raw = _post(conn, "/mo", body, headers)
                except OSError as exc:
                    with self.lock:
                        self.problems.append(f"the SMSC peer cannot be reached: {exc}")
                    return
            if status != 200:
                with self.lock:
                    self.problems.append(f"the SMSC peer refused an MO: {raw[:200]!r}")
                return
        conn.close()

    def _mail(self, pace: Pace) -> None:
        client = imaplib.IMAP4(self.imap.host, self.imap.port)
        client.login(self.imap.username, self.imap.password)
        rng = random.Random(11)
        owners = [i for i in range(self.shape.transactions)
                  if big_data.email(self.shape.applicant(i))]
        try:
            for k in itertools.count():
                at = pace.next()
                if at is None:
                    break
                _wait_until(at)
                raw, message_id = self._mail_message(k, rng, owners)
                with self.lock:
                    self.mail_waiting[message_id] = time.monotonic()
                    self.window.mail_sent += 1
                client.append("INBOX", None, None, raw)
        finally:
            client.logout()

    def _mail_message(self, k: int, rng: random.Random, owners: list[int]
                      ) -> tuple[bytes, str]:
        if rng.random() < 0.9:
            life = big_data.lifecycle(self.shape, rng.choice(owners))
            sender, number = big_data.email(life.applicant), life.number
        else:
            sender = f"stranger{k}@else.example"
            number = big_data.lifecycle(self.shape, rng.randrange(self.shape.transactions)).number
        domain = sender.rpartition("@")[2]
        message = EmailMessage()
        message["Authentication-Results"] = (f"{AUTHSERV_ID}; spf=pass smtp.mailfrom={domain};"
                                             f" dmarc=pass header.from={domain}")
        message["From"] = sender
        message["To"] = MAILBOX
        message["Message-ID"] = message_id = make_msgid("soak", "mail.example.sa")
        message["Subject"] = "استعلام عن معاملة"
        digits = number.translate(ARABIC_DIGITS) if k % 2 else number
        message.set_content(f"السلام عليكم\nأرجو إفادتي بحالة المعاملة رقم {digits}\nوشكرا")
        return message.as_bytes(), message_id

    # --- collecting the answers -----------------------------------------------------------

    def _collect(self) -> None:
        """The SMS answers (the peer's submits, taken) and the e-mail replies so far."""
        from core.transactions import render

        not_found = render.not_found_text("ar")
        taken = self.smsc._call("POST", "/take", {})
        answered = 0
        with self.lock:
            for submit in taken["submits"]:
                if not submit.get("message_id"):
                    continue
                text = self._assembled(submit)
                if text is None:
                    continue
                pending = self.waiting.get(submit["destination_addr"])
                if not pending:
                    continue  # a notification (the overdue scan's), not an answer
                found = pending.popleft()
                answered += 1
                if (text != not_found) != found:
                    self.sms_wrong += 1
                    if self.sms_wrong <= 3:
                        self.problems.append(f"SMS to {submit['destination_addr']} "
                                             f"(found expected: {found}): {text!r}")
            self.window.sms_answered += answered
            if self.smtp is not None:
                with self.smtp.lock:
                    received, self.smtp.received[:] = list(self.smtp.received), []
                for _sender, _recipients, raw in received:
                    replied = _in_reply_to(raw)
                    if replied in self.mail_waiting:
                        del self.mail_waiting[replied]
                        self.window.mail_replied += 1

    def _assembled(self, submit: dict) -> str | None:
        """The answer's whole text once its last segment is in (segments may come in
        different takes); None until then."""
        udh = submit.get("udh") or ""
        text = submit.get("text") or ""
        if len(udh) < 12:
            return text
        key = (submit["destination_addr"], udh[6:8])
        total, part = int(udh[8:10], 16), int(udh[10:12], 16)
        got = self.parts.setdefault(key, {})
        got[part] = text
        if len(got) < total:
            return None
        del self.parts[key]
        return "".join(got[p] for p in sorted(got))

    def _sms_outstanding(self) -> int:
        with self.lock:
            return sum(len(pending) for pending in self.waiting.values())

    # --- sampling -------------------------------------------------------------------------

    def _sample(self, elapsed: float) -> None:
        self._collect()
        processes = [s for s in map(sample_process, process_tree(self.gateway.process.pid))
                     if s is not None]
        connections = big._sql(self.dsn, "SELECT count(*) FROM pg_stat_activity WHERE "
                                         "datname = current_database()")[0][0] - 1
        with self.lock:
            window, self.window = self.window, Window()
        for name in ("http_sent", "http_ok", "sms_sent", "sms_answered", "mail_sent",
                     "mail_replied"):
            setattr(self.totals, name, getattr(self.totals, name) + getattr(window, name))
        self.totals.http_errors += window.http_errors[:20]
        self.totals.late = max(self.totals.late, window.late)
        self.http_errors += len(window.http_errors)
        self.samples.append((elapsed, processes, connections, window))
        latency = sorted(window.http_latency)
        p99 = latency[int(len(latency) * 0.99)] * 1000 if latency else 0.0
        cells = "  ".join(f"{p.rss_mb:7.1f} {p.fds:4d} {p.threads:3d}" for p in processes)
        print(f"{elapsed:7.0f} {cells}  {connections:4d}  {window.http_sent:6,} "
              f"{len(window.http_errors):4d} {p99:7.1f}  {window.sms_sent:6,} "
              f"{window.sms_answered:6,}  {window.mail_sent:5,} {window.mail_replied:5,}"
              f"  {window.late:5.2f}", flush=True)

    def _header(self) -> None:
        processes = [s for s in map(sample_process, process_tree(self.gateway.process.pid))
                     if s is not None]
        for p in processes:
            print(f"   process {p.pid}: {p.name}")
        cells = "  ".join(f"{'RSS MB':>7} {'fds':>4} {'thr':>3}" for _ in processes)
        print(f"\n{'t (s)':>7} {cells}  {'db':>4}  {'http':>6} {'err':>4} {'p99 ms':>7}  "
              f"{'MO':>6} {'answ.':>6}  {'mail':>5} {'repl.':>5}  {'late':>5}")

    # --- the verdict ----------------------------------------------------------------------

    def report(self) -> int:
        args, totals = self.args, self.totals
        stop_seconds = self.gateway.stop()
        # Judged under load: from the end of the warm-up to the last sample of the load
        # (the one after the answers settled is printed, not judged).
        after = [s for s in self.samples[:-1] if s[0] >= args.warmup]
        verdicts = []
        print(f"\n== verdict (after the {args.warmup:,.0f} s warm-up: {len(after)} samples; "
              f"flat: RSS growth <= max({args.rss_bound_mb:g} MB, {args.rss_bound_percent:g} %),"
              f" descriptors and threads <= {args.fd_bound})")
        pids = {p.pid: p.name for _, processes, _, _ in after for p in processes}
        for pid, name in pids.items():
            series = [(t, p) for t, processes, _, _ in after for p in processes if p.pid == pid]
            verdicts.append(self._judge(pid, name, series, len(after)))
        connections = [c for _, _, c, _ in after]
        print(f"   database connections: {connections[0]} after the warm-up, "
              f"{max(connections)} at most, {connections[-1]} at the end")
        latencies = [lat for _, _, _, w in self.samples for lat in w.http_latency]
        latencies.sort()
        duration = self.load_seconds
        http_rate = totals.http_sent / duration
        print(f"   HTTP: {totals.http_sent:,} sent ({http_rate:,.1f}/s), {totals.http_ok:,} "
              f"answered as expected, {self.http_errors:,} errors; p50 "
              f"{latencies[len(latencies) // 2] * 1000:.1f} ms, p99 "
              f"{latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms; the load generator "
              f"was at most {totals.late:.2f} s late")
        outstanding = self._sms_outstanding()
        print(f"   SMS: {totals.sms_sent:,} MOs ({totals.sms_sent / duration:,.1f}/s), "
              f"{totals.sms_answered:,} answered, {self.sms_wrong} wrong, {outstanding} "
              f"unanswered {SETTLE_SECONDS} s after the load")
        if self.imap is not None:
            print(f"   e-mail: {totals.mail_sent:,} mails ({totals.mail_sent / duration:,.1f}/s)"
                  f", {totals.mail_replied:,} replies, {len(self.mail_waiting)} unanswered")
        total = totals.http_sent + totals.sms_sent + totals.mail_sent
        print(f"   all channels: {total / duration:,.1f} inquiries/s of {args.rate:g} asked "
              f"({total:,} in {duration:,.0f} s, the last sent {duration - args.duration:,.0f} s"
              f" after the load's end)")
        # A gateway that fell behind holds its backlog in memory: its growth is the queue,
        # not a leak, and the run says nothing either way.
        kept_up = (totals.late <= MAX_LATE and not outstanding and not self.mail_waiting)
        print("   gateway run stopped by SIGTERM in "
              + (f"{stop_seconds:.1f} s" if stop_seconds is not None else "over 60 s: killed"))
        log = self.gateway.log_path.read_text(errors="replace")
        errors = sum(" ERROR " in line or "Traceback" in line for line in log.splitlines())
        print(f"   its log: {len(log.splitlines()):,} lines, {errors} errors or tracebacks "
              f"({self.gateway.log_path})")
        if args.trace_memory and _trace_out().exists():
            print(f"   tracemalloc, grown from the end of the warm-up to the end of the load "
                  f"(top of {_trace_out()}):")
            for line in _trace_out().read_text().splitlines()[:60]:
                print(f"     {line}")
        broken = self.problems[:]
        if self.http_errors:
            broken.append(f"{self.http_errors} HTTP errors, e.g. {totals.http_errors[:3]}")
        if self.sms_wrong or outstanding:
            broken.append(f"SMS: {self.sms_wrong} wrong answers, {outstanding} unanswered")
        if self.mail_waiting:
            broken.append(f"e-mail: {len(self.mail_waiting)} mails unanswered")
        flat = all(verdicts)
        if kept_up:
            verdict = "FLAT" if flat else "GROWING"
        else:
            verdict = (f"NOT JUDGED: the gateway did not keep up with {args.rate:g}/s on this "
                       f"machine (requests up to {totals.late:.0f} s late, answers "
                       f"outstanding): its memory held the backlog; rerun at a lower --rate")
            broken = [problem for problem in broken if not problem.startswith(("SMS:",
                                                                                "e-mail:"))]
        print(f"\n   VERDICT: {verdict}" + (f"; BROKEN: {'; '.join(broken)}" if broken else ""))
        _save(args, self.samples, verdicts, totals, broken, verdict)
        return 1 if broken else 0

    def _judge(self, pid: int, name: str, series: list[tuple[float, ProcessSample]],
               expected: int) -> bool:
        args = self.args
        if len(series) < 6:
            print(f"   {pid} {name}: {len(series)} samples of {expected} (started or ended "
                  f"meanwhile): not judged")
            return len(series) == expected
        first = [p for _, p in series[:3]]
        last = [p for _, p in series[-3:]]
        rss0 = statistics.median(p.rss_mb for p in first)
        rss1 = statistics.median(p.rss_mb for p in last)
        fds = statistics.median(p.fds for p in last) - statistics.median(p.fds for p in first)
        threads = (statistics.median(p.threads for p in last)
                   - statistics.median(p.threads for p in first))
        slope = _slope([(t, p.rss_mb) for t, p in series]) * 3600
        # Bounded caches (mobiles, origins, hashed keys: tens of thousands of entries
        # each) fill while new requesters come: a leak still grows in the last third.
        tail = series[len(series) * 2 // 3:]
        tail_slope = _slope([(t, p.rss_mb) for t, p in tail]) * 3600 if len(tail) > 2 else 0.0
        bound = max(args.rss_bound_mb, rss0 * args.rss_bound_percent / 100)
        flat = rss1 - rss0 <= bound and fds <= args.fd_bound and threads <= args.fd_bound
        cpu = (series[-1][1].cpu_seconds - series[0][1].cpu_seconds) / max(
            series[-1][0] - series[0][0], 1e-9)
        print(f"   {pid} {name}: RSS {rss0:.1f} -> {rss1:.1f} MB ({rss1 - rss0:+.1f}, bound "
              f"{bound:.1f}; slope {slope:+.1f} MB/h, over the last third {tail_slope:+.1f} MB/h), "
              f"descriptors {fds:+.0f}, threads "
              f"{threads:+.0f}, CPU {cpu:.2f} cores: {'flat' if flat else 'GROWING'}")
        return flat


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


def _in_reply_to(raw: bytes) -> str | None:
    for line in raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").split(b"\r\n"):
        if line.lower().startswith(b"in-reply-to:"):
            return line.split(b":", 1)[1].strip().decode(errors="replace")
    return None


def _save(args, samples, verdicts, totals: Window, broken: list[str], verdict: str) -> None:
    (OUT / f"{NAME[0]}.json").write_text(json.dumps({
        "duration": args.duration, "rate": args.rate, "shares": args.shares,
        "warmup": args.warmup, "verdict": verdict, "flat": all(verdicts), "broken": broken,
        "totals": {k: v for k, v in vars(totals).items() if not isinstance(v, list)},
        "samples": [{"t": round(t, 1), "db_connections": c,
                     "processes": [vars(p) for p in processes],
                     "http_sent": w.http_sent, "sms_sent": w.sms_sent,
                     "sms_answered": w.sms_answered, "mail_sent": w.mail_sent,
                     "mail_replied": w.mail_replied}
                    for t, processes, c, w in samples]}, indent=1) + "\n")
    print(f"   details: {OUT / (NAME[0] + '.json')}")


if __name__ == "__main__":
    sys.exit(main())
