"""HTTP inquiry benchmark: the gateway's POST /api/v1/inquiries against a bare Flask app
deployed the usual way.

    .venv/bin/python bench/inquiry_http.py [--transactions N] [--seconds S]
                                           [--connections C[,C...]] [--workers W]
                                           [--mix M] [--keep] [--profile]

1. A fresh SQLite database in a temp dir (or ``--database-url``, emptied), migrated with
   ``core.migrate.upgrade`` and bulk-loaded with N transactions (1-3 timeline rows each).
2. The gateway as its operators run it: ``gateway web`` (a supervisor and one waitress
   worker per core, ``gateway.workers``), with a kiosk token.
3. The baseline: a bare Flask app, one indexed lookup per request, under gunicorn with
   one sync worker per core (``gunicorn -w $(nproc)``).
4. Both run at once, idle but for the one measured. For each connection count (default
   32; ``--connections 1,32,256`` sweeps), wrk (or an asyncio client when wrk is missing)
   keeps C connections busy with inquiries, first on the baseline, then on the gateway:
   ~90 % found, ~10 % not found (``--mix found``: all found; ``--mix failed``: all
   failing, each failure counted). Warm-up, then ``--seconds`` measured.
5. A table: requests/s, p50, p99 per connection count; at 32 connections the
   gateway/baseline ratio and the gateway's p99 against the targets; across the sweep,
   whether the gateway's throughput falls as connections rise.

Answers are checked too: a sample one by one before the load, and every answer under load
is counted (non-200s and an unexpected found/not-found split are failures, not speed).
Figures below target are reported as MISS; the exit status is non-zero only when
something broke. Results and logs go to bench/out/.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The checkout this script is in, not whatever the venv's editable install points at (the
# loader would migrate the database to another worktree's schema).
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

import _dataset  # noqa: E402
import _loadgen  # noqa: E402
import _profile  # noqa: E402

OUT = HERE / "out"
TARGET_RATIO = 0.70
TARGET_P99_MS = 50.0
# The targets hold at this many connections (issue 19).
TARGET_CONNECTIONS = 32
# Past saturation, a step up in connections may cost at most this share of throughput.
SWEEP_FLOOR = 0.90
SAMPLE_CHECKS = 300
MIX_SIZE = 100_000
MANIFEST = "bench.json"
# Cores other processes may use during a run before the figures are flagged.
BUSY_MACHINE = 0.25
_ELSE_NOTE = " (the database server's processes count here)"


class BenchError(Exception):
    """Something broke: the figures would mean nothing."""


@dataclass
class Server:
    kind: str
    process: subprocess.Popen
    port: int
    workers: int
    threads: int

    def cpu_seconds(self) -> float:
        """User + system CPU time so far of the server's processes: the top one and every
        descendant now running (its workers), and the children it has reaped."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in _descendants(self.process.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            total += int(fields[11]) + int(fields[12])
            if pid == self.process.pid:
                total += int(fields[13]) + int(fields[14])
        return total / tick

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _descendants(root: int) -> list[int]:
    """``root`` and every process under it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def main() -> int:
    args = _arguments()
    OUT.mkdir(exist_ok=True)
    tool = _pick_load_generator(args.loadgen)
    _print_machine(tool)
    if args.reuse:
        workdir, manifest = args.reuse, json.loads((args.reuse / MANIFEST).read_text())
        url, key = manifest["url"], manifest["national_id_key"]
        args.transactions = manifest["transactions"]
    else:
        workdir = Path(tempfile.mkdtemp(prefix="inquiry-bench-"))
        url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
        key = secrets.token_urlsafe(32)
    servers: list[Server] = []
    try:
        if args.reuse:
            print(f"\n== reusing {args.transactions:,} transactions in {url.split('@')[-1]}")
            loaded = _dataset.Loaded(args.transactions, manifest["events"], 0.0)
            print(f"   emptied the failure counters and the inquiry log "
                  f"({_dataset.forget_inquiries(url):,} rows)")
        else:
            print(f"\n== loading {args.transactions:,} transactions into "
                  f"{url.split('@')[-1]}")
            loaded = _dataset.prepare(url, args.transactions, key.encode())
            print(f"   load: {loaded.transactions:,} transactions + {loaded.events:,} events "
                  f"in {loaded.seconds:.1f} s "
                  f"({loaded.transactions / loaded.seconds:,.0f} txn/s)")
            (workdir / MANIFEST).write_text(json.dumps({
                "url": url, "national_id_key": key, "transactions": loaded.transactions,
                "events": loaded.events}))
        if url.startswith("sqlite"):
            size = Path(url.removeprefix("sqlite:///")).stat().st_size
            print(f"   database file: {size / 2**20:,.0f} MiB")
        mix = _dataset.probes(args.transactions, MIX_SIZE, seed=args.seed, mix=args.mix)
        bodies = workdir / "bodies.jsonl"
        _dataset.write_bodies(bodies, mix)
        token = _kiosk_token(url)
        for kind in ("baseline", "gateway"):
            print(f"\n== {kind}")
            server = _start(kind, url, key, workdir, args.workers)
            servers.append(server)
            print(f"   listening on 127.0.0.1:{server.port}, {server.workers} workers x "
                  f"{server.threads} threads, pid {server.process.pid}")
            _check_sample(server, token, mix[:SAMPLE_CHECKS])
            print(f"   sample check: {SAMPLE_CHECKS} answers as expected")
        results: dict[int, dict[str, dict]] = {}
        for connections in args.connections:
            results[connections] = {}
            for server in servers:
                print(f"\n== {server.kind}, {connections} connections")
                results[connections][server.kind] = _measure(
                    server, tool, bodies, token, mix, args, connections)
        if args.profile:
            _profile_gateway(servers[1], tool, bodies, token, args, args.connections[0])
        for server in servers:
            server.stop()
        _report(results, args, loaded, tool)
    except BenchError as exc:
        print(f"\nBENCH BROKEN: {exc}", file=sys.stderr)
        return 1
    finally:
        for server in servers:
            server.stop()
        if args.keep or args.reuse:
            print(f"\nkept {workdir} (database, request bodies); rerun on it with "
                  f"--reuse {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=1_000_000,
                        help="transactions to load (default: 1,000,000)")
    parser.add_argument("--seconds", type=float, default=15.0,
                        help="measured seconds per server (default: 15)")
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="warm-up seconds per server, not measured (default: 3)")
    parser.add_argument("--connections", "--concurrency", type=_counts, default=[32],
                        help="keep-alive connections, or several to sweep: 1,32,256 "
                             "(default: 32)")
    parser.add_argument("--workers", type=int, default=0,
                        help="worker processes of each server (default 0: one per core)")
    parser.add_argument("--database-url",
                        help="a throwaway PostgreSQL database instead of a temp SQLite file; "
                             "ALL ITS TABLES ARE DROPPED")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator (default: wrk when installed)")
    parser.add_argument("--profile", action="store_true",
                        help="after the measured run, sample the gateway with py-spy under "
                             "the same load (bench/out/pyspy-gateway-*.txt)")
    parser.add_argument("--reuse", type=Path, metavar="DIR",
                        help="skip the load: reuse the database a --keep run left in DIR")
    parser.add_argument("--seed", type=int, default=74747, help="request mix seed")
    parser.add_argument("--mix", choices=sorted(_dataset.MIXES), default="usual",
                        help="usual: ~90 %% found (default); found: all found; failed: all "
                             "failing (a flood of guesses)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temp dir (database, request bodies)")
    args = parser.parse_args()
    if args.seconds <= 0 or min(args.connections) < 1 or args.workers < 0:
        parser.error("--seconds and --connections must be positive, --workers not negative")
    if args.reuse and not (args.reuse / MANIFEST).exists():
        parser.error(f"--reuse: {args.reuse / MANIFEST} is missing (made by a --keep run)")
    return args


def _counts(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list such as 1,32,256") from None


def _pick_load_generator(choice: str) -> str:
    has_wrk = _loadgen.wrk_path() is not None
    if choice == "wrk" and not has_wrk:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (Debian/Ubuntu)")
    if choice == "auto" and not has_wrk:
        print("NOTE: wrk is not installed, using the Python asyncio load generator instead.\n"
              "      For the reference figures install it: apt-get install -y wrk", flush=True)
    return "wrk" if choice != "python" and has_wrk else "python"


def _print_machine(tool: str) -> None:
    from importlib.metadata import version

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    wrk = ""
    if tool == "wrk":
        first = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
        wrk = first.splitlines()[0].split(" [")[0] if first else "wrk"
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print("== machine")
    print(f"   nproc {len(os.sched_getaffinity(0))} ({cpu}), {memory:.0f} GiB, "
          f"{platform.system()} {platform.release()}")
    print(f"   python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, "
          + ", ".join(f"{name} {version(name)}" for name in ("SQLAlchemy", "Flask", "waitress",
                                                          "gunicorn")))
    print(f"   python speed {python_speed():.0f} ns/loop iteration (lower is faster)")
    print(f"   load generator: {wrk if tool == 'wrk' else 'python asyncio (wrk missing)'}; "
          "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


def python_speed() -> float:
    """ns per iteration of a fixed pure-Python loop (best of 5): this machine's speed now.

    Shared virtual machines drift by tens of percent from one minute to the next; runs are
    only comparable when this figure is close.
    """
    best = float("inf")
    for _ in range(5):
        started, total = time.perf_counter(), 0
        for i in range(200_000):
            total += i & 7
        best = min(best, (time.perf_counter() - started) / 200_000)
    return best * 1e9


def _kiosk_token(url: str) -> str:
    from core.access.tokens import create_token
    from core.platform.db import Database

    database = Database(url)
    try:
        return create_token(database.write, "kiosk", "bench-kiosk")
    finally:
        database.dispose()


def _start(kind: str, url: str, key: str, workdir: Path, workers: int) -> Server:
    from gateway.settings import load_settings
    from gateway.webtier import cores

    workers = workers or cores()
    spec = {"url": url, "national_id_key": key, "port": _free_port(), "workers": workers,
            "var_dir": str(workdir / "var")}
    log = (OUT / f"{kind}.log").open("w")
    process = subprocess.Popen([sys.executable, str(HERE / "_servers.py"), kind,
                                json.dumps(spec)], stdout=log, stderr=subprocess.STDOUT,
                               cwd=HERE.parent)
    # gunicorn's sync workers take one request at a time; the gateway's settings say its.
    threads = load_settings(None).gateway.threads if kind == "gateway" else 1
    server = Server(kind, process, spec["port"], workers, threads)
    _wait_healthy(server)
    return server


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline or server.process.poll() is not None:
            raise BenchError(f"{server.kind} is not healthy; see {OUT / server.kind}.log")
        time.sleep(0.2)


def _check_sample(server: Server, token: str, sample: list[_dataset.Probe]) -> None:
    """Each answer as it must be: the gateway's found/not found, the timeline's length."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    problems = []
    for probe in sample:
        conn.request("POST", "/api/v1/inquiries", probe.body(), headers)
        response = conn.getresponse()
        raw = response.read()
        if response.status != 200:
            problems.append(f"{probe.number}: HTTP {response.status} {raw[:200]!r}")
            continue
        body = json.loads(raw)
        expected = probe.found if server.kind == "gateway" else probe.exists
        if body.get("found") is not expected:
            problems.append(f"{probe.number}: found={body.get('found')}, expected {expected}")
        elif server.kind == "gateway" and expected:
            txn = body["transaction"]
            if txn["number"] != probe.number or len(txn["timeline"]) != probe.events:
                problems.append(f"{probe.number}: got {txn['number']} with "
                                f"{len(txn['timeline'])} stages, expected {probe.events}")
    conn.close()
    if problems:
        raise BenchError(f"{server.kind}: {len(problems)} of {len(sample)} sample answers "
                         "wrong:\n  " + "\n  ".join(problems[:10]))


