"""Several gateway processes on one PostgreSQL, directly and through PgBouncer in
transaction mode: the outbox's claims give each notification to exactly one sender, and
the scheduler's scan lease has one holder at a time, taken over when its holder is killed
(SIGKILL): at once from the same machine, within the lease's time from another.

Each process is a real OS process (tests/core/scale_workers.py) with its settings in its
environment, as systemd would start it; "another machine" is a process in a pid namespace
of its own, which sees none of ours (the lease tests' unshare, tests/core/test_leases.py).
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from core.messaging import outbox
from core.messaging.models import Notification, NotificationStatus
from core.platform import leases
from core.platform.clock import utcnow
from core.transactions import overdue
from tests.core import scale_workers
from tests.core.test_leases import UNSHARE, unshare_pid  # noqa: F401 (a fixture)
from tests.processes import environment

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]
SCAN_LEASE = overdue.SCAN_LEASE
assert scale_workers.SCAN_LEASE == SCAN_LEASE


@dataclass
class Worker:
    """A scale_workers process and the JSON lines it has said so far."""

    process: subprocess.Popen
    lines: queue.Queue = field(default_factory=queue.Queue)
    said: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def next(self, timeout: float = 30) -> dict:
        """The next JSON line; fails with what the process wrote when it is not one."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"the worker ended: {self.transcript()}")
            if line.startswith("{"):
                said = json.loads(line)
                self.said.append(said)
                return said
            self.said.append({"text": line})

    def drain(self) -> list[dict]:
        """Everything said until now (the process has ended or been killed)."""
        while True:
            try:
                line = self.lines.get(timeout=5)
            except queue.Empty:
                return self.said
            if line is None:
                return self.said
            self.said.append(json.loads(line) if line.startswith("{") else {"text": line})

    def transcript(self) -> str:
        return "".join(str(item) + "\n" for item in self.said)


