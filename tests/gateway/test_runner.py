"""The runner every long-running command uses: start in order, stop on SIGTERM or Ctrl-C
in the reverse order, each part within its time, and the exit status says how it went."""

from __future__ import annotations

import gc
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from types import SimpleNamespace

import pytest

from gateway import components
from gateway.components import WebServer
from gateway.runner import Part, Runner, frozen_heap
from tests.test_architecture import REPO


class Recorder:
    """Components that write what happens to them in one list, in order."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def part(self, name: str, **kwargs) -> Part:
        def start() -> None:
            self.events.append(f"start {name}")

        def stop() -> None:
            self.events.append(f"stop {name}")

        return Part(name, **{"start": start, "stop": stop, **kwargs})


def signal_soon(signum: signal.Signals = signal.SIGTERM, after: float = 0.1) -> None:
    """As systemd or Ctrl-C would: the signal to this process, once the runner waits."""
    threading.Timer(after, os.kill, (os.getpid(), signum)).start()


def runner(parts: list[Part]) -> Runner:
    return Runner(parts, check_every=0.05)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_parts_in_the_reverse_order_and_exits_zero(signum, caplog):
    recorder = Recorder()
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    signal_soon(signum)

    with caplog.at_level(logging.INFO, logger="gateway"):
        status = runner([recorder.part(name) for name in ("core", "sms", "web")]).run()

    assert status == 0
    assert recorder.events == ["start core", "start sms", "start web",
                               "stop web", "stop sms", "stop core"]
    assert caplog.records[-1].name == "gateway"
    assert caplog.records[-1].getMessage() == "stopped"
    # The handlers are the runner's only while it runs.
    assert {s: signal.getsignal(s) for s in before} == before


def test_a_part_that_ends_on_its_own_stops_the_run():
    recorder = Recorder()
    alive = threading.Event()
    alive.set()
    threading.Timer(0.1, alive.clear).start()

    status = runner([recorder.part("core"),
                     recorder.part("email", health=alive.is_set)]).run()

    assert status == 0
    assert recorder.events == ["start core", "start email", "stop email", "stop core"]


def test_a_part_that_fails_to_stop_does_not_keep_the_others_running(caplog):
    recorder = Recorder()

    def broken() -> None:
        recorder.events.append("stop scheduler")
        raise RuntimeError("the lease could not be released")

    signal_soon()
    with caplog.at_level(logging.INFO, logger="gateway"):
        status = runner([recorder.part("core"), recorder.part("scheduler", stop=broken),
                         recorder.part("web")]).run()

    assert status == 1
    assert recorder.events[-3:] == ["stop web", "stop scheduler", "stop core"]
    assert "scheduler stopped with an error" in caplog.text
    assert "the lease could not be released" in caplog.text
    assert "stopped" not in [r.getMessage() for r in caplog.records]


def test_a_part_that_overruns_its_stop_time_is_left_and_the_rest_stop(caplog):
    recorder = Recorder()
    release = threading.Event()

    def stuck() -> None:
        recorder.events.append("stop sms")
        release.wait(10)

    signal_soon()
    began = time.monotonic()
    try:
        with caplog.at_level(logging.INFO, logger="gateway"):
            status = runner([recorder.part("core"),
                             recorder.part("sms", stop=stuck, stop_timeout=0.3)]).run()
    finally:
        release.set()

    assert status == 1
    assert time.monotonic() - began < 5
    assert recorder.events[-2:] == ["stop sms", "stop core"]
    assert "sms did not stop within 0 s" in caplog.text


def test_a_part_that_fails_to_start_stops_those_started_and_its_error_goes_on():
    recorder = Recorder()

    def refused() -> None:
        raise ConnectionRefusedError("the SMSC is not there")

    with pytest.raises(ConnectionRefusedError):
        runner([recorder.part("core"), recorder.part("email"),
                recorder.part("sms", start=refused), recorder.part("web")]).run()

    assert recorder.events == ["start core", "start email", "stop email", "stop core"]


def test_a_second_signal_while_stopping_does_not_cut_the_stop_short():
    recorder = Recorder()

    def slow() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)
        recorder.events.append("stop sms")

    signal_soon()
    status = runner([recorder.part("core"), recorder.part("sms", stop=slow)]).run()

    assert status == 0
    assert recorder.events[-2:] == ["stop sms", "stop core"]


def test_ready_once_every_part_started_is_ready():
    bound = threading.Event()
    run = runner([Part("core"), Part("sms", ready=bound.is_set)])
    seen: list[bool] = []

    def look() -> None:
        seen.append(run.ready())
        bound.set()
        seen.append(run.ready())
        run.request_stop()

    assert not run.ready()
    threading.Timer(0.1, look).start()
    assert run.run() == 0
    assert seen == [False, True]


# --- the web server: waitress in its own thread, closed from that thread --------------


def test_the_web_server_answers_a_request_in_progress_then_closes(caplog):
    finished = threading.Event()

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            time.sleep(0.5)
            finished.set()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    settings = SimpleNamespace(gateway=SimpleNamespace(host="127.0.0.1", port=0, threads=2,
                                                       trusted_proxies=0))
    web = WebServer(app, settings)
    url = f"http://127.0.0.1:{web.server.effective_port}"
    web.start()
    with urllib.request.urlopen(f"{url}/", timeout=5) as response:
        assert response.read() == b"ok"
    assert web.ready() and web.health()
    answers: list[bytes] = []
    slow = threading.Thread(target=lambda: answers.append(_get(f"{url}/slow")), daemon=True)
    slow.start()
    time.sleep(0.1)

    with caplog.at_level(logging.WARNING):
        web.stop()

    assert finished.is_set()
    slow.join(5)
    assert answers == [b"ok"]  # its answer was sent before the connection closed
    assert not web.health()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/", timeout=2)
    assert "Bad file descriptor" not in caplog.text


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


def test_a_web_loop_that_breaks_ends_the_run_with_exit_status_one(monkeypatch, caplog):
    def broken(*_args) -> None:
        raise MemoryError("no room for the select")

    web = WebServer(lambda environ, start_response: [], SimpleNamespace(
        gateway=SimpleNamespace(host="127.0.0.1", port=0, threads=1, trusted_proxies=0)))
    monkeypatch.setattr(components, "poll_once", broken)

    with caplog.at_level(logging.INFO, logger="gateway"):
        status = runner([Part("core"), web]).run()

    assert status == 1
    assert "web stopped with an error" in caplog.text
    assert "no room for the select" in caplog.text


class Connection:
    """A waitress connection as the loop sees it: an answer not all sent, a request in
    service, the output buffer's lock (held while a request thread writes)."""

    accepting = False

    def __init__(self) -> None:
        self.requests = ["a request in service"]
        self.outbuf_lock = threading.Condition()
        self.writes = 0

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def handle_write_event(self) -> None:
        self.writes += 1