def _load(server: Server, tool: str, bodies: Path, token: str, seconds: float,
          connections: int, label: str) -> _loadgen.Run:
    return _loadgen.run(tool, server.port, bodies, token, seconds=seconds,
                        connections=connections,
                        threads=min(connections, len(os.sched_getaffinity(0))),
                        log_path=OUT / f"wrk-{server.kind}-{connections}-{label}.txt")


def _measure(server: Server, tool: str, bodies: Path, token: str,
             mix: list[_dataset.Probe], args: argparse.Namespace, connections: int) -> dict:
    if args.warmup > 0:
        _load(server, tool, bodies, token, args.warmup, connections, "warmup")
    speed = python_speed()
    before = _CpuSnapshot.take(server)
    run = _load(server, tool, bodies, token, args.seconds, connections, "load")
    cpu = _CpuSnapshot.take(server).since(before, run.seconds)
    speed = (speed + python_speed()) / 2
    _check_run(server.kind, run, mix)
    print(f"   {run.rps:,.0f} req/s, p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms; CPU "
          f"cores: server {cpu['server']:.2f}, load generator {cpu['loadgen']:.2f}, "
          f"anything else {cpu['other']:.2f}{_ELSE_NOTE if args.database_url else ''}; "
          f"answers: {run.found:,} found, {run.not_found:,} not found")
    load = os.getloadavg()[0]
    print(f"   python speed around the run: {speed:.0f} ns/loop iteration; server CPU per "
          f"answer {cpu['server'] / run.rps * 1e3:.3f} ms; load average {load:.2f}")
    if cpu["other"] > BUSY_MACHINE and not args.database_url:
        print(f"   WARNING: other processes used {cpu['other']:.2f} cores during the run: "
              "the figures are lower than on a quiet machine")
    return {**run.as_dict(), "server_cpu_cores": round(cpu["server"], 2),
            "loadgen_cpu_cores": round(cpu["loadgen"], 2),
            "other_cpu_cores": round(cpu["other"], 2), "workers": server.workers,
            "threads": server.threads,
            "server_cpu_ms_per_answer": round(cpu["server"] / run.rps * 1e3, 3),
            "load_average": round(load, 2),
            "python_ns_per_iteration": round(speed, 1)}


