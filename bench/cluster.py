"""The multi-machine test bed: every component twice on one PostgreSQL, under steady load,
while a chaos loop kills them; then the invariants, counted from the database and from
the peers' own records.

    .venv/bin/python bench/cluster.py [--minutes 10] [--web 2] [--sms 2] [--schedulers 2]
                                      [--email 2] [--kill-every 3:8] [--seed N]
                                      [--hosts separate|one] [--out DIR]

What runs (each component a ``gateway`` process of its own, as systemd runs them):

- PostgreSQL: a throwaway cluster of the bed's own (bench/_pg_cluster.py), crashed once
  (``pg_ctl stop -m immediate``) and started again two thirds into the run.
- ``gateway web`` ×N on ports of their own, ``gateway sms`` ×N bound to the SMSC peer
  (tests/peers/smsc, npm smpp), ``gateway scheduler`` ×N, ``gateway email`` ×N polling one
  Dovecot mailbox and sending through one aiosmtpd server (tests/peers).
- With ``--hosts separate`` (the default as root) each component slot is a machine of its
  own: its own host name (``unshare --uts``), so a restarted process takes back its dead
  predecessor's leases at once (same host, pid gone) while the other slots must wait for
  their expiry, as on separate machines.
- The SMSC peer is restarted once, a third into the run: it first drops every submit
  unanswered (an SMSC going down mid-submit), its records are kept, then it is killed
  and started again on the same port.

The load, steady for the whole run:

- HTTP inquiries (``POST /api/v1/inquiries``, a kiosk token) to a random web process:
  found ones and wrong national IDs.
- Lifecycle events from a records-system driver (``POST /api/v1/events``): each new
  transaction registered, referred, assigned and issued with a reply expected a month
  ago, so it causes the registration SMS (and e-mail), the assignment SMS, the issuance
  SMS (and e-mail), and then the overdue SMS to its department's manager. An event is
  retried (same event_id) until a web process answers it.
- MO SMS from the SMSC: each applicant asks about their transaction once, strangers ask
  about others'. The peer does not redeliver, so the driver does what an SMSC does: an
  MO without a ``deliver_sm_resp`` of 0 within ``MO_REDELIVER_SECONDS`` is delivered
  again (the channel recognises the redelivery: channels/sms/inbound.py).
- Mails to the mailbox asking about a transaction (found, and from strangers).
- Citizen's Voice cases whose answer target (1 working hour) passed long ago: the alarm
  scan tells each agency's leader (one SMS listing them) and the leadership.

The chaos loop SIGKILLs one component process at random every ``--kill-every`` seconds
(uniform in the range) and restarts it after a second or two; a process that exits on
its own is restarted as systemd's ``Restart=always`` would, and counted. Then the load
stops, the bed waits for the backlog to drain, stops everything with SIGTERM, and
counts (the table it prints; details in ``--out``/cluster.json):

- no MO lost: every MO the SMSC had acknowledged is stored once and answered, its
  answer accepted by the SMSC;
- no notification lost: every outbox row ends sent (or delivered), and the SMSC or the
  SMTP server holds it; every accepted event's notifications are queued;
- no notification sent twice beyond the bound. SMPP has no exactly-once: a submit_sm the
  SMSC accepted whose response, or whose recording, died with the process is sent again
  by whoever gives the claim back. At most ``sms.smpp.window`` messages are on the wire
  per channel, so the bound is window × (kills of SMS processes + restarts of the SMSC
  + SMS channels running when PostgreSQL crashed). E-mail likewise: one message at a
  time per sender, so one per kill of an e-mail process (and per PostgreSQL crash);
- no overdue or late-case SMS queued twice (exactly one outbox row per overdue cycle, per
  case and level, per leader and case), and none submitted twice beyond the bound above;
- every HTTP inquiry answered (2xx) or refused cleanly (4xx, or 503); connection errors
  to a killed process counted apart, 5xx counted apart while PostgreSQL was down.

The exit status is 1 when an invariant does not hold, 2 when the bed itself broke.
Settings that differ from production, so that ten minutes show what days would: the
overdue scan and the alarm scan every 5 s, overdue messages sent at any hour, Citizen's
Voice targets of 1 hour, ``scheduler.stale_claim_seconds`` 60 (claims that name no
sender), the failure limits lifted (all load comes from 127.0.0.1).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from bench._pg_cluster import ThrowawayPostgres, free_port  # noqa: E402
from bench._pg_cluster import available as postgres_available  # noqa: E402, F401
from channels.sms.encoding import sms_parts  # noqa: E402
from core.access.actors import AGENCY_LEADER, LEADERSHIP  # noqa: E402
from core.access.models import StaffUser  # noqa: E402
from core.access.tokens import create_token  # noqa: E402
from core.directory.models import Agency  # noqa: E402
from core.messaging.models import EmailExchange, InboundMessage, Notification  # noqa: E402
from core.platform import migrate  # noqa: E402
from core.platform.db import Database  # noqa: E402
from core.transactions.models import Transaction  # noqa: E402
from core.voice import deadlines  # noqa: E402
from core.voice.models import CaseAlarm, VoiceCase  # noqa: E402
from gateway.bootstrap import build_core  # noqa: E402
from gateway.settings import load_settings  # noqa: E402
from tests.channels.email import mails  # noqa: E402
from tests.peers.dovecot_peer import DovecotPeer  # noqa: E402
from tests.peers.smsc_peer import SmscPeer, SmscPeerError  # noqa: E402
from tests.peers.smtp_peer import SmtpPeer  # noqa: E402

PYTHON = sys.executable
NATIONAL_ID_KEY = "cluster-bench-key"
SECRET_KEY = "cluster-bench-secret"
RIYADH = ZoneInfo("Asia/Riyadh")
MAILBOX = "inquiries@emirate.gov.sa"
DEPARTMENTS = ("PERMITS", "RIGHTS", "LANDS")
EMPLOYEES = 6
AGENCIES = ("MUN", "HEALTH", "POLICE")
# A Sunday morning in Riyadh: late cases were received then, so every alarm is due now.
LONG_AGO = datetime(2026, 11, 1, 8, 0, tzinfo=RIYADH)
MO_REDELIVER_SECONDS = 8.0
WINDOW = 10  # sms.smpp.window, the default


LOG_FILES: list[Path] = []  # where log() writes besides stdout (the run's out/cluster.log)


def log(text: str) -> None:
    line = f"[{time.strftime('%H:%M:%S')}] {text}"
    print(line, flush=True)
    for path in LOG_FILES:
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")


# --- options ------------------------------------------------------------------------------


@dataclass
class Options:
    minutes: float = 10.0
    web: int = 2
    sms: int = 2
    schedulers: int = 2
    email: int = 2
    kill_every: tuple[float, float] = (3.0, 8.0)
    seed: int = 1
    hosts: str = "separate"
    out: Path = HERE / "out" / "cluster"
    inquiries_per_second: float = 20.0
    transactions_per_second: float = 1.0
    mo_per_second: float = 1.0
    mails_per_second: float = 0.3
    late_cases_per_second: float = 0.3
    drain_seconds: float = 300.0
    restart_smsc: bool = True
    restart_postgres: bool = True


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = Options()
    parser.add_argument("--minutes", type=float, default=defaults.minutes)
    for name in ("web", "sms", "schedulers", "email"):
        parser.add_argument(f"--{name}", type=int, default=getattr(defaults, name),
                            help=f"how many {name} processes (default %(default)s)")
    parser.add_argument("--kill-every", default="3:8",
                        help="seconds between kills, MIN:MAX (uniform; default %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--hosts", choices=("separate", "one"),
                        default="separate" if _can_unshare() else "one",
                        help="each slot a host name of its own (unshare --uts, root) or "
                             "all on this host")
    parser.add_argument("--out", type=Path, default=defaults.out)
    parser.add_argument("--inquiries-per-second", type=float,
                        default=defaults.inquiries_per_second)
    parser.add_argument("--transactions-per-second", type=float,
                        default=defaults.transactions_per_second)
    parser.add_argument("--mo-per-second", type=float, default=defaults.mo_per_second)
    parser.add_argument("--mails-per-second", type=float, default=defaults.mails_per_second)
    parser.add_argument("--late-cases-per-second", type=float,
                        default=defaults.late_cases_per_second)
    parser.add_argument("--drain-seconds", type=float, default=defaults.drain_seconds)
    parser.add_argument("--no-smsc-restart", dest="restart_smsc", action="store_false")
    parser.add_argument("--no-postgres-restart", dest="restart_postgres",
                        action="store_false")
    args = parser.parse_args(argv)
    low, _sep, high = args.kill_every.partition(":")
    options = Options(**{k: v for k, v in vars(args).items() if k != "kill_every"})
    options.kill_every = (float(low), float(high or low))
    return options


def _can_unshare() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    done = subprocess.run(["unshare", "--uts", "true"], capture_output=True)
    return done.returncode == 0


# --- the components -------------------------------------------------------------------------


class Component:
    """One slot: a ``gateway <command>`` process, killed and started again; what it went
    through (kills, exits on its own) is counted."""

    def __init__(self, name: str, command: str, env: dict[str, str], logs: Path, *,
                 host: str | None, port: int | None = None) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_path = logs / f"{name}.log"
        self.host = host
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0
        self.starts = 0
        self.exits: list[int] = []  # exit statuses of the times it ended on its own
        self.stop_status: int | None = None
        self.lock = threading.Lock()

    def start(self) -> None:
        with self.lock:
            argv = [PYTHON, "-m", "gateway.cli", self.command]
            if self.host:
                argv = ["unshare", "--uts", "sh", "-c",
                        'hostname "$0" && exec "$@"', self.host, *argv]
            with open(self.log_path, "ab") as out:
                out.write(f"\n=== start {time.strftime('%H:%M:%S')} ===\n".encode())
                self.process = subprocess.Popen(argv, env=self.env, cwd=ROOT,
                                                stdin=subprocess.DEVNULL, stdout=out,
                                                stderr=subprocess.STDOUT,
                                                start_new_session=True)
            self.starts += 1

    def kill(self) -> None:
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
                self.kills += 1
                with open(self.log_path, "ab") as out:
                    out.write(f"\n=== SIGKILL {time.strftime('%H:%M:%S')} ===\n".encode())
            self.process = None

    def ended_on_its_own(self) -> int | None:
        """Its exit status when it ended without being killed (noted once), else None."""
        with self.lock:
            if self.process is None or self.process.poll() is None:
                return None
            status = self.process.returncode
            self.exits.append(status)
            self.process = None
            return status

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def terminate(self, timeout: float = 60) -> int | None:
        """SIGTERM and wait: a clean stop exits 0."""
        with self.lock:
            process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                self.stop_status = -9
                return -9
        self.stop_status = process.returncode
        return process.returncode


# --- the SMSC, across restarts ----------------------------------------------------------------


class Smsc:
    """The SMSC peer and what it recorded in every life (its records end with it)."""

    def __init__(self) -> None:
        self.peer = SmscPeer()
        self.past: list[dict[str, Any]] = []  # the records of its earlier lives
        self.incarnation = 0
        self.restarting = threading.Event()
        self.lock = threading.Lock()

    def start(self) -> None:
        self.peer.start()
        self.peer.script(auto_receipt="after")

    def restart(self) -> None:
        """Go down mid-submit: drop every submit unanswered, keep the records, die, start
        again on the same port."""
        with self.lock:
            self.restarting.set()
            try:
                self.peer.script(drop_on_next_submits=1_000_000_000)
                self.past.append(self.peer.state())
                self.peer.kill()
                time.sleep(2)
                self.peer.start()
                self.peer.script(auto_receipt="after")
                self.incarnation += 1
            finally:
                self.restarting.clear()

    def all_submits(self) -> list[dict[str, Any]]:
        with self.lock:
            lives = [*self.past, self.peer.state()]
        return [submit for life in lives for submit in life["submits"]]


# --- the load -----------------------------------------------------------------------------------


def _digits(address: str) -> str:
    return re.sub(r"\D", "", address)


@dataclass
class HttpCounts:
    ok: int = 0  # 2xx
    refused: int = 0  # 4xx, and 503
    server_errors: int = 0  # other 5xx while PostgreSQL was up
    server_errors_db_down: int = 0  # other 5xx while PostgreSQL was down or just back
    connection_errors: int = 0  # refused, reset, cut: a process killed or starting
    statuses: Counter = field(default_factory=Counter)


class Web:
    """Requests to a random web process, one keep-alive connection per (thread, port)."""

    def __init__(self, ports: list[int], db_down: Callable[[], bool]) -> None:
        self.ports = ports
        self.db_down = db_down
        self.local = threading.local()

    def _connection(self, port: int) -> http.client.HTTPConnection:
        pool = getattr(self.local, "pool", None)
        if pool is None:
            pool = self.local.pool = {}
        if port not in pool:
            pool[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        return pool[port]

    def post(self, path: str, body: dict[str, Any], token: str, counts: HttpCounts,
             ) -> tuple[int, dict[str, Any]] | None:
        """The status and JSON answer, or None after a connection error (counted)."""
        port = random.choice(self.ports)
        connection = self._connection(port)
        try:
            connection.request("POST", path, json.dumps(body).encode(), {
                "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            self.local.pool.pop(port, None)
            counts.connection_errors += 1
            return None
        status = response.status
        counts.statuses[status] += 1
        if status < 300:
            counts.ok += 1
        elif status < 500 or status == 503:
            counts.refused += 1
        elif self.db_down():
            counts.server_errors_db_down += 1
        else:
            counts.server_errors += 1
        try:
            answer = json.loads(data) if data else {}
        except ValueError:
            answer = {}
        return status, answer


class Paced:
    """A loop run at ``per_second`` until ``stop``; a thread of its own."""

    def __init__(self, name: str, per_second: float, step: Callable[[], None],
                 stop: threading.Event, errors: list[str]) -> None:
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.per_second, self.step, self.stop, self.errors = per_second, step, stop, errors

    def _run(self) -> None:
        interval, next_at = 1.0 / self.per_second, time.monotonic()
        while not self.stop.is_set():
            try:
                self.step()
            except Exception as exc:  # the bed broke: reported, the run goes on
                self.errors.append(f"{self.thread.name}: {exc!r}")
                time.sleep(0.5)
            next_at = max(next_at + interval, time.monotonic() - 1)
            self.stop.wait(max(0.0, next_at - time.monotonic()))


@dataclass
class Applicant:
    number: str
    national_id: str
    mobile: str  # +9665…
    email: str | None


class Records:
    """The records system: each new transaction through registered → referred → assigned
    → issued (reply expected, a month ago); every event retried until answered."""

    def __init__(self, web: Web, token: str, rng: random.Random) -> None:
        self.web, self.token, self.rng = web, token, rng
        self.counts = HttpCounts()
        self.applicants: list[Applicant] = []
        # event_id -> the SMS its answer counted (None: answered only as a duplicate)
        self.accepted: dict[str, int | None] = {}
        self.refused: list[tuple[str, int, dict[str, Any]]] = []
        self.given_up: list[str] = []
        self.issued: list[str] = []  # numbers issued with a reply expected
        self.lock = threading.Lock()
        self._next = 0

    def step(self) -> None:
        i = self._next
        self._next += 1
        number = f"{7_100_000 + i}"
        applicant = Applicant(number, f"1{i:09d}", f"+96655{i:07d}",
                              f"applicant{i}@example.com" if i % 3 == 0 else None)
        started = datetime.now(UTC) - timedelta(days=40)
        events = [
            {"type": "registered", "occurred_at": started, "transaction": {
                "number": number, "subject": "طلب تصريح",
                "applicant": {"name": "مواطن", "national_id": applicant.national_id,
                              "mobile": applicant.mobile, "email": applicant.email,
                              "lang": "ar"}}},
            {"type": "referred", "occurred_at": started + timedelta(hours=1),
             "department": DEPARTMENTS[i % len(DEPARTMENTS)]},
            {"type": "assigned", "occurred_at": started + timedelta(hours=2),
             "employee": f"E-{DEPARTMENTS[i % len(DEPARTMENTS)]}-{i % EMPLOYEES}"},
            {"type": "issued", "occurred_at": started + timedelta(days=10),
             "outgoing_number": f"9{i:07d}", "destination_agency": AGENCIES[i % 3],
             "reply_expected": True},
        ]
        for k, event in enumerate(events):
            event_id = f"cluster-{i}-{k}"
            body = {**event, "event_id": event_id,
                    "occurred_at": event["occurred_at"].isoformat(),
                    "transaction": event.get("transaction", {"number": number})}
            if not self._send(event_id, body):
                return
        with self.lock:
            self.applicants.append(applicant)
            self.issued.append(number)

    def _send(self, event_id: str, body: dict[str, Any]) -> bool:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            answer = self.web.post("/api/v1/events", body, self.token, self.counts)
            if answer is not None:
                status, data = answer
                if status in (200, 201):
                    # The count of the answer that applied it (a retry after a cut
                    # connection may be answered as a duplicate, which counts none).
                    if not data.get("duplicate"):
                        self.accepted[event_id] = data.get("notifications", 0)
                    self.accepted.setdefault(event_id, None)
                    return True
                if status < 500 and status != 429:
                    self.refused.append((event_id, status, data))
                    return False
            time.sleep(0.3)
        self.given_up.append(event_id)
        return False

    @staticmethod
    def causes(event_id: str) -> tuple[int, int]:
        """The SMS and e-mails event ``cluster-i-k`` causes: registered (k 0) an SMS to
        the applicant, referred (1) none, assigned (2) an SMS to the employee, issued (3)
        an SMS to the applicant; registered and issued an e-mail too for the applicants
        with an address (i divisible by 3)."""
        _prefix, i, k = event_id.split("-")
        mail = 1 if int(i) % 3 == 0 and int(k) in (0, 3) else 0
        return (0 if int(k) == 1 else 1), mail

    def sample(self) -> Applicant | None:
        with self.lock:
            return self.rng.choice(self.applicants) if self.applicants else None


class Inquiries:
    """Kiosk inquiries: nine in ten found, the rest with a wrong national ID."""

    def __init__(self, web: Web, token: str, records: Records, rng: random.Random) -> None:
        self.web, self.token, self.records, self.rng = web, token, records, rng
        self.counts = HttpCounts()
        self.lock = threading.Lock()

    def step(self) -> None:
        applicant = self.records.sample()
        if applicant is None:
            return
        national_id = applicant.national_id if self.rng.random() < 0.9 else "1999999990"
        counts = HttpCounts()
        self.web.post("/api/v1/inquiries", {"number": applicant.number,
                                           "national_id": national_id}, self.token, counts)
        with self.lock:
            for name in ("ok", "refused", "server_errors", "server_errors_db_down",
                         "connection_errors"):
                setattr(self.counts, name, getattr(self.counts, name) + getattr(counts, name))
            self.counts.statuses.update(counts.statuses)


@dataclass
class Mo:
    sender: str  # as the SMSC writes it: 9665…
    text: str
    deliveries: int = 0
    acked: bool = False
    last_sent: float = 0.0
    pending: tuple[int, int, int] | None = None  # (incarnation, session, sequence)


class MobileOriginated:
    """MO inquiries pushed by the SMSC peer, delivered again (as an SMSC does) until a
    channel answers the deliver_sm with status 0."""

    def __init__(self, smsc: Smsc, records: Records, rng: random.Random) -> None:
        self.smsc, self.records, self.rng = smsc, records, rng
        self.sent: list[Mo] = []
        self.waiting: dict[tuple[int, int, int], Mo] = {}
        self.asked: set[str] = set()
        self.strangers = 0
        self.resps_seen = 0
        self.incarnation = 0
        self.no_bind = 0  # attempts made while no channel was bound
        self.lock = threading.Lock()

    def step(self) -> None:
        """One new MO (an applicant about their own, or a stranger), then the bookkeeping."""
        applicant = self.records.sample()
        if applicant is not None and applicant.number not in self.asked \
                and self.rng.random() < 0.7:
            self.asked.add(applicant.number)
            digits = applicant.number if self.rng.random() < 0.5 else \
                applicant.number.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
            mo = Mo(_digits(applicant.mobile), f"استعلام {digits}")
        elif applicant is not None:
            self.strangers += 1
            mo = Mo(f"96658{self.strangers:07d}", f"استعلام {applicant.number}")
        else:
            return
        with self.lock:
            self.sent.append(mo)
        self.deliver(mo)
        self.follow_up()

    def deliver(self, mo: Mo) -> None:
        if self.smsc.restarting.is_set():
            return
        try:
            resps = self.smsc.peer.resps(after=1 << 30)
            if not resps["bound"]:
                self.no_bind += 1
                return
            session = self.rng.choice(resps["bound"])
            [sent] = self.smsc.peer.send_mo(mo.text, source_addr=mo.sender, session=session)
        except (SmscPeerError, ValueError):
            return
        with self.lock:
            mo.deliveries += 1
            mo.last_sent = time.monotonic()
            mo.pending = (self.smsc.incarnation, sent["session"], sent["sequence"])
            self.waiting[mo.pending] = mo

    def follow_up(self) -> None:
        """Read the channels' answers; deliver again what waited too long or was refused."""
        if self.smsc.restarting.is_set():
            return
        with self.lock:
            if self.incarnation != self.smsc.incarnation:  # a new SMSC: nothing to read
                self.incarnation, self.resps_seen = self.smsc.incarnation, 0
        try:
            answer = self.smsc.peer.resps(after=self.resps_seen)
        except SmscPeerError:
            return
        again: list[Mo] = []
        with self.lock:
            self.resps_seen = answer["count"]
            for resp in answer["resps"]:
                if resp["kind"] != "mo":
                    continue
                mo = self.waiting.pop((self.incarnation, resp["session"], resp["sequence"]),
                                      None)
                if mo is None:
                    continue
                mo.pending = None
                if resp["status"] == 0:
                    mo.acked = True
                else:
                    again.append(mo)
            now = time.monotonic()
            for mo in self.sent:
                if mo.acked or mo in again:
                    continue
                if mo.pending is None or mo.pending[0] != self.smsc.incarnation \
                        or now - mo.last_sent > MO_REDELIVER_SECONDS:
                    if mo.pending is not None:
                        self.waiting.pop(mo.pending, None)
                        mo.pending = None
                    if now - mo.last_sent > 1.0:
                        again.append(mo)
        for mo in again:
            self.deliver(mo)

    def unacked(self) -> int:
        with self.lock:
            return sum(1 for mo in self.sent if not mo.acked)


