"""The core's own errors; adapters translate them into their protocol (HTTP 4xx, SMS help)."""

from __future__ import annotations


class CoreError(Exception):
    """Base: a machine-readable ``code`` and a human ``message`` (English, for integrators)."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class InvalidRequest(CoreError):
    """The input is malformed or breaks a rule; nothing was changed."""

    code = "invalid"


class NotFound(CoreError):
    """A referenced record (transaction, department, employee, agency) does not exist."""

    code = "not_found"


class Conflict(CoreError):
    """The request contradicts the current state (out of order, event id reused)."""

    code = "conflict"


class Forbidden(CoreError):
    """The actor's role or agency does not allow this; nothing was changed."""

    code = "forbidden"


class NotAllowed(Forbidden):
    """The actor may see the record but their role or agency may not do this (HTTP 403).
    Never raised for a record the actor may not see: that is ``NotFound``, so "not yours"
    and "no such thing" look the same."""

    code = "not_allowed"


class WrongState(Conflict):
    """The actor may do this, but not while the record is in its current state (409)."""

    code = "wrong_state"


class TooMany(CoreError):
    """Too many of these from this citizen or this origin for now (HTTP 429); nothing was
    changed. ``retry_after``: seconds until the window that refused it has passed."""

    code = "too_many"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 retry_after: int | None = None):
        super().__init__(message, code=code, field=field)
        self.retry_after = retry_after
