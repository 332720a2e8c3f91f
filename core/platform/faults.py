"""What a failing database looks like to the adapters, which never import the driver.

``DatabaseError`` is what the core's reads and writes raise when the database is down or
refuses a statement: a page or a metric that can do without the database catches it.
``DatabaseFaults`` is for the IVR webhooks, which must tell the database failing from
their own bugs and log it without quoting it: a driver's message, like PostgreSQL's
``DETAIL: Key (...)=(...)``, and a statement's parameters can hold a caller's number.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)

from core.platform.db import Database

DatabaseError = SQLAlchemyError
# The database away for now (down, restarting, a connection cut, a deadlock given up):
# the same request may well succeed in a moment.
DATABASE_AWAY: tuple[type[Exception], ...] = (OperationalError, InterfaceError,
                                              DisconnectionError)


# The same from the driver itself, on a raw connection (core/platform/compiled.py): PEP
# 249 names these classes alike in every driver (sqlite3, psycopg).
_DRIVER_AWAY = frozenset({"OperationalError", "InterfaceError"})


def database_away(exc: BaseException | None) -> bool:
    """Whether ``exc``, its cause or its context says the database is away for now: an
    answer may say "try again shortly" (503) rather than "our bug" (500)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, DATABASE_AWAY) or any(
                kind.__name__ in _DRIVER_AWAY and kind.__module__ != "builtins"
                for kind in type(exc).__mro__):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


class DatabaseFaults:
    """The database's error types for one engine, and how to name one of them safely."""

    def __init__(self, db: Database) -> None:
        # SQLAlchemy's wrapper, or the driver's own error from a raw connection (the
        # call log's hot path).
        driver = db.engine.dialect.loaded_dbapi.Error
        self.failed: tuple[type[BaseException], ...] = (DBAPIError, driver)
        # What is logged without its message or traceback: the driver's message can quote
        # the row ("DETAIL: Key (caller)=(+9665...)"), SQLAlchemy's repeats it.
        self.unquotable: tuple[type[BaseException], ...] = (SQLAlchemyError, driver)

    def find(self, exc: BaseException | None) -> BaseException | None:
        """The database's error among ``exc``, its cause and its context, if any."""
        seen: set[int] = set()
        while exc is not None and id(exc) not in seen:
            if isinstance(exc, self.unquotable):
                return exc
            seen.add(id(exc))
            exc = exc.__cause__ or exc.__context__
        return None

    @staticmethod
    def describe(exc: BaseException, database: BaseException) -> str:
        """``exc``'s type, the database error's and the driver's, and the statement
        without its parameters."""
        chain = [exc] if database is exc else [exc, database]
        orig = getattr(database, "orig", None)
        if isinstance(orig, BaseException):
            chain.append(orig)
        names = " from ".join(f"{type(e).__module__}.{type(e).__qualname__}"
                              if type(e).__module__ not in ("builtins", "sqlalchemy.exc")
                              else type(e).__qualname__ for e in chain)
        statement = getattr(database, "statement", None)
        if not statement:
            return f"{names}; its message is not logged"
        return f"{names} in: {' '.join(str(statement).split())[:500]}; its parameters and " \
               f"message are not logged"


class Outage:
    """How a loop that retries on its own (the SMS channel's passes, its heartbeat) says
    the database is away: one warning when it goes, one a minute while it stays away,
    one when it is back, instead of a traceback on every try (about one a second for
    the SMS channel while PostgreSQL restarted, which buried everything else in the
    log). Anything else that fails is logged with its traceback every time: that is a
    bug, not the database."""

    # Seconds between two warnings of one outage.
    EVERY = 60.0

    def __init__(self, log: logging.Logger, what: str, *, every: float = EVERY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = log
        self._what = what
        self._every = every
        self._clock = clock
        self._since: float | None = None  # when this outage began (``clock``)
        self._last = 0.0  # its latest failure
        self._failures = 0
        self._next = 0.0

    def failed(self, exc: BaseException) -> None:
        """One try failed with ``exc`` (call from the ``except`` block)."""
        if not database_away(exc):
            self._log.error("%s failed", self._what, exc_info=exc)
            return
        now = self._clock()
        if self._since is not None and now - self._last > self._every:
            # Nothing failed for a while: that outage ended unseen (a loop that says
            # ``succeeded`` only after work reached the database), this is another.
            self._since, self._failures = None, 0
        self._failures += 1
        self._last = now
        if self._since is None:
            self._since, self._next = now, now + self._every
            self._log.warning("%s: the database is away (%s); trying again", self._what,
                              type(exc).__name__)
        elif now >= self._next:
            self._next = now + self._every
            self._log.warning("%s: the database is still away (%d tries failed in %.0f s)",
                              self._what, self._failures, now - self._since)

    def succeeded(self) -> None:
        """A try reached the database: the outage, if any, is over. (Not a try that had
        nothing to ask it: that says nothing of the database.)"""
        if self._since is None:
            return
        self._log.warning("%s: the database is back after %.0f s (%d tries failed)",
                          self._what, self._clock() - self._since, self._failures)
        self._since, self._failures = None, 0