def start_workers(count: int, args: list[str], url: str, pooler: str, tmp_path: Path, *,
                  prefix: tuple[str, ...] = ()) -> list[Worker]:
    env = environment(url, tmp_path, GATEWAY__DATABASE__POOLER=pooler,
                      GATEWAY__DATABASE__POOL_SIZE="2")
    return [Worker(subprocess.Popen(
        [*prefix, sys.executable, "-m", "tests.core.scale_workers",
         *[a.format(i=i) for a in args]],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        for i in range(count)]


def stop_all(workers: list[Worker]) -> None:
    for worker in workers:
        if worker.process.poll() is None:
            worker.process.kill()
        worker.process.wait(timeout=30)
        worker.process.stdout.close()


@pytest.fixture(params=["primary", "pgbouncer"])
def connection(request, database_url) -> tuple[str, str]:
    """The URL the processes use and its ``database.pooler``: the test database itself,
    or PgBouncer in transaction mode before it."""
    if request.param == "primary":
        return database_url, "none"
    return request.getfixturevalue("pgbouncer_url"), "pgbouncer"


# --- the outbox ------------------------------------------------------------------------

NOTIFICATIONS = 1200
SENDERS = 3


def test_each_notification_is_claimed_and_sent_once_by_concurrent_processes(
        core, connection, tmp_path):
    url, pooler = connection
    with core.db.write.begin() as session:
        outbox.enqueue_many(session, [
            {"cause_key": f"scale:{n}", "kind": "test", "audience": "citizen",
             "recipient": f"+96655{n:07d}", "language": "ar", "body": f"message {n}"}
            for n in range(NOTIFICATIONS)])
    go = tmp_path / "go"
    workers = start_workers(SENDERS, ["claim", "sender{i}", str(go)], url, pooler, tmp_path)
    try:
        for worker in workers:
            assert "ready" in worker.next(), worker.transcript()
        go.touch()
        claimed = {f"sender{i}": worker.next(timeout=120)["claimed"]
                   for i, worker in enumerate(workers)}
        for worker in workers:
            assert worker.process.wait(timeout=30) == 0, worker.transcript()
    finally:
        stop_all(workers)

    every = Counter(n for ids in claimed.values() for n in ids)
    assert len(every) == NOTIFICATIONS and set(every.values()) == {1}
    # The claims really ran side by side (on a loaded machine one sender may be left out).
    assert sum(1 for ids in claimed.values() if ids) >= 2, \
        {name: len(ids) for name, ids in claimed.items()}
    with core.db.read() as session:
        rows = session.execute(select(Notification.id, Notification.status,
                                      Notification.attempts,
                                      Notification.provider_message_id)).all()
    sender_of = {n: name for name, ids in claimed.items() for n in ids}
    assert {(status, attempts) for _id, status, attempts, _sent_as in rows} == \
        {(NotificationStatus.SENT, 1)}
    assert all(sent_as == f"{sender_of[n]}-{n}" for n, _status, _attempts, sent_as in rows)


# --- the scheduler's scan lease --------------------------------------------------------

TTL = 3.0
HEARTBEAT = 0.1


def _holder_now(core, holders: dict[str, Worker], timeout: float = 30) -> str:
    """The worker holding the scan lease (a live lease, one of ``holders``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = leases.current(core.db).get(SCAN_LEASE)
        if view is not None and view.live() and view.holder in holders:
            return view.holder
        time.sleep(0.05)
    raise AssertionError("no worker took the scan lease: "
                         + " | ".join(w.transcript() for w in holders.values()))


def _takeover(core, holders: dict[str, Worker], dead: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = _holder_now(core, holders, timeout)
        if holder != dead:
            return holder
        time.sleep(0.02)
    raise AssertionError("the lease of the killed worker was not taken over")


def _run_and_kill_the_holder(core, url: str, pooler: str, tmp_path: Path,
                             prefix: tuple[str, ...] = ()) -> tuple[dict, str, float, str]:
    """Three schedulers contend for the scan lease; the holder is killed (SIGKILL) once
    it has held the lease a while. What each said, by holder; the killed one; when
    (seconds since the epoch); the one that took over."""
    go = tmp_path / "go"
    workers = start_workers(3, ["lease", str(go), str(TTL), str(HEARTBEAT)], url, pooler,
                            tmp_path, prefix=prefix)
    try:
        holders = {worker.next()["ready"]: worker for worker in workers}
        go.touch()
        first = _holder_now(core, holders)
        time.sleep(3 * HEARTBEAT)  # renewed a few times
        # Read before the signal: the holder is dead the moment it is sent, and a test
        # process descheduled after sending it would read the time too late.
        killed_at = utcnow().timestamp()
        holders[first].process.send_signal(signal.SIGKILL)
        holders[first].process.wait(timeout=30)
        second = _takeover(core, holders, first)
        time.sleep(3 * HEARTBEAT)
    finally:
        stop_all(workers)
    said = {holder: [item["held_at"] for item in worker.drain() if "held_at" in item]
            for holder, worker in holders.items()}
    return said, first, killed_at, second


def _one_holder_at_a_time(held: dict[str, list[float]], killed: str, killed_at: float) -> None:
    """Whenever the lease changes hands, the last holder's lease had run out (its last
    renewal plus the TTL), or that holder had been killed."""
    beats = sorted((at, holder) for holder, ats in held.items() for at in ats)
    last: dict[str, float] = {}
    for at, holder in beats:
        for other, other_at in last.items():
            if other != holder and at < other_at + TTL:
                assert other == killed and at >= killed_at, \
                    f"{holder} held the lease at {at} while {other}'s ran to {other_at + TTL}"
        last[holder] = at


def test_the_scan_lease_has_one_holder_and_a_killed_one_is_replaced_at_once(
        core, connection, tmp_path):
    url, pooler = connection
    held, killed, killed_at, second = _run_and_kill_the_holder(core, url, pooler, tmp_path)

    _one_holder_at_a_time(held, killed, killed_at)
    # Same machine, same pid namespace: the dead holder's pid is gone, its lease is free
    # at once (leases.reclaimable), well before it would expire.
    took_over = min(at for at in held[second] if at >= killed_at)
    assert took_over - killed_at < TTL / 2, took_over - killed_at


@pytest.mark.usefixtures("unshare_pid")
def test_a_killed_holder_on_another_machine_is_replaced_within_the_lease_time(
        core, pgbouncer_url, tmp_path):
    # Each scheduler in a pid namespace of its own sees none of the others' processes,
    # as on separate machines: the killed one's lease is taken when it expires.
    held, killed, killed_at, second = _run_and_kill_the_holder(
        core, pgbouncer_url, "pgbouncer", tmp_path, prefix=(*UNSHARE, "--kill-child"))

    _one_holder_at_a_time(held, killed, killed_at)
    expired = max(held[killed]) + TTL
    took_over = min(at for at in held[second] if at >= killed_at)
    assert expired <= took_over < expired + 1.0, (expired, took_over)
