"""`gateway db upgrade` from outside the core: the database opened by its URL alone (no
running core: its schema may be too old for one), migrated, and closed again.

A failure comes back as ``UpgradeFailed``: one line, the database's URL and password
never in it (an operator pastes that line into a ticket). ``database_failure`` words any
other command's database failure the same way, naming the setting that controls it.
"""

from __future__ import annotations

from urllib.parse import quote, quote_plus

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from core.platform import migrate
from core.platform.db import Database
from core.platform.errors import CoreError
from core.platform.settings import ENV_PREFIX

# The setting an operator changes when the database cannot be used, as config.yaml and
# the environment spell it.
DATABASE_SETTING = f"database.url ({ENV_PREFIX}DATABASE__URL)"
URL_EXAMPLES = "postgresql+psycopg://USER:PASSWORD@HOST/NAME or sqlite:///PATH"


class UpgradeFailed(CoreError):
    """The migrations could not run; ``message`` is one line without the password."""

    code = "upgrade_failed"


def upgrade_database(url: str) -> str | None:
    """Apply the migrations up to this version's schema; the revision it is at then.

    Raises ``UpgradeFailed`` whatever went wrong (the database unreachable, a login
    refused, a migration failing), with the cause's type and first line, the password
    taken out, and the setting to check.
    """
    try:
        database = Database(url)
    except Exception as exc:
        raise UpgradeFailed(unusable_url(exc, url)) from None
    try:
        migrate.upgrade(database.engine)
        return migrate.current_revision(database.engine)
    except Exception as exc:
        raise UpgradeFailed(f"the upgrade failed: {safe_message(exc, url)}; "
                            f"check {DATABASE_SETTING}") from None
    finally:
        database.dispose()


def unusable_url(exc: BaseException, url: str) -> str:
    """Why the URL cannot even make an engine (a scheme no driver has, a typo)."""
    try:
        scheme = make_url(url).drivername
    except Exception:  # not a URL at all; none of it is quoted (it may hold the password)
        return f"{DATABASE_SETTING} is not a database URL; use {URL_EXAMPLES}"
    if isinstance(exc, sa_exc.NoSuchModuleError):
        return (f"{DATABASE_SETTING}: no database driver for the scheme {scheme}://; "
                f"use {URL_EXAMPLES}")
    return f"{DATABASE_SETTING} cannot be used: {safe_message(exc, url)}"


def database_failure(exc: BaseException, url: str) -> str | None:
    """One line for a failure the database caused (unknown scheme, unreachable, login
    refused), naming the setting; None for any other failure."""
    if isinstance(exc, (sa_exc.NoSuchModuleError, sa_exc.ArgumentError)):
        return unusable_url(exc, url)
    if isinstance(exc, sa_exc.DBAPIError):
        return f"the database cannot be used: {safe_message(exc, url)}; check {DATABASE_SETTING}"
    return None


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
