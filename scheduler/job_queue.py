"""Our small vocabulary over APScheduler, as python-telegram-bot's ``JobQueue`` has.

The rest of the gateway asks for "run this every N seconds, and once now"; which
scheduler library does it, and its executors, triggers and misfire rules, stay here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

# APScheduler reports every run at INFO ("Running job ...", "executed successfully"):
# once a minute per job would drown the gateway's own log. Its warnings still show.
logging.getLogger("apscheduler").setLevel(logging.WARNING)


@dataclass(frozen=True)
class JobView:
    name: str
    interval_seconds: float
    next_run_at: datetime | None


class JobQueue:
    """Repeating jobs on one background thread pool; ``start`` then ``stop``."""

    def __init__(self, tz: ZoneInfo) -> None:
        self._tz = tz
        self._scheduler = BackgroundScheduler(timezone=tz, job_defaults={
            # A run missed while the process was busy or suspended happens once, late,
            # never as a burst; and a job never overlaps itself.
            "coalesce": True, "max_instances": 1, "misfire_grace_time": None,
        })
        self._intervals: dict[str, float] = {}

    def run_repeating(self, callback: Callable[[], object], interval_seconds: float, *,
                      name: str, first_now: bool = True) -> None:
        """Run ``callback`` every ``interval_seconds``; also at start when ``first_now``."""
        self._intervals[name] = interval_seconds
        # APScheduler reads next_run_time=None as "paused": leave it out for the trigger's
        # own first time (one interval from now).
        first = {"next_run_time": datetime.now(self._tz)} if first_now else {}
        self._scheduler.add_job(
            _logged(callback, name), IntervalTrigger(seconds=interval_seconds, timezone=self._tz),
            id=name, name=name, replace_existing=True, **first)

    def run_now(self, name: str) -> None:
        """Bring the next run of job ``name`` forward to now (it still never overlaps)."""
        self._scheduler.modify_job(name, next_run_time=datetime.now(self._tz))

    def start(self) -> None:
        self._scheduler.start()

    def stop(self, wait: bool = True) -> None:
        """Stop; with ``wait`` the jobs running now finish first."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    @property
    def running(self) -> bool:
        return self._scheduler.running

    def jobs(self) -> list[JobView]:
        return [JobView(job.id, self._intervals.get(job.id, 0.0),
                        getattr(job, "next_run_time", None))
                for job in self._scheduler.get_jobs()]


def _logged(callback: Callable[[], object], name: str) -> Callable[[], None]:
    def run() -> None:
        try:
            callback()
        except Exception:  # one failed run must not end the job; the next run retries
            log.exception("scheduled job %s failed; it runs again at its next time", name)

    run.__name__ = name
    return run