class Mails:
    """Mails to the mailbox: applicants (with an address) about their transaction, and
    strangers about someone's."""

    def __init__(self, dovecot: DovecotPeer, records: Records, rng: random.Random) -> None:
        self.dovecot, self.records, self.rng = dovecot, records, rng
        self.sent: list[str] = []  # Message-IDs
        self.client = None
        self.asked: set[str] = set()

    def step(self) -> None:
        applicant = self.records.sample()
        if applicant is None:
            return
        if applicant.email and applicant.number not in self.asked:
            self.asked.add(applicant.number)
            sender = applicant.email
        else:
            sender = f"stranger{len(self.sent)}@example.org"
        message_id = f"<cluster-{len(self.sent)}@mail.example.com>"
        raw = mails.plain(f"حالة المعاملة {applicant.number}", sender=sender,
                          message_id=message_id, to=MAILBOX)
        self.dovecot.append("INBOX", raw)
        self.sent.append(message_id)


class LateCases:
    """Citizen's Voice cases received long ago with a 1-hour answer target: every alarm
    level is due at once (the leader's SMS listing them, the leadership's)."""

    LEADERSHIP_MOBILE = "+966503009999"

    @staticmethod
    def leader(i: int) -> str:
        """The mobile of the leader of case ``i``'s agency (AGENCIES[i % 3])."""
        return f"+96650300{i % len(AGENCIES):04d}"

    def __init__(self, database: Database, settings: Any, agencies: dict[str, int]) -> None:
        self.database, self.settings, self.agencies = database, settings, agencies
        self.filed: list[str] = []
        self._next = 0

    def step(self) -> None:
        i = self._next
        tracking = f"{8_800_000_000 + i}"
        try:
            self._file(i, tracking)
        except OperationalError:  # PostgreSQL down: the next step files it
            return
        self._next += 1
        self.filed.append(tracking)

    def _file(self, i: int, tracking: str) -> None:
        with self.database.write.begin() as session:
            case = VoiceCase(
                tracking=tracking, case_type="complaint", state="in_progress",
                agency_id=self.agencies[AGENCIES[i % len(AGENCIES)]], channel="portal",
                language="ar", text="حفرة في الطريق", cycle=1, escalation=0,
                received_at=LONG_AGO)
            deadlines.time_new_case(session, self.settings, case, LONG_AGO)
            session.add(case)


