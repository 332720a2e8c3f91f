"""One deadline computation on the working calendar, and what one would use instead.

    .venv/bin/python bench/working_calendar.py [--calls 20000] [--seed 1447]

No database: the calendar is built from the default configuration with Ramadan hours
(an override) and about 15 holidays a year, as a version is. It times, one call at a
time (``time.perf_counter_ns`` around each), over starts spread across 2026–2027:

1. ``due`` for a day target (1–15 working days) and for an hour target (1–80 working
   hours), each with 0–2 pauses: the figure the issue targets, **p99 under 1 ms**;
2. a case's whole timing as ``core.voice.deadlines`` does it on every change: the
   acknowledge and answer deadlines, the warning at 75 % and the leadership alarm;
3. the first use of a calendar (the table of days from 2000 built): paid once per
   version per process;
4. the same-run baselines: ``numpy.busday_offset`` for whole working days (the weekmask
   and the holidays only: no hours, no share of a day, no pauses, no dated weekend), and
   a loop stepping minute by minute for hour targets (what the oracle in the tests
   does, without its arrays).

With ``--recompute N`` it also loads N cases with about 10 events each (bench/voice.py's
data: about 15 % open) into a throwaway SQLite file (or ``--database-url``, emptied
first), adds a holiday, and times ``core.voice.deadlines.recompute_open``: every open
case retimed under the new version, with its ``retimed`` event (the issue's target:
under 15 minutes at 1,000,000 cases).

Prints p50 and p99 in microseconds and PASS or MISS against the target. The machine is
shared: compare figures within one run.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's directory comes first on the path, and this file would
# stand in for the standard library's ``calendar`` (which ``email`` imports): not there.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from fractions import Fraction  # noqa: E402

import numpy as np  # noqa: E402

from core.calendar.definition import configured_part, definition  # noqa: E402
from core.calendar.working import Target, WorkingCalendar, to_minute  # noqa: E402

TARGET_P99_US = 1000.0
RAMADAN = [("2026-02-18", "2026-03-19"), ("2027-02-08", "2027-03-09")]
SUN_THU = ("sun", "mon", "tue", "wed", "thu")


def the_definition(rng: random.Random) -> dict:
    holidays = {date(2026, 1, 1) + timedelta(days=rng.randrange(730)) for _ in range(30)}
    overrides = [{"name": "رمضان", "first": first, "last": last,
                  "hours": {day: ["10:00-15:00"] for day in SUN_THU}}
                 for first, last in RAMADAN]
    return definition(configured_part(None), overrides, holidays)


def percentiles(samples_ns: list[int]) -> tuple[float, float]:
    ordered = sorted(samples_ns)
    return (ordered[len(ordered) // 2] / 1000,
            ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000)


def timed(calls: list[Callable[[], object]]) -> tuple[float, float]:
    samples = []
    for call in calls:
        started = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - started)
    return percentiles(samples)


def random_case(rng: random.Random, unit: str) -> tuple[datetime, Target, list]:
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(700 * 1440))
    amount = rng.randint(1, 15) if unit == "d" else rng.randint(1, 80)
    pauses = []
    cursor = start
    for _ in range(rng.choice((0, 1, 2))):
        begin = cursor + timedelta(minutes=rng.randrange(3 * 1440))
        cursor = begin + timedelta(minutes=rng.randrange(1, 4 * 1440))
        pauses.append((begin, cursor))
    return start, Target(Fraction(amount), "d" if unit == "d" else "h"), pauses


def report(name: str, figures: tuple[float, float], target: bool = False) -> None:
    p50, p99 = figures
    verdict = ""
    if target:
        verdict = "  PASS" if p99 < TARGET_P99_US else "  MISS"
    print(f"  {name:<52} p50 {p50:9.1f} µs   p99 {p99:9.1f} µs{verdict}")


def minute_stepping(calendar: WorkingCalendar, start: datetime, minutes: int) -> int:
    """The naive way: walk minute by minute, counting the working ones."""
    minute = to_minute(start)
    day, windows = None, ()
    while minutes:
        local = datetime.fromtimestamp(minute * 60, UTC).astimezone(calendar.tz)
        if local.date() != day:
            day = local.date()
            windows = calendar.local_windows(day)
        of_day = local.hour * 60 + local.minute
        if any(a <= of_day < b for a, b in windows):
            minutes -= 1
        minute += 1
    return minute


def recompute(cases: int, url: str | None) -> None:
    import tempfile

    from bench import voice as voice_bench
    from core.calendar import holidays
    from core.platform.db import Database
    from core.platform.settings import CoreSettings
    from core.voice import deadlines

    with tempfile.TemporaryDirectory() as scratch:
        url = url or f"sqlite:///{scratch}/calendar.db"
        print(f"recompute: loading {cases:,} cases ...", flush=True)
        voice_bench.load(url, cases)
        config = CoreSettings(locale={"timezone": "Asia/Riyadh"},
                              security={"national_id_key": "bench"})
        db = Database(url)
        try:
            holidays.add(db, [date(2026, 12, 1)], "bench", config)
            started = time.perf_counter()
            result = deadlines.recompute_open(db, config)
            seconds = time.perf_counter() - started
        finally:
            db.dispose()
    rate = result.retimed / seconds if seconds else 0.0
    print(f"  recompute_open: {result.retimed:,} open cases retimed in {seconds:.1f} s "
          f"({rate:,.0f} cases/s, {result.batches} batches), complete={result.complete}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1447)
    parser.add_argument("--recompute", type=int, default=0, metavar="CASES")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    if args.recompute:
        recompute(args.recompute, args.database_url)
        return
    rng = random.Random(args.seed)
    spec = the_definition(rng)

    started = time.perf_counter()
    calendar = WorkingCalendar(spec)
    calendar.due(datetime(2027, 12, 1, tzinfo=UTC), Target.parse("1d"))
    first_use_ms = (time.perf_counter() - started) * 1000

    print(f"calendar: {len(spec['holidays'])} holidays, {len(spec['overrides'])} Ramadan "
          f"overrides; {args.calls} calls each, seed {args.seed}")
    print("one deadline computation (core.calendar.working.WorkingCalendar.due):")
    for unit, name in (("d", "day target 1-15d, 0-2 pauses"),
                       ("h", "hour target 1-80h, 0-2 pauses")):
        cases = [random_case(rng, unit) for _ in range(args.calls)]
        report(name, timed([lambda c=case: calendar.due(*c) for case in cases]),
               target=True)

    warning = 75
    cases = [random_case(rng, "d") for _ in range(args.calls // 4)]

    def whole_timing(start: datetime, answer: Target, pauses: list) -> None:
        calendar.due(start, Target.parse("1d"), pauses)
        breach = calendar.due(start, answer, pauses)
        calendar.due(start, answer.share(warning), pauses)
        assert breach is not None
        calendar.add_working_days(breach, 3)

    report("a case's timing (ack, answer, warning, leadership)",
           timed([lambda c=case: whole_timing(*c) for case in cases]))
    print(f"  first use of a calendar version (days 2000-2027 built): {first_use_ms:.1f} ms")

    print("baselines, same run:")
    weekmask = "1111001"  # Mon..Sun: Friday and Saturday off
    holidays = np.array(spec["holidays"], dtype="datetime64[D]")
    days = [(np.datetime64(random_case(rng, "d")[0].date(), "D"), rng.randint(1, 15))
            for _ in range(args.calls)]
    report("numpy.busday_offset (whole days only)",
           timed([lambda d=d: np.busday_offset(d[0], d[1], roll="forward",
                                               weekmask=weekmask, holidays=holidays)
                  for d in days]))
    few = [random_case(rng, "h") for _ in range(max(50, args.calls // 100))]
    report(f"minute-stepping loop, hour target ({len(few)} calls)",
           timed([lambda c=case: minute_stepping(calendar, c[0], int(c[1].amount) * 60)
                  for case in few]))
    # The stepping loop agrees with the calendar (a check, not a figure).
    for start, target, _pauses in few[:20]:
        assert minute_stepping(calendar, start, int(target.amount) * 60) \
            == to_minute(calendar.due(start, target) or start)


if __name__ == "__main__":
    main()
