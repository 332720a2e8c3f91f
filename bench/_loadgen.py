"""Load generators: wrk with inquiry.lua, or a Python asyncio client when wrk is missing.

Both keep ``connections`` HTTP/1.1 keep-alive connections busy (a closed loop: each sends
its next request when the answer to the last one is in) and report the same figures:
requests/s, latency percentiles, and how the answers split into found / not found /
anything else. The asyncio client runs in its own process (``python _loadgen.py ...``)
so it never shares a GIL with the bench or a server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
LUA = HERE / "inquiry.lua"
PATH = "/api/v1/inquiries"


@dataclass
class Run:
    tool: str
    requests: int
    seconds: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    found: int
    not_found: int
    other: int  # 200 without a "found" field
    bad_status: int  # anything but 200
    socket_errors: int
    notes: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "rps": round(self.rps, 1)}


def wrk_path() -> str | None:
    return shutil.which("wrk")


def run(tool: str, port: int, bodies: Path, token: str, *, seconds: float, connections: int,
        threads: int, log_path: Path) -> Run:
    if tool == "wrk":
        return _run_wrk(port, bodies, token, seconds=seconds, connections=connections,
                        threads=threads, log_path=log_path)
    return _run_python(port, bodies, token, seconds=seconds, connections=connections,
                       log_path=log_path)


def _run_wrk(port: int, bodies: Path, token: str, *, seconds: float, connections: int,
             threads: int, log_path: Path) -> Run:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "--latency", "--timeout", "10s", "-s", str(LUA),
               f"http://127.0.0.1:{port}{PATH}", "--", str(bodies), token]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    log_path.write_text(done.stdout + done.stderr)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}); see {log_path}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    lat, errors = data["latency_us"], data["errors"]
    notes = [f"first bad statuses:{data['bad_statuses']}"] if data["bad"] else []
    return Run(
        tool="wrk", requests=data["requests"], seconds=data["duration_us"] / 1e6,
        p50_ms=lat["p50"] / 1000, p75_ms=lat["p75"] / 1000, p90_ms=lat["p90"] / 1000,
        p99_ms=lat["p99"] / 1000, max_ms=lat["max"] / 1000, found=data["found"],
        not_found=data["not_found"], other=data["other"], bad_status=data["bad"],
        socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        notes=notes,
    )


def _run_python(port: int, bodies: Path, token: str, *, seconds: float, connections: int,
                log_path: Path) -> Run:
    command = [sys.executable, str(Path(__file__)), "--port", str(port), "--bodies", str(bodies),
               "--token", token, "--seconds", str(seconds), "--connections", str(connections)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    log_path.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"the asyncio load generator failed; see {log_path}")
    return Run(**json.loads(done.stdout.strip().splitlines()[-1]))


# --- the asyncio client (runs in its own process) -------------------------------------


class _Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.found = self.not_found = self.other = self.bad = self.socket_errors = 0
        self.first_bad: list[str] = []


async def _connection(port: int, requests: list[bytes], start: int, stop_at: float,
                      tally: _Tally) -> None:
    reader = writer = None
    index = start
    while time.perf_counter() < stop_at:
        if writer is None:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                tally.socket_errors += 1
                await asyncio.sleep(0.05)
                continue
        payload = requests[index % len(requests)]
        index += 1
        sent = time.perf_counter()
        try:
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            status, length, close = _parse_head(head)
            body = await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            tally.socket_errors += 1
            writer.close()
            reader = writer = None
            continue
        tally.latencies.append(time.perf_counter() - sent)
        if status != 200:
            tally.bad += 1
            if len(tally.first_bad) < 3:
                tally.first_bad.append(str(status))
        elif b'"found":true' in body:
            tally.found += 1
        elif b'"found":false' in body:
            tally.not_found += 1
        else:
            tally.other += 1
        if close:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            close = True
    return status, length, close


async def _load(port: int, requests: list[bytes], seconds: float, connections: int) -> Run:
    tally = _Tally()
    started = time.perf_counter()
    stop_at = started + seconds
    step = max(1, len(requests) // connections)
    await asyncio.gather(*(_connection(port, requests, n * step, stop_at, tally)
                           for n in range(connections)))
    elapsed = time.perf_counter() - started
    lat = sorted(tally.latencies)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(len(lat) * p / 100))] * 1000 if lat else 0.0

    notes = [f"first bad statuses: {' '.join(tally.first_bad)}"] if tally.first_bad else []
    return Run(tool="python-asyncio", requests=len(lat), seconds=elapsed, p50_ms=pct(50),
               p75_ms=pct(75), p90_ms=pct(90), p99_ms=pct(99), max_ms=pct(100),
               found=tally.found, not_found=tally.not_found, other=tally.other,
               bad_status=tally.bad, socket_errors=tally.socket_errors, notes=notes)


def _requests(port: int, bodies: Path, token: str) -> list[bytes]:
    out = []
    for line in bodies.read_text(encoding="utf-8").splitlines():
        body = line.encode()
        out.append((f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    f"Content-Type: application/json\r\nAuthorization: Bearer {token}\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    return out


def _main() -> None:
    parser = argparse.ArgumentParser(description="asyncio keep-alive HTTP load generator")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bodies", type=Path, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    requests = _requests(args.port, args.bodies, args.token)
    result = asyncio.run(_load(args.port, requests, args.seconds, args.connections))
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    _main()