# --- the bed --------------------------------------------------------------------------------------


@dataclass
class Report:
    rows: list[tuple[str, int, str, bool]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    broken: list[str] = field(default_factory=list)

    def add(self, name: str, count: int, expected: str, ok: bool) -> None:
        self.rows.append((name, count, expected, ok))

    @property
    def ok(self) -> bool:
        return all(ok for *_rest, ok in self.rows) and not self.broken

    def table(self) -> str:
        width = max(len(name) for name, *_rest in self.rows)
        lines = [f"{'invariant / count':<{width}}  {'count':>7}  expected      ",
                 "-" * (width + 30)]
        for name, count, expected, ok in self.rows:
            lines.append(f"{name:<{width}}  {count:>7}  {expected:<12}  "
                         f"{'ok' if ok else 'VIOLATED'}")
        lines.extend(f"bed broke: {line}" for line in self.broken)
        return "\n".join(lines)


class Cluster:
    """The bed: its peers, its components, the load and the chaos; ``run`` does it all
    and counts, ``close`` stops whatever is left."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        self.out = options.out
        self.work = Path(tempfile.mkdtemp(prefix="cluster-bed-"))
        self.postgres = ThrowawayPostgres()
        self.smsc = Smsc()
        self.dovecot = DovecotPeer()
        self.smtp = SmtpPeer()
        self.components: list[Component] = []
        self.stop_load = threading.Event()
        self.stop_chaos = threading.Event()
        self.errors: list[str] = []
        self.db_down_until = 0.0
        self.db_down_since: float | None = None
        self.sms_running_at_pg_crash = 0
        self.email_running_at_pg_crash = 0
        self.events: list[str] = []
        # Components that ended on their own while PostgreSQL was up: a crash, not a
        # start refused while it was away.
        self.crashes: list[str] = []

    # --- set up ---

    def start_peers(self) -> None:
        """PostgreSQL, the SMSC, Dovecot and the SMTP server, started side by side."""
        failed: list[BaseException] = []

        def starting(start: Callable[[], object]) -> threading.Thread:
            def run() -> None:
                try:
                    start()
                except BaseException as exc:  # noqa: BLE001 (raised below, in this thread)
                    failed.append(exc)
            thread = threading.Thread(target=run)
            thread.start()
            return thread

        for thread in [starting(self.postgres.start), starting(self.smsc.start),
                       starting(self.dovecot.start), starting(self.smtp.start)]:
            thread.join()
        if failed:
            raise failed[0]

    def environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("GATEWAY")}
        peer = self.smsc.peer
        env.update({
            "PYTHONPATH": str(ROOT),
            "GATEWAY__DATABASE__URL": self.postgres.url,
            "GATEWAY__SECURITY__NATIONAL_ID_KEY": NATIONAL_ID_KEY,
            "GATEWAY__GATEWAY__SECRET_KEY": SECRET_KEY,
            "GATEWAY__SMS__ENABLED": "true",
            "GATEWAY__SMS__QUIET_HOURS__ENABLED": "false",
            "GATEWAY__SMS__SMPP__HOST": peer.host,
            "GATEWAY__SMS__SMPP__PORT": str(peer.port),
            "GATEWAY__SMS__SMPP__SYSTEM_ID": peer.system_id,
            "GATEWAY__SMS__SMPP__PASSWORD": peer.password,
            "GATEWAY__EMAIL__ENABLED": "true",
            "GATEWAY__EMAIL__NOTIFICATIONS": "true",
            "GATEWAY__EMAIL__IMAP__HOST": self.dovecot.host,
            "GATEWAY__EMAIL__IMAP__PORT": str(self.dovecot.port),
            "GATEWAY__EMAIL__IMAP__USERNAME": self.dovecot.username,
            "GATEWAY__EMAIL__IMAP__PASSWORD": self.dovecot.password,
            "GATEWAY__EMAIL__IMAP__SSL": "false",
            "GATEWAY__EMAIL__IMAP__POLL_SECONDS": "1",
            "GATEWAY__EMAIL__SMTP__HOST": self.smtp.host,
            "GATEWAY__EMAIL__SMTP__PORT": str(self.smtp.port),
            "GATEWAY__EMAIL__SMTP__STARTTLS": "false",
            "GATEWAY__EMAIL__SMTP__FROM_ADDRESS": MAILBOX,
            "GATEWAY__EMAIL__AUTHSERV_IDS": json.dumps([mails.OUR_SERVER]),
            "GATEWAY__EMAIL__MAX_REPLIES_PER_HOUR": "1000",
            "GATEWAY__INQUIRY__MAX_FAILURES": "1000000",
            "GATEWAY__SCHEDULER__OVERDUE_SCAN_SECONDS": "5",
            "GATEWAY__SCHEDULER__OVERDUE_SEND_AT": "00:00",
            "GATEWAY__SCHEDULER__VOICE_ALARM_SECONDS": "5",
            "GATEWAY__SCHEDULER__MAINTENANCE_SECONDS": "5",
            "GATEWAY__SCHEDULER__STALE_CLAIM_SECONDS": "60",
            "GATEWAY__VOICE__ACKNOWLEDGE": "1h",
            "GATEWAY__VOICE__ANSWER": "1h",
        })
        return env

    def settings(self) -> Any:
        overrides = {"database": {"url": self.postgres.url}, "var_dir": str(self.work),
                     "security": {"national_id_key": NATIONAL_ID_KEY},
                     "gateway": {"secret_key": SECRET_KEY},
                     "voice": {"acknowledge": "1h", "answer": "1h"}}
        return load_settings(None, **overrides)

    def prepare_database(self) -> tuple[str, str, dict[str, int]]:
        """The departments, employees, agencies, their leaders; the tokens."""
        settings = self.settings()
        core = build_core(settings, background_log=False)
        try:
            for n, code in enumerate(DEPARTMENTS):
                core.upsert_department(code, {
                    "name_ar": f"إدارة {n}", "name_en": f"Department {code}",
                    "manager": {"name": "مدير", "mobile": f"+96650100{n:04d}"},
                    "reply_days": 10})
                for k in range(EMPLOYEES):
                    core.upsert_employee(f"E-{code}-{k}", {
                        "name": "باحث", "mobile": f"+96650200{n}{k:03d}", "department": code})
            for n, code in enumerate(AGENCIES):
                core.upsert_agency(code, {"name_ar": f"جهة {n}", "name_en": f"Agency {code}"})
            core.upsert_agency("EMIRATE", {"name_ar": "الإمارة", "name_en": "Emirate"})
            with core.db.read() as session:
                agencies = dict(session.execute(select(Agency.code, Agency.id)).all())
            with core.db.write.begin() as session:
                for n, code in enumerate(AGENCIES):
                    session.add(StaffUser(login=f"leader-{code}", name="قائد",
                                          role=AGENCY_LEADER, agency_id=agencies[code],
                                          mobile=LateCases.leader(n), password_hash="-"))
                session.add(StaffUser(login="governor", name="المحافظ", role=LEADERSHIP,
                                      agency_id=None, mobile=LateCases.LEADERSHIP_MOBILE,
                                      password_hash="-"))
            records = create_token(core.db.write, "records", "cluster-records")
            kiosk = create_token(core.db.write, "kiosk", "cluster-kiosk")
        finally:
            core.close()
        return records, kiosk, agencies

    def make_components(self) -> None:
        env = self.environment()
        logs = self.out / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        separate = self.options.hosts == "separate"
        ports = [free_port() for _ in range(self.options.web)]
        for kind, command, count in (("web", "web", self.options.web),
                                     ("sms", "sms", self.options.sms),
                                     ("scheduler", "scheduler", self.options.schedulers),
                                     ("email", "email", self.options.email)):
            for n in range(1, count + 1):
                name = f"{kind}-{n}"
                own = dict(env)
                var = self.work / name
                var.mkdir(exist_ok=True)
                own["GATEWAY__VAR_DIR"] = str(var)
                port = None
                if kind == "web":
                    port = ports[n - 1]
                    own["GATEWAY__GATEWAY__PORT"] = str(port)
                self.components.append(Component(name, command, own, logs,
                                                 host=f"bed-{name}" if separate else None,
                                                 port=port))

    def wait_serving(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        for component in self.components:
            if component.port is None:
                continue
            while True:
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", component.port,
                                                            timeout=2)
                    connection.request("GET", "/healthz")
                    if connection.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{component.name} did not come up; see "
                                       f"{component.log_path}")
                time.sleep(0.3)

    # --- chaos ---

    def db_down(self) -> bool:
        return self.db_down_since is not None or time.monotonic() < self.db_down_until

    def supervise(self) -> None:
        """Restart what ended on its own (systemd's Restart=always, RestartSec=1)."""
        while not self.stop_chaos.is_set() or not self.stop_load.is_set():
            for component in self.components:
                status = component.ended_on_its_own()
                if status is not None:
                    if not self.db_down():
                        self.crashes.append(f"{component.name} exited with {status}")
                    self.note(f"{component.name} exited on its own with {status}")
                    threading.Timer(1.0, component.start).start()
            time.sleep(0.2)

    def note(self, text: str) -> None:
        self.events.append(f"{time.strftime('%H:%M:%S')} {text}")
        log(text)

    def chaos(self, seconds: float) -> None:
        begin = time.monotonic()
        end = begin + seconds
        smsc_at = begin + seconds / 3 if self.options.restart_smsc else None
        postgres_at = begin + 2 * seconds / 3 if self.options.restart_postgres else None
        while time.monotonic() < end:
            self.stop_chaos.wait(self.rng.uniform(*self.options.kill_every))
            if time.monotonic() >= end:
                break
            if smsc_at is not None and time.monotonic() >= smsc_at:
                smsc_at = None
                self.note("SMSC peer: dropping submits, killed, started again")
                self.smsc.restart()
                continue
            if postgres_at is not None and time.monotonic() >= postgres_at:
                postgres_at = None
                self.crash_postgres()
                continue
            victim = self.rng.choice([c for c in self.components if c.running]
                                     or self.components)
            victim.kill()
            self.note(f"SIGKILL {victim.name}")
            threading.Timer(self.rng.uniform(0.5, 2.0), victim.start).start()

    def crash_postgres(self) -> None:
        self.sms_running_at_pg_crash = sum(
            1 for c in self.components if c.command == "sms" and c.running)
        self.email_running_at_pg_crash = sum(
            1 for c in self.components if c.command == "email" and c.running)
        self.note("PostgreSQL: immediate stop (crash), 3 s down, started again")
        self.db_down_since = time.monotonic()
        self.postgres.restart(down_seconds=3.0)
        self.db_down_since = None
        # Pools find their dead connections on first use: errors a little after, too.
        self.db_down_until = time.monotonic() + 10

    # --- the run ---

    def run(self) -> Report:
        options = self.options
        report = Report()
        started = time.monotonic()
        log(f"bed in {self.work}; logs in {self.out / 'logs'}")
        self.start_peers()
        database = Database(self.postgres.url)
        migrate.upgrade(database.engine)
        database.dispose()
        # The processes take seconds to start: the reference data is written meanwhile.
        self.make_components()
        for component in self.components:
            component.start()
        records_token, kiosk_token, agencies = self.prepare_database()
        self.wait_serving()
        report.details["setup_seconds"] = round(time.monotonic() - started, 1)
        log(f"{len(self.components)} components up in {time.monotonic() - started:.0f} s "
            f"(hosts: {options.hosts})")

        web = Web([c.port for c in self.components if c.port], self.db_down)
        records = Records(web, records_token, random.Random(options.seed + 1))
        inquiries = Inquiries(web, kiosk_token, records, random.Random(options.seed + 2))
        mos = MobileOriginated(self.smsc, records, random.Random(options.seed + 3))
        mail = Mails(self.dovecot, records, random.Random(options.seed + 4))
        late_db = Database(self.postgres.url, pool_size=2)
        late = LateCases(late_db, self.settings(), agencies)
        loops = [Paced("records", options.transactions_per_second, records.step,
                       self.stop_load, self.errors),
                 *[Paced(f"inquiries-{n}", options.inquiries_per_second / 4, inquiries.step,
                         self.stop_load, self.errors) for n in range(4)],
                 Paced("mo", options.mo_per_second, mos.step, self.stop_load, self.errors),
                 Paced("mail", options.mails_per_second, mail.step, self.stop_load,
                       self.errors),
                 Paced("late-cases", options.late_cases_per_second, late.step,
                       self.stop_load, self.errors)]
        for loop in loops:
            loop.thread.start()
        supervisor = threading.Thread(target=self.supervise, daemon=True)
        supervisor.start()

        self.chaos(options.minutes * 60)
        self.stop_chaos.set()
        self.note("chaos over; load stops; every component running")
        self.stop_load.set()
        stopping = time.monotonic()
        for loop in loops:
            loop.thread.join(180)
        report.details["load_stop_seconds"] = round(time.monotonic() - stopping, 1)
        for component in self.components:
            if not component.running:
                time.sleep(1)
                if not component.running:
                    component.start()
        drained = self.drain(mos, mail, records, late)
        report.details["drain_seconds"] = round(drained, 1)
        stopping = time.monotonic()
        stop_status = self.stop_all()
        report.details["stop_seconds"] = round(time.monotonic() - stopping, 1)
        late_db.dispose()
        self.count(report, records, inquiries, mos, mail, late, stop_status)
        report.details["seconds"] = round(time.monotonic() - started, 1)
        report.broken.extend(self.errors[:20])
        return report

    def stop_all(self) -> dict[str, int | None]:
        """SIGTERM to every component at once, then wait for each: its exit status."""
        status: dict[str, int | None] = {}
        threads = [threading.Thread(target=lambda c=c: status.__setitem__(c.name,
                                                                           c.terminate()))
                   for c in self.components]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return status

    def drain(self, mos: MobileOriginated, mail: Mails, records: Records,
              late: LateCases) -> float:
        """Wait for the backlog: every MO acknowledged, every mail read, every overdue
        transaction and late case alarmed, the outbox empty of unsent rows."""
        begin = time.monotonic()
        database = Database(self.postgres.url, pool_size=1)
        try:
            while time.monotonic() - begin < self.options.drain_seconds:
                mos.follow_up()
                waiting = self.backlog(database, mos, mail, records, late)
                if not any(waiting.values()):
                    log(f"drained in {time.monotonic() - begin:.0f} s")
                    return time.monotonic() - begin
                if int(time.monotonic() - begin) % 10 == 0:
                    log(f"draining: {waiting}")
                time.sleep(1)
            log(f"not drained after {self.options.drain_seconds:.0f} s: "
                f"{self.backlog(database, mos, mail, records, late)}")
            return time.monotonic() - begin
        finally:
            database.dispose()

    def backlog(self, database: Database, mos: MobileOriginated, mail: Mails,
                records: Records, late: LateCases) -> dict[str, int]:
        with database.read() as session:
            unsent = session.scalar(select(func.count()).select_from(Notification).where(
                Notification.status.in_(("pending", "sending")))) or 0
            mails_read = session.scalar(select(func.count()).select_from(EmailExchange)) or 0
            overdue = session.scalar(select(func.count()).select_from(Notification).where(
                Notification.kind == "overdue")) or 0
            breached = session.scalar(select(func.count()).select_from(CaseAlarm).where(
                CaseAlarm.level == deadlines.BREACH)) or 0
            unanswered = session.scalar(select(func.count()).select_from(InboundMessage)
                                        .where(InboundMessage.status == "received")) or 0
        return {"mo_unacked": mos.unacked(), "outbox_unsent": unsent,
                "mails_unread": max(0, len(mail.sent) - mails_read),
                "inbound_unanswered": unanswered,
                "overdue_unsent": max(0, len(records.issued) - overdue),
                "late_unalarmed": max(0, len(late.filed) - breached)}

    # --- the invariants ---

    def count(self, report: Report, records: Records, inquiries: Inquiries,
              mos: MobileOriginated, mail: Mails, late: LateCases,
              stop_status: dict[str, int | None]) -> None:
        seen = observe(self.postgres.url, self.smsc, self.smtp, records.issued,
                       keep=self.out / "records.json")
        kills = Counter(c.command for c in self.components for _ in range(c.kills))
        restarts = 1 if self.options.restart_smsc else 0
        sms_bound = WINDOW * (kills["sms"] + restarts + self.sms_running_at_pg_crash)
        mail_bound = kills["email"] + self.email_running_at_pg_crash
        self.chaos_rows(report, kills, stop_status)
        notification_rows(report, seen, records, sms_bound, mail_bound)
        mo_rows(report, seen, mos)
        mail_rows(report, seen, mail)
        overdue_rows(report, seen, sms_bound)
        late_rows(report, seen, late, sms_bound)
        http_rows(report, inquiries, records)
        report.details["sms_bound"] = (
            f"{WINDOW} x ({kills['sms']} SMS kills + {restarts} SMSC restart + "
            f"{self.sms_running_at_pg_crash} channels at the PostgreSQL crash)")

    def chaos_rows(self, report: Report, kills: Counter[str],
                   stop_status: dict[str, int | None]) -> None:
        exits = {c.name: c.exits for c in self.components if c.exits}
        unclean = {name: s for name, s in stop_status.items() if s not in (0, None)}
        add = report.add
        add("components killed (SIGKILL)", sum(kills.values()), ">0", sum(kills.values()) > 0)
        for command in ("web", "sms", "scheduler", "email"):
            add(f"  of them {command}", kills[command], "", True)
        add("SMSC restarts", 1 if self.options.restart_smsc else 0, "", True)
        add("PostgreSQL crashes", 1 if self.options.restart_postgres else 0, "", True)
        add("exits on their own (restarted)", sum(len(v) for v in exits.values()), "",
            True)
        add("  of them while PostgreSQL was up (crashes)", len(self.crashes), "0",
            not self.crashes)
        add("unclean stops at the end (SIGTERM)", len(unclean), "0", not unclean)
        report.details.update({
            "options": {k: str(v) for k, v in vars(self.options).items()},
            "chaos": self.events, "exits": exits, "crashes": self.crashes,
            "stop_status": stop_status})

    def close(self) -> None:
        for component in self.components:
            component.terminate(timeout=20)
        self.smsc.peer.stop()
        self.dovecot.stop()
        self.smtp.stop()
        self.postgres.stop()
        shutil.rmtree(self.work, ignore_errors=True)


SENT = ("sent", "delivered")


@dataclass
class Observed:
    """What the database and the peers hold at the end of the run."""

    rows: list[Any]  # every outbox row
    inbound: list[Any]  # every stored inbound message
    mails_stored: Counter[str]  # Message-ID -> inbound mails stored with it
    mail_inbound: dict[str, int]  # Message-ID -> its inbound message's id
    alarms: Counter[tuple[int, int, int]]  # (case, cycle, level) -> alarms raised
    issued: dict[str, int]  # transaction number -> id, of those issued with a reply
    sms_copies: dict[int, int]  # outbox id -> copies the SMSC accepted (its most sent part)
    sms_missing: set[int]  # outbox ids with a part the SMSC never accepted
    sms_copies_at: dict[int, list[str]]  # doubled ones: kind, status, times accepted
    mail_copies: Counter[int]  # outbox id -> copies the SMTP server accepted

    @property
    def by_cause(self) -> dict[str, Any]:
        return {row.cause_key: row for row in self.rows}

    def sms_extra(self, rows: list[Any]) -> int:
        return sum(max(0, self.sms_copies.get(row.id, 0) - 1) for row in rows)


def observe(url: str, smsc: Smsc, smtp: SmtpPeer, issued_numbers: list[str], *,
            keep: Path | None = None) -> Observed:
    """Read the end state; with ``keep``, write the outbox rows and the SMSC's submits
    there."""
    database = Database(url, pool_size=1)
    try:
        with database.read() as session:
            rows = list(session.execute(select(
                Notification.id, Notification.cause_key, Notification.kind,
                Notification.channel, Notification.recipient, Notification.body,
                Notification.status)).all())
            inbound = list(session.execute(select(
                InboundMessage.id, InboundMessage.channel, InboundMessage.sender,
                InboundMessage.text, InboundMessage.status)).all())
            exchanges = session.execute(select(EmailExchange.message_id,
                                               EmailExchange.inbound_id)).all()
            alarms = Counter(tuple(key) for key in session.execute(select(
                CaseAlarm.case_id, CaseAlarm.cycle, CaseAlarm.level)).all())
            issued = dict(session.execute(select(Transaction.number, Transaction.id)
                                          .where(Transaction.number.in_(issued_numbers)))
                          .all())
    finally:
        database.dispose()
    submits = smsc.all_submits()
    copies, missing, copies_at = sms_copies(rows, submits)
    if keep is not None:  # what the counts come from, to count again by hand
        keep.write_text(json.dumps({
            "notifications": [row._asdict() for row in rows],
            "submits": [{k: submit[k] for k in ("destination_addr", "short_message", "at",
                                                "status", "message_id", "session")}
                        for submit in submits]}, ensure_ascii=False))
    return Observed(rows, inbound, Counter(m for m, _i in exchanges), dict(exchanges),
                    alarms, issued, copies, missing, copies_at, mail_copies(smtp))


def sms_copies(rows: list[Any], submits: list[dict[str, Any]],
               ) -> tuple[dict[int, int], set[int], dict[int, list[str]]]:
    """Each SMS row's copies at the SMSC, by its segments' exact bytes (the split and the
    concatenation reference depend only on the text and the outbox id): its most
    accepted segment's count; the rows with a segment never accepted; when each doubled
    one was accepted.

    A later segment can be the same bytes in two rows: the same recipient, the same
    template's tail (an overdue message's "please follow up") and ids equal modulo 256
    (the reference). Such a segment belongs to all of them: the SMSC should have it as
    many times as it has owners, and copies beyond that go to the owner that was doubled
    on its own segments (else the first)."""
    accepted: Counter[tuple[str, str]] = Counter()
    accepted_at: dict[tuple[str, str], list[str]] = defaultdict(list)
    for submit in submits:
        if submit["status"] == 0 and submit["message_id"]:
            key = (submit["destination_addr"], submit["short_message"])
            accepted[key] += 1
            at = submit["at"]
            accepted_at[key].append(time.strftime("%H:%M:%S", time.localtime(at))
                                    + f".{int(at * 1000) % 1000:03d}")
    keys = {row.id: [(row.recipient.removeprefix("+"), part.payload.hex())
                     for part in sms_parts(row.body, row.id % 256)]
            for row in rows if row.channel == "sms"}
    owners: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row_id, row_keys in keys.items():
        for key in set(row_keys):
            owners[key].append(row_id)
    copies = {row_id: max((accepted[key] for key in row_keys if len(owners[key]) == 1),
                          default=1)
              for row_id, row_keys in keys.items()}
    missing = {row_id for row_id, row_keys in keys.items()
               if any(accepted[key] < len(owners[key]) for key in row_keys)}
    for key, row_ids in owners.items():
        beyond = accepted[key] - len(row_ids)
        if len(row_ids) > 1 and beyond > 0:
            doubled = max(row_ids, key=lambda row_id: copies[row_id])
            copies[doubled] = max(copies[doubled], 1 + beyond)
    copies_at = {row.id: [row.kind, row.status, *accepted_at[keys[row.id][0]]]
                 for row in rows if copies.get(row.id, 0) > 1}
    return copies, missing, copies_at


def mail_copies(smtp: SmtpPeer) -> Counter[int]:
    """Each e-mail row's copies at the SMTP server: our Message-ID carries the outbox id."""
    copies: Counter[int] = Counter()
    for message in smtp.messages():
        found = re.search(r"\.(\d+)@", message["Message-ID"] or "")
        if found:
            copies[int(found[1])] += 1
    return copies


def notification_rows(report: Report, seen: Observed, records: Records, sms_bound: int,
                      mail_bound: int) -> None:
    """Every accepted event's messages queued; every message sent, and at its server;
    the copies beyond one, against the bound."""
    rows, by_cause = seen.rows, seen.by_cause
    # The SMS each accepted event's answer counted, and the e-mail copy of a registration
    # or issuance for an applicant with an address.
    sms_per_event = Counter(cause.split(":")[1] for cause in by_cause
                            if cause.startswith("event:") and not cause.endswith(":email"))
    mail_per_event = Counter(cause.split(":")[1] for cause in by_cause
                             if cause.startswith("event:") and cause.endswith(":email"))
    events_short = [event for event, n in records.accepted.items()
                    if (sms_per_event[event], mail_per_event[event]) != records.causes(event)
                    or n not in (None, sms_per_event[event])]
    unsent = [row.id for row in rows if row.status not in SENT]
    lost_sms = [row.id for row in rows if row.id in seen.sms_missing and row.status in SENT]
    lost_mail = [row.id for row in rows if row.channel == "email" and row.status in SENT
                 and not seen.mail_copies[row.id]]
    sms_extra = seen.sms_extra(rows)
    mail_extra = sum(max(0, n - 1) for n in seen.mail_copies.values())
    add = report.add
    add("transactions through their lifecycle", len(records.issued), ">0",
        len(records.issued) > 0)
    add("events refused (4xx)", len(records.refused), "0", not records.refused)
    add("events never answered (2 min of retries)", len(records.given_up), "0",
        not records.given_up)
    add("events whose notifications are not all queued", len(events_short), "0",
        not events_short)
    add("notifications queued", len(rows), ">0", len(rows) > 0)
    add("  sms", sum(1 for r in rows if r.channel == "sms"), "", True)
    add("  email", sum(1 for r in rows if r.channel == "email"), "", True)
    add("notifications not sent at the end", len(unsent), "0", not unsent)
    add("SMS marked sent, not at the SMSC (lost)", len(lost_sms), "0", not lost_sms)
    add("e-mails marked sent, not at the SMTP server (lost)", len(lost_mail), "0",
        not lost_mail)
    add("SMS submitted more than once (extra copies)", sms_extra, f"<= {sms_bound}",
        sms_extra <= sms_bound)
    add("e-mails sent more than once (extra copies)", mail_extra, f"<= {mail_bound}",
        mail_extra <= mail_bound)
    report.details.update({
        "events_refused": records.refused[:20], "events_short": events_short[:20],
        "unsent": unsent[:50], "lost_sms": lost_sms[:50], "lost_mail": lost_mail[:50],
        "sms_extra_copies": seen.sms_copies_at,
        "mail_extra_copies": {i: n for i, n in seen.mail_copies.items() if n > 1}})


def mo_rows(report: Report, seen: Observed, mos: MobileOriginated) -> None:
    """Each MO the SMSC had acknowledged stored once, answered, its answer at the SMSC."""
    sms = [row for row in seen.inbound if row.channel == "sms"]
    stored = Counter((_digits(row.sender), row.text) for row in sms)
    by_key = {(_digits(row.sender), row.text): row for row in sms}
    by_cause = seen.by_cause
    lost = [mo for mo in mos.sent if mo.acked and not stored[(mo.sender, mo.text)]]
    twice = [mo for mo in mos.sent if stored[(mo.sender, mo.text)] > 1]
    unanswered = []
    for mo in mos.sent:
        row = by_key.get((mo.sender, mo.text))
        answer = by_cause.get(f"mo:{row.id}:answer") if row is not None else None
        if row is not None and (answer is None or answer.status not in SENT
                                or answer.id in seen.sms_missing):
            unanswered.append(mo)
    add = report.add
    add("MO sent by the SMSC", len(mos.sent), ">0", len(mos.sent) > 0)
    add("  deliveries (with redeliveries)", sum(m.deliveries for m in mos.sent), "", True)
    add("MO never acknowledged", mos.unacked(), "0", mos.unacked() == 0)
    add("MO acknowledged, not stored (lost)", len(lost), "0", not lost)
    add("MO stored twice", len(twice), "0", not twice)
    add("MO not answered (or answer not at the SMSC)", len(unanswered), "0", not unanswered)
    report.details.update({
        "mo_lost": [vars(m) for m in lost[:20]], "mo_twice": [vars(m) for m in twice[:20]],
        "mo_unanswered": [vars(m) for m in unanswered[:20]],
        "mo_no_bind_attempts": mos.no_bind})


def mail_rows(report: Report, seen: Observed, mail: Mails) -> None:
    """Each mail to the mailbox read once and answered, its reply at the SMTP server."""
    by_cause = seen.by_cause
    unread = [m for m in mail.sent if m not in seen.mail_inbound]
    twice = [m for m in mail.sent if seen.mails_stored[m] > 1]
    unanswered = []
    for message_id in mail.sent:
        inbound_id = seen.mail_inbound.get(message_id)
        answer = by_cause.get(f"email:{inbound_id}:answer")
        if inbound_id is not None and (answer is None or not seen.mail_copies[answer.id]):
            unanswered.append(message_id)
    add = report.add
    add("mails to the mailbox", len(mail.sent), ">0", len(mail.sent) > 0)
    add("mails not read", len(unread), "0", not unread)
    add("mails read twice", len(twice), "0", not twice)
    add("mails not answered (reply not at the SMTP server)", len(unanswered), "0",
        not unanswered)
    report.details.update({"mail_unread": unread[:20], "mail_unanswered": unanswered[:20]})


def overdue_rows(report: Report, seen: Observed, sms_bound: int) -> None:
    """One overdue message per transaction issued with a reply expected (its first cycle:
    a reminder is days away), at the SMSC."""
    messages: dict[str, list[Any]] = defaultdict(list)
    for row in seen.rows:
        if row.cause_key.startswith("overdue:"):
            messages[row.cause_key.split(":")[1]].append(row)
    missing = [n for n, i in seen.issued.items() if not messages.get(str(i))]
    twice = [k for k, v in messages.items() if len(v) > 1]
    extra = seen.sms_extra([row for v in messages.values() for row in v])
    add = report.add
    add("overdue transactions without their SMS", len(missing), "0", not missing)
    add("overdue SMS queued twice", len(twice), "0", not twice)
    add("overdue SMS submitted twice (extra copies)", extra, f"<= {sms_bound}",
        extra <= sms_bound)
    report.details.update({"overdue_missing": missing[:20], "overdue_twice": twice[:20]})


def late_rows(report: Report, seen: Observed, late: LateCases, sms_bound: int) -> None:
    """Each late case listed in exactly one SMS to its agency's leader and one to the
    leadership, each level raised once; those SMS at the SMSC."""
    listed: Counter[tuple[str, str]] = Counter()
    messages = [row for row in seen.rows
                if row.kind in ("voice_breach", "voice_leadership")]
    for row in messages:
        for tracking in re.findall(r"\d{10}", row.body):
            listed[(row.recipient, tracking)] += 1
    not_told: list[str] = []
    told_twice: list[str] = []
    for i, tracking in enumerate(late.filed):
        for recipient in (LateCases.leader(i), LateCases.LEADERSHIP_MOBILE):
            n = listed[(recipient, tracking)]
            if n == 0:
                not_told.append(tracking)
            elif n > 1:
                told_twice.append(tracking)
    raised_twice = [key for key, n in seen.alarms.items() if n > 1]
    extra = seen.sms_extra(messages)
    add = report.add
    add("late cases filed", len(late.filed), ">0", len(late.filed) > 0)
    add("alarm levels raised twice", len(raised_twice), "0", not raised_twice)
    add("late cases not told to their leader and leadership", len(not_told), "0",
        not not_told)
    add("late cases told twice", len(told_twice), "0", not told_twice)
    add("late-case SMS submitted twice (extra copies)", extra, f"<= {sms_bound}",
        extra <= sms_bound)
    report.details.update({"late_not_told": not_told[:20], "late_told_twice": told_twice[:20],
                           "alarm_twice": raised_twice[:20]})


def http_rows(report: Report, inquiries: Inquiries, records: Records) -> None:
    """Every inquiry answered or refused cleanly; connection errors (a killed process)
    and 5xx while PostgreSQL was down counted apart."""
    counts = inquiries.counts
    add = report.add
    add("HTTP inquiries answered (2xx)", counts.ok, ">0", counts.ok > 0)
    add("HTTP inquiries refused cleanly (4xx, 503)", counts.refused, "", True)
    add("HTTP inquiries: connection errors (killed process)", counts.connection_errors, "",
        True)
    add("HTTP inquiries: 5xx while PostgreSQL was down", counts.server_errors_db_down, "",
        True)
    add("HTTP inquiries: 5xx otherwise", counts.server_errors, "0", counts.server_errors == 0)
    add("events: 5xx otherwise", records.counts.server_errors, "0",
        records.counts.server_errors == 0)
    report.details.update({"inquiry_statuses": dict(counts.statuses),
                           "event_statuses": dict(records.counts.statuses)})


def run(options: Options) -> Report:
    """Set the bed up, run it, count; everything it started is stopped at the end."""
    options.out.mkdir(parents=True, exist_ok=True)
    LOG_FILES[:] = [options.out / "cluster.log"]
    cluster = Cluster(options)
    try:
        report = cluster.run()
    except Exception as exc:
        report = Report(broken=[f"{exc!r}"])
        raise
    finally:
        cluster.close()
    (options.out / "cluster.json").write_text(json.dumps(
        {"rows": report.rows, "details": report.details, "broken": report.broken},
        ensure_ascii=False, indent=1, default=str))
    return report


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    try:
        report = run(options)
    except Exception as exc:
        print(f"the bed broke: {exc!r}", file=sys.stderr)
        return 2
    print()
    print(report.table())
    details = report.details
    print(f"\n{details.get('sms_bound', '')}")
    print(f"set up in {details.get('setup_seconds')} s, load stopped in "
          f"{details.get('load_stop_seconds')} s, drained in {details.get('drain_seconds')} s, "
          f"stopped in {details.get('stop_seconds')} s; {details.get('seconds')} s in all")
    print(f"details: {options.out / 'cluster.json'}; logs: {options.out / 'logs'}")
    if report.broken:
        return 2
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
