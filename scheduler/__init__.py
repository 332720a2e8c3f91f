"""Scheduled work around the core: the overdue scan, notification expiry, recovery of
abandoned sends. ``Scheduler(core, settings).start()`` / ``.stop()``; nothing outside this
package touches APScheduler."""

from scheduler.jobs import Scheduler

__all__ = ["Scheduler"]
