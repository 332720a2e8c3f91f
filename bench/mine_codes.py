"""How long asking for a "my transactions" code takes, with and without transactions.

    .venv/bin/python bench/mine_codes.py

A fresh SQLite database in a temp dir, 200 national IDs with one transaction each and
200 without; each asks for a code once (from its own address, so no limit refuses it).
Both medians should be the floor (``core.transactions.mine.REQUEST_FLOOR_SECONDS``):
sending a code must not take measurably longer than sending none.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.kiosk import scratch_gateway  # noqa: E402
from core.identity.national_id import national_id_with_check_digit  # noqa: E402

COUNT = 200


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="mine-bench-"))
    _settings, core = scratch_gateway(workdir)
    with_ = [national_id_with_check_digit(f"1{n:08d}") for n in range(COUNT)]
    for n, national_id in enumerate(with_):
        core.record_event({
            "event_id": f"bench-{n}", "type": "registered",
            "occurred_at": "2026-11-23T09:15:00+03:00",
            "transaction": {"number": f"44{n:05d}", "subject": "طلب",
                            "applicant": {"name": "محمد", "national_id": national_id,
                                          "mobile": f"055{n:07d}"}}})
    without = [national_id_with_check_digit(f"2{n:08d}") for n in range(COUNT)]

    def timed(ids: list[str]) -> list[float]:
        took = []
        for n, national_id in enumerate(ids):
            started = time.perf_counter()
            core.mine.request_code(national_id, origin=f"10.{n // 250}.{n % 250}.1")
            took.append((time.perf_counter() - started) * 1000)
        return took

    a, b = timed(with_), timed(without)
    for name, took in (("with transactions", a), ("without", b)):
        print(f"{name}: p50 {statistics.median(took):.2f} ms, "
              f"p90 {statistics.quantiles(took, n=10)[-1]:.2f} ms over {len(took)}")
    core.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