@dataclass(frozen=True)
class _CpuSnapshot:
    """CPU seconds so far: the whole machine, the server, reaped children (the load tool)."""

    machine: float
    server: float
    children: float

    @classmethod
    def take(cls, server: Server) -> _CpuSnapshot:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        busy = sum(fields) - fields[3] - fields[4]  # less idle and iowait
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(busy / os.sysconf("SC_CLK_TCK"), server.cpu_seconds(),
                   usage.ru_utime + usage.ru_stime)

    def since(self, before: _CpuSnapshot, seconds: float) -> dict[str, float]:
        server = (self.server - before.server) / seconds
        loadgen = (self.children - before.children) / seconds
        machine = (self.machine - before.machine) / seconds
        return {"server": server, "loadgen": loadgen,
                "other": max(0.0, machine - server - loadgen)}


def _check_run(kind: str, run: _loadgen.Run, mix: list[_dataset.Probe]) -> None:
    """Under load every answer must be a 200 with the expected found / not-found split."""
    if run.requests == 0:
        raise BenchError(f"{kind}: no request completed")
    if run.bad_status or run.socket_errors or run.other:
        raise BenchError(f"{kind}: {run.bad_status} non-200 answers, {run.socket_errors} "
                         f"socket errors, {run.other} answers without 'found' "
                         f"({'; '.join(run.notes)})")
    expected = sum(p.found if kind == "gateway" else p.exists for p in mix) / len(mix)
    share = run.found / run.requests
    # Each load generator walks the shuffled mix; a few thousand answers match it closely.
    if run.requests >= 2000 and abs(share - expected) > 0.03:
        raise BenchError(f"{kind}: {share:.1%} of answers found, the mix expects "
                         f"{expected:.1%}")


