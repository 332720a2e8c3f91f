"""`gateway db upgrade` from outside the core: the database opened by its URL alone (no
running core: its schema may be too old for one), migrated, and closed again.

A failure comes back as ``UpgradeFailed``: one line, the database's URL and password
never in it (an operator pastes that line into a ticket).
"""

from __future__ import annotations

from urllib.parse import quote, quote_plus

from sqlalchemy.engine import make_url

from core.platform import migrate
from core.platform.db import Database
from core.platform.errors import CoreError


class UpgradeFailed(CoreError):
    """The migrations could not run; ``message`` is one line without the password."""

    code = "upgrade_failed"


def upgrade_database(url: str) -> str | None:
    """Apply the migrations up to this version's schema; the revision it is at then.

    Raises ``UpgradeFailed`` whatever went wrong (the database unreachable, a login
    refused, a migration failing), with the cause's type and first line, the password
    taken out.
    """
    try:
        database = Database(url)
    except Exception as exc:
        raise UpgradeFailed(f"the database URL cannot be used ({type(exc).__name__})") \
            from None
    try:
        migrate.upgrade(database.engine)
        return migrate.current_revision(database.engine)
    except Exception as exc:
        raise UpgradeFailed(f"the upgrade failed: {safe_message(exc, url)}") from None
    finally:
        database.dispose()


def safe_message(exc: BaseException, url: str) -> str:
    """``exc``'s type and the first line of its message, with the URL's password (as
    given, and as a URL escapes it) replaced by ``***``."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    try:
        password = make_url(url).password
    except Exception:  # unparsable: nothing of it is quoted
        return type(exc).__name__
    if password:
        secret = str(password)
        for form in sorted({secret, quote(secret, safe=""), quote_plus(secret)},
                           key=len, reverse=True):
            text = text.replace(form, "***")
    return text
