"""The web tier on every core (``gateway.webtier``), through the real commands on a socket:
several worker processes serve one port, a killed one is replaced, SIGTERM lets a request
in flight finish, and what the workers share (metrics, the proxies' word) holds in each."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from core.access.tokens import create_token
from tests import factories as f
from tests import processes

NUMBER = "4471234"
MONITOR = "10.0.0.5"  # the operator's network here; the loopback peer plays the proxy

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="finds the workers under /proc")


@dataclass
class Tier:
    """A running ``gateway web`` or ``gateway run``: the supervisor and its port."""

    process: subprocess.Popen
    port: int
    tmp_path: Path

    def workers(self) -> dict[str, int]:
        """The supervisor's workers now: {"web 1": pid, "background": pid}."""
        return workers_of(self.process.pid)

    def metrics_dir(self) -> Path:
        [run_dir] = self.tmp_path.glob("gateway-run-*")
        return run_dir / "metrics"

    def inquiries_by_pid(self) -> dict[int, float]:
        """Each process's own count of inquiries, from its multiprocess file."""
        counts = {}
        for path in self.metrics_dir().glob("counter_*.db"):
            counts[int(path.stem.split("_")[1])] = sum(
                value for key, value, *_ in MmapedDict.read_all_values_from_file(str(path))
                if json.loads(key)[1] == "gateway_inquiries_total")
        return counts

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextmanager
def tier(command: str, database_url: str, tmp_path: Path, *, workers: int = 2,
         **more: str) -> Iterator[Tier]:
    """``gateway <command>`` with ``workers`` web workers, serving; stopped after (the
    output and exit status checked by the test, from ``stopped``)."""
    port = processes.free_port()
    # TMPDIR: the run directory (the metrics files) under the test's own folder.
    env = processes.environment(database_url, tmp_path, GATEWAY__GATEWAY__PORT=str(port),
                                GATEWAY__GATEWAY__WORKERS=str(workers), TMPDIR=str(tmp_path),
                                **more)
    process = processes.start(command, env)
    try:
        processes.wait_until_serving(process, port, timeout=60)
        yield Tier(process, port, tmp_path)
    finally:
        if process.poll() is None:
            processes.stop(process, timeout=60)


def stopped(served: Tier, how: signal.Signals = signal.SIGTERM) -> str:
    return processes.stop(served.process, how, timeout=60)


def workers_of(supervisor: int) -> dict[str, int]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # ended meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) != supervisor or fields[0] in "ZX" or b"gateway.worker" not in argv:
            continue
        role, number = (a.decode() for a in argv[argv.index(b"gateway.worker") + 1:][:2])
        found[f"web {number}" if role == "web" else role] = int(entry.name)
    return found