def test_the_loop_leaves_an_answer_alone_while_its_request_thread_writes_it():
    import socket

    ours, theirs = socket.socketpair()  # ours may be written at once
    connection = Connection()
    try:
        with connection.outbuf_lock:  # as a request thread in write_soon holds it
            held = threading.Thread(target=components.poll_once,
                                    args=(1.0, {ours.fileno(): connection}))
            held.start()
            held.join(0.5)  # not waiting for the whole timeout: it looks again soon
            assert not held.is_alive()
            assert connection.writes == 0
        components.poll_once(1.0, {ours.fileno(): connection})
        assert connection.writes == 1  # free again: the loop sends what is left
        connection.requests = []
        with connection.outbuf_lock:  # no request in service: as waitress always did
            components.poll_once(1.0, {ours.fileno(): connection})
        assert connection.writes == 2
    finally:
        ours.close()
        theirs.close()


def test_a_big_answer_to_a_slow_reader_arrives_whole():
    chunk = bytes(range(256)) * 4096  # 1 MiB; 8 of them: more than the sockets buffer

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(8 * len(chunk)))])
        return iter([chunk] * 8)

    settings = SimpleNamespace(gateway=SimpleNamespace(host="127.0.0.1", port=0, threads=2,
                                                       trusted_proxies=0))
    web = WebServer(app, settings)
    web.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{web.server.effective_port}/",
                                    timeout=10) as response:
            received = bytearray()
            while piece := response.read(256 * 1024):
                received += piece
                time.sleep(0.01)
        assert received == chunk * 8
    finally:
        web.stop()