def _profile_gateway(server: Server, tool: str, bodies: Path, token: str,
                     args: argparse.Namespace, connections: int) -> None:
    if _profile.py_spy() is None:
        print("   --profile: py-spy is missing (.venv/bin/pip install py-spy); skipped")
        return
    for gil in (False, True):
        name = "profile-gil" if gil else "profile"
        out = OUT / f"pyspy-gateway-{name}.txt"
        # The supervisor and its workers: the samples of every worker, summed.
        spy = _profile.record(server.process.pid, args.seconds, out, gil=gil,
                              subprocesses=True)
        time.sleep(0.5)
        run = _load(server, tool, bodies, token, args.seconds, connections, name)
        _, err = spy.communicate(timeout=args.seconds + 60)
        if spy.returncode != 0 or not out.exists():
            print(f"   py-spy failed ({spy.returncode}): {err.strip()[-500:]}")
            return
        what = "threads holding the GIL" if gil else "all active threads"
        print(f"\n   py-spy, {what} of every worker ({run.rps:,.0f} req/s while sampled) "
              f"-> {out}")
        print("   " + _profile.summarize(out).replace("\n", "\n   "))


def _report(results: dict[int, dict[str, dict]], args: argparse.Namespace,
            loaded: _dataset.Loaded, tool: str) -> None:
    print(f"\n== results: {args.transactions:,} transactions, {args.mix} mix, "
          f"{args.seconds:g} s measured per server and connection count, {tool}")
    print(f"   {'':<30}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
          f"{'server CPU':>12}{'ms CPU/ans':>12}{'other CPU':>11}")
    for connections, pair in results.items():
        for label, row in ((f"baseline (gunicorn), {connections:>3} conn", pair["baseline"]),
                           (f"gateway, {connections:>3} conn", pair["gateway"])):
            print(f"   {label:<30}{row['rps']:>9,.0f}{row['p50_ms']:>9.1f}"
                  f"{row['p90_ms']:>9.1f}{row['p99_ms']:>9.1f}{row['server_cpu_cores']:>12.2f}"
                  f"{row['server_cpu_ms_per_answer']:>12.3f}{row['other_cpu_cores']:>11.2f}")
    verdicts: dict[str, bool] = {}
    summary: dict = {
        "transactions": args.transactions, "mix": args.mix, "events": loaded.events,
        "load_seconds": round(loaded.seconds, 1), "seconds": args.seconds,
        "load_generator": tool,
        "targets": {"ratio": TARGET_RATIO, "p99_ms": TARGET_P99_MS,
                    "at_connections": TARGET_CONNECTIONS},
        "runs": {str(c): {**pair, "ratio": round(_ratio(pair), 3)}
                 for c, pair in results.items()},
        "machine": {"nproc": len(os.sched_getaffinity(0)),
                    "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
                    "load_average": os.getloadavg()},
    }
    print()
    if TARGET_CONNECTIONS in results:
        pair = results[TARGET_CONNECTIONS]
        ratio, p99 = _ratio(pair), pair["gateway"]["p99_ms"]
        verdicts["ratio"], verdicts["p99"] = ratio >= TARGET_RATIO, p99 < TARGET_P99_MS
        print(f"   at {TARGET_CONNECTIONS} connections:")
        print(f"   gateway / baseline throughput  {ratio:6.1%}   target >= {TARGET_RATIO:.0%}"
              f"   {'PASS' if verdicts['ratio'] else 'MISS'}")
        print(f"   gateway p99 latency            {p99:5.1f} ms  target < "
              f"{TARGET_P99_MS:g} ms  {'PASS' if verdicts['p99'] else 'MISS'}")
    else:
        print(f"   the targets are for {TARGET_CONNECTIONS} connections: not in this run")
    counts = sorted(c for c in results if c >= TARGET_CONNECTIONS)
    if len(counts) > 1:
        # From 32 connections on the server is saturated: more must not mean fewer answers.
        rates = [results[c]["gateway"]["rps"] for c in counts]
        holds = all(later >= SWEEP_FLOOR * first for first, later in pairwise(rates))
        verdicts["sweep"] = holds
        print(f"   gateway throughput as connections rise ({' -> '.join(map(str, counts))}): "
              f"{' -> '.join(f'{r:,.0f}' for r in rates)} req/s   "
              f"{'PASS' if holds else 'MISS'} (no step below {SWEEP_FLOOR:.0%} of the one "
              "before)")
    summary["pass"] = verdicts
    (OUT / "inquiry_http.json").write_text(json.dumps(summary, indent=2) + "\n")
    busy = max(row["other_cpu_cores"] for pair in results.values() for row in pair.values())
    if busy > BUSY_MACHINE and not args.database_url:
        print(f"   NOTE: other processes used up to {busy:.2f} cores during the runs; "
              "rerun on a quiet machine for reference figures")
    print(f"   details: {OUT / 'inquiry_http.json'}")


def _ratio(pair: dict[str, dict]) -> float:
    base = pair["baseline"]["rps"]
    return pair["gateway"]["rps"] / base if base else 0.0


if __name__ == "__main__":
    sys.exit(main())