def running(pid: int) -> bool:
    """Whether a thread of the process still runs: a killed process's first thread is a
    zombie while its other threads still exit, and its descriptors (the connections it
    took) close only when the last one has."""
    try:
        threads = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for thread in threads:
        try:
            state = (thread / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # ended meanwhile
            continue
        if state not in "ZX":
            return True
    return False


def wait_for(condition, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
    return result


def inquire(served: Tier, token: str) -> dict:
    """One inquiry on a connection of its own (any worker may take it)."""
    request = urllib.request.Request(
        served.url("/api/v1/inquiries"), method="POST",
        data=json.dumps({"number": NUMBER, "national_id": f.NATIONAL_ID}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}",
                 "Connection": "close"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


def healthy(served: Tier) -> bool:
    """/healthz answered on a connection of its own (the database answers)."""
    request = urllib.request.Request(served.url("/healthz"), headers={"Connection": "close"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status == 200 and "database" in json.loads(response.read()).get(
            "components", {})


@pytest.fixture
def kiosk_token(core) -> str:
    core.upsert_department("RIGHTS", f.department())
    core.record_event(f.registered(NUMBER, "2026-11-23T09:15:00+03:00"))
    return create_token(core.db.write, "kiosk", "test-kiosk")


def test_every_worker_serves_and_metrics_sum_their_counts(database_url, tmp_path, core,
                                                          kiosk_token):
    with tier("run", database_url, tmp_path, GATEWAY__GATEWAY__TRUSTED_PROXIES="1",
              GATEWAY__GATEWAY__METRICS_NETWORKS='["10.0.0.0/8"]') as served:
        workers = served.workers()
        assert sorted(workers) == ["background", "web 1", "web 2"]
        web = {workers["web 1"], workers["web 2"]}
        asked = 0
        with ThreadPoolExecutor(4) as pool:
            # New connections until each web worker has answered some: the kernel hands
            # each to whichever worker accepts first.
            while not web <= {pid for pid, n in served.inquiries_by_pid().items() if n}:
                assert asked < 2000, served.inquiries_by_pid()
                answers = list(pool.map(lambda _: inquire(served, kiosk_token), range(20)))
                assert all(answer["found"] for answer in answers)
                asked += len(answers)

        forwarded = {"X-Forwarded-For": MONITOR}
        scrape = urllib.request.Request(served.url("/metrics"), headers=forwarded)
        with urllib.request.urlopen(scrape, timeout=30) as response:
            text = response.read().decode()
        direct = urllib.request.Request(served.url("/metrics"))
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(direct, timeout=30)
        by_pid = served.inquiries_by_pid()
        output = stopped(served)

    assert served.process.returncode == 0, output
    # One scrape sums every worker's counts, whichever worker answered it.
    summed = sum(s.value for family in text_string_to_metric_families(text)
                 for s in family.samples if s.name == "gateway_inquiries_total")
    assert summed == asked == sum(by_pid.values())
    assert all(by_pid[pid] for pid in web)
    # The proxies' word, believed in the worker: the monitor's address passes, the proxy's
    # own (the loopback peer) is outside the operator's network.
    assert refused.value.code == 403
    # The channels and the scheduler run once, in the background worker.
    assert output.count("scheduler started") == 1
    assert "[background] gateway.scheduler: scheduler started" in output


def test_a_killed_worker_is_replaced_and_a_killed_supervisor_leaves_none_behind(
        database_url, tmp_path, core, kiosk_token):
    with tier("web", database_url, tmp_path) as served:
        first = wait_for(lambda: len(w := served.workers()) == 2 and w, "two web workers")
        # Both serve before one is killed: a worker that ends before it ever served ends
        # the whole start (a broken install fails at once, exit status 1), and the
        # supervisor's socket closes with the connections waiting on it. On a loaded
        # machine the first answers come from one worker while the other still starts.
        # Served means counted: a worker's metrics file is there, at 0, before it serves.
        wait_for(lambda: inquire(served, kiosk_token) and all(
            served.inquiries_by_pid().get(pid) for pid in first.values()),
            "both web workers serving", timeout=90)

        os.kill(first["web 1"], signal.SIGKILL)
        # Once it is gone, the other worker answers everything meanwhile: nothing waits
        # for the dead one.
        wait_for(lambda: not running(first["web 1"]), "web 1 outlived SIGKILL")
        assert all(healthy(served) for _ in range(20))
        replaced = wait_for(lambda: (w := served.workers()).get("web 1") not in (
            None, first["web 1"]) and w, "web 1 was not replaced")
        # With the second original gone too, only the replacement is left to answer.
        os.kill(first["web 2"], signal.SIGKILL)
        wait_for(lambda: not running(first["web 2"]), "web 2 outlived SIGKILL")
        assert all(healthy(served) for _ in range(20))
        assert running(replaced["web 1"])

        left = set(wait_for(lambda: len(w := served.workers()) == 2 and w,
                            "web 2 was not replaced").values())
        os.kill(served.process.pid, signal.SIGKILL)
        output = stopped(served)

    pid = first["web 1"]
    assert f"the web worker 1 (pid {pid}) ended (killed by SIGKILL); starting another" \
        in output, output
    # Orphaned, each worker stops by itself (its supervisor's pipe closed): no process is
    # left holding the port.
    wait_for(lambda: not any(running(pid) for pid in left), "a worker outlived its supervisor")
    with pytest.raises(OSError):
        urllib.request.urlopen(served.url("/healthz"), timeout=2)


def test_sigterm_answers_the_request_in_flight_then_exits_zero(database_url, tmp_path, core,
                                                               kiosk_token):
    body = json.dumps({"number": NUMBER, "national_id": f.NATIONAL_ID}).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {kiosk_token}",
               "Content-Length": str(len(body))}
    with tier("web", database_url, tmp_path) as served:
        conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
        # A first answer on this connection: a worker holds it (it is not in the backlog).
        conn.request("POST", "/api/v1/inquiries", body, headers)
        assert conn.getresponse().read()
        # The second request is half sent when the stop comes.
        conn.putrequest("POST", "/api/v1/inquiries")
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        conn.send(body[:10])
        time.sleep(0.3)
        served.process.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        conn.send(body[10:])
        response = conn.getresponse()
        answer = json.loads(response.read())
        output = stopped(served)

    assert response.status == 200 and answer["found"], answer
    assert served.process.returncode == 0, output
    assert output.rstrip().endswith("INFO gateway: stopped"), output
    assert "Traceback" not in output


# --- the supervisor's rules, on stand-in workers (a few lines of Python each) ------------

STAND_IN = '''
import json, os, sys, time
orders = json.loads(sys.stdin.readline())
{body}
'''


@pytest.fixture
def worker_program(tmp_path, monkeypatch):
    """``worker_program(source)``: the supervisor starts this Python program as each
    worker (the real one changed where the test says, or a stand-in)."""
    from gateway import webtier

    def use(source: str) -> None:
        program = tmp_path / "changed_worker.py"
        program.write_text(source)
        monkeypatch.setattr(webtier, "WORKER_PROGRAM", (sys.executable, str(program)))

    return use


@pytest.fixture
def stand_in(worker_program, monkeypatch):
    """``stand_in(body)``: the supervisor starts this program as each worker, its orders
    read into ``orders`` first (``ready_fd``, ``run_dir``...)."""
    from gateway import webtier

    monkeypatch.setattr(webtier, "RETRY_AFTER", 0.01)
    return lambda body: worker_program(STAND_IN.format(body=body))


@contextmanager
def supervised(settings, workers: int = 1, **options) -> Iterator:
    import socket

    from gateway.webtier import Workers, run_directory

    with socket.socket() as sock, run_directory() as run_dir:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield Workers(settings, [sock], run_dir, web=workers, background=False, **options)


def test_a_worker_that_ends_before_it_serves_fails_the_start_in_one_line(settings,
                                                                        stand_in):
    from gateway.runner import Runner, StartFailed

    stand_in("sys.exit(3)")

    with supervised(settings, workers=2) as workers, pytest.raises(StartFailed) as failed:
        Runner([workers], check_every=0.05).run()

    assert re.fullmatch(r"the web worker [12] ended before it served \(exit status 3\); "
                        "the lines above say why", str(failed.value))


def test_a_worker_that_keeps_dying_before_it_serves_ends_the_run_with_status_one(
        settings, stand_in, caplog):
    from gateway.runner import Runner

    # Serves once, then dies; every one started after it dies before it serves.
    stand_in('''
marker = os.path.join(orders["run_dir"], "served")
if os.path.exists(marker):
    sys.exit(3)
open(marker, "w").close()
os.write(orders["ready_fd"], b"1")
time.sleep(0.2)
''')

    began = time.monotonic()
    with supervised(settings) as workers:
        status = Runner([workers], check_every=0.05).run()

    assert status == 1
    assert time.monotonic() - began < 30
    assert "the web worker 1 ended before it served 5 times in a row (exit status 3)" \
        in caplog.text


# The real worker, its word to the supervisor that it serves two seconds late: any slow
# moment between its web part's start and that word, made long.
SLOW_TO_SAY_READY = '''
import time

from gateway import worker

say_ready = worker._tell_ready


def slowly(fd):
    time.sleep(2.0)
    say_ready(fd)


worker._tell_ready = slowly
worker.main()
'''


def answered(port: int) -> int:
    """The status of /healthz, on a connection of its own."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", "/healthz", headers={"Connection": "close"})
        return conn.getresponse().status
    finally:
        conn.close()


def test_a_worker_killed_after_it_answered_is_replaced_even_while_the_start_waits(
        settings, worker_program, caplog):

    worker_program(SLOW_TO_SAY_READY)

    with supervised(settings) as workers, ThreadPoolExecutor(1) as starting:
        start = starting.submit(workers.start)
        port = workers.sockets[0].getsockname()[1]
        assert answered(port) == 200
        killed = workers.pids()["web worker 1"]
        os.kill(killed, signal.SIGKILL)
        # A worker that answered has told the supervisor it serves: its death is not
        # "ended before it served", which would end the start (StartFailed here) and
        # close the socket, resetting the connections waiting on it.
        start.result(timeout=120)
        # The next connection waits for the replacement, which answers it.
        assert answered(port) == 200
        assert workers.pids()["web worker 1"] != killed
        workers.stop()

    assert f"the web worker 1 (pid {killed}) ended (killed by SIGKILL); starting another" \
        in caplog.text


# The real worker, its interpreter slow to start (a loaded machine, a cold disk).
SLOW_TO_START = '''
import time

time.sleep(1.5)
from gateway import worker

worker.main()
'''


def test_a_stop_while_a_replacement_still_starts_waits_for_it_and_is_clean(
        settings, worker_program):

    worker_program(SLOW_TO_START)

    with supervised(settings) as workers:
        workers.start()
        killed = workers.pids()["web worker 1"]
        os.kill(killed, signal.SIGKILL)
        wait_for(lambda: workers.pids()["web worker 1"] != killed, "not replaced")
        # SIGTERM while the replacement has not yet set its handlers: kept until it has
        # (else it would die of it, and the stop would be unclean: RuntimeError here).
        workers.stop()

    assert workers.web[0].process.returncode == 0


# The real worker, which serves but never tells the supervisor so (a start that hangs).
NEVER_SAYS_READY = '''
from gateway import worker

worker._tell_ready = lambda fd: None
worker.main()
'''


def test_a_stop_during_a_start_that_hangs_ends_the_run_cleanly_at_once(
        settings, worker_program):
    from gateway import webtier
    from gateway.runner import Runner

    worker_program(NEVER_SAYS_READY)

    with supervised(settings, stop_requested=lambda: runner.stopping()) as workers:
        runner = Runner([workers], check_every=0.05)
        # As systemd's stop would: the signal once the worker is up (it answers) while
        # the supervisor still waits for its word.
        port = workers.sockets[0].getsockname()[1]
        threading.Thread(target=lambda: (answered(port), os.kill(os.getpid(),
                                                                 signal.SIGTERM))).start()
        began = time.monotonic()
        status = runner.run()

    # Not after webtier.START_SECONDS (120 s): the wait for its word ends with the stop.
    assert time.monotonic() - began < webtier.START_SECONDS / 4
    assert status == 0
    assert workers.web[0].process.returncode == 0