def _raw_exchange(port: int, request: bytes) -> bytes:
    """The server's whole answer to ``request`` (the connection closed after it)."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_a_small_answer_goes_in_one_write_and_others_as_waitress_writes_them(monkeypatch):
    from gateway.waitress_channel import OneSendChannel

    writes: list[bytes] = []
    write_soon = OneSendChannel.write_soon

    def recording(channel, data):
        if isinstance(data, bytes) and data:
            writes.append(data)
        return write_soon(channel, data)

    monkeypatch.setattr(OneSendChannel, "write_soon", recording)
    big = b"b" * (70 * 1024)

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/small":
            start_response("200 OK", [("Content-Length", "5")])
            return [b"hello"]
        if path == "/chunked":  # no Content-Length: chunked, as waitress does
            start_response("200 OK", [])
            return iter([b"one", b"two"])
        if path == "/too-long":  # more bytes than Content-Length: cut, as waitress does
            start_response("200 OK", [("Content-Length", "3")])
            return iter([b"abcdef"])
        start_response("200 OK", [("Content-Length", str(len(big)))])
        return [big]

    settings = SimpleNamespace(gateway=SimpleNamespace(host="127.0.0.1", port=0, threads=1,
                                                       trusted_proxies=0))
    web = WebServer(app, settings)
    port = web.server.effective_port
    web.start()
    try:
        def ask(path: str) -> bytes:
            writes.clear()
            return _raw_exchange(port, f"GET {path} HTTP/1.1\r\nHost: x\r\n"
                                       "Connection: close\r\n\r\n".encode())

        answer = ask("/small")
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\nhello")
        assert writes == [answer]  # head and body in one write
        answer = ask("/chunked")
        assert answer.endswith(b"\r\n\r\n3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n")
        assert len(writes) == 4  # head, each chunk, the last chunk
        answer = ask("/too-long")
        assert answer.endswith(b"\r\n\r\nabc")
        answer = ask("/big")
        assert answer.endswith(b"\r\n\r\n" + big)
        assert writes[1] == big  # too big to copy: after its head, as waitress sends it
    finally:
        web.stop()


# Run in a process of its own: for each line the main thread runs while the runner waits,
# a SIGTERM to itself right there, then the run must end. A handler that takes a lock the
# main thread holds at that line (threading.Event.set inside Event.wait did) hangs it.
_SIGNAL_AT_EVERY_LINE = """
import os, signal, sys
from gateway.runner import Part, Runner

at, lines, waiting = 0, 0, False

def trace(frame, event, _arg):
    global lines, waiting
    waiting = waiting or frame.f_code is Runner._wait.__code__
    if event == "line" and waiting:
        lines += 1
        if lines == at:
            os.kill(os.getpid(), signal.SIGTERM)
    return trace

for at in range(1, int(sys.argv[1]) + 1):
    lines, waiting = 0, False
    runner = Runner([Part("part")], check_every=0.001)
    sys.settrace(trace)
    status = runner.run()
    sys.settrace(None)
    assert status == 0, (at, status)
    print(at, flush=True)
"""


def test_a_signal_landing_at_any_line_of_the_wait_stops_the_run(tmp_path):
    script = tmp_path / "signal_at_every_line.py"
    script.write_text(_SIGNAL_AT_EVERY_LINE)
    # 120 lines: several of the wait's rounds (the old Event-based wait hung at its 4th).
    process = subprocess.Popen([sys.executable, str(script), "120"], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        lines = output.split()
        pytest.fail(f"the run did not stop for a SIGTERM at line {len(lines) + 1} of its "
                    "wait: a deadlocked signal handler")
    assert process.returncode == 0, output
    assert output.split()[-1] == "120"


def test_the_frozen_heap_keeps_what_start_up_made_from_the_collector_until_it_stops():
    made_at_start_up = [[]]  # a container, tracked by the collector
    part = frozen_heap()

    part.start()
    try:
        assert gc.get_freeze_count() > 0
        assert not any(o is made_at_start_up for o in gc.get_objects())
    finally:
        part.stop()

    assert gc.get_freeze_count() == 0
    assert any(o is made_at_start_up for o in gc.get_objects())
