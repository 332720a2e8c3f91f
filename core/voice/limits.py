"""How many cases one citizen and one origin may file: counted where every process of the
installation sees them (the ``failure_counts`` table, as the inquiry limits), so that
more web processes or machines do not multiply them and a restart forgets nothing.

A citizen is a mobile or an e-mail address (the case's ways to reach them), counted per
day; an origin is where the filing came from, counted per hour: a web client's address
(an IPv6 one by its /64, ``origin_group``), a caller's number, a mail's domain (written
"@domain": an allowance of its own, ``voice.max_cases_per_mail_domain``, since one webmail
domain serves many citizens). A kiosk,
an agency's system or a member of staff filing for citizens has no origin of its own to
count: only the citizen is counted. The keys are keyed hashes, as the inquiry limits':
the table holds no mobile or address.

A check reads the counters before the filing; the filing adds one to each after it is
committed. Two filings at the same instant may both pass a limit's last place: the
limit is a bound against floods, not an exact quota.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from core.identity.phones import InvalidMobile, normalize_mobile
from core.platform.db import Database
from core.platform.errors import TooMany
from core.platform.ratelimit import DatabaseFailureCounts, FailureCounts, origin_group
from core.platform.settings import CoreSettings

CITIZEN_WINDOW = 24 * 3600
ORIGIN_WINDOW = 3600
# The longest window of these counters: the upkeep forgets none younger than it. Their
# keys carry a prefix of their own, so that it forgets the inquiries' (15 minutes) on
# time.
LONGEST_WINDOW = max(CITIZEN_WINDOW, ORIGIN_WINDOW)
KEY_PREFIX = "voice-"
# An origin that is a mail domain ("@gmail.com"), counted against its own allowance.
MAIL_DOMAIN = "@"


@dataclass(frozen=True)
class Filer:
    """Who files, as the limits count them: the citizen's mobile and address (either
    may be None) and the origin (None when filed for the citizen by a trusted party)."""

    mobile: str | None = None
    email: str | None = None
    origin: str | None = None


def mail_domain(address: str) -> str:
    """The filing origin of a mail from ``address``: its domain, as a mail domain."""
    return MAIL_DOMAIN + address.rpartition("@")[2].strip().lower()


class FilingLimits:
    def __init__(self, config: CoreSettings, citizens: FailureCounts,
                 origins: FailureCounts) -> None:
        self._per_citizen = config.voice.max_cases_per_citizen
        self._per_origin = config.voice.max_cases_per_origin
        self._per_mail_domain = config.voice.max_cases_per_mail_domain
        self._citizens = citizens
        self._origins = origins
        self._secret = hashlib.sha256(b"voice-filing:" + config.national_id_key()).digest()

    @classmethod
    def of(cls, db: Database, config: CoreSettings) -> FilingLimits:
        """The installation's shared counters."""
        return cls(config, DatabaseFailureCounts(db, CITIZEN_WINDOW),
                   DatabaseFailureCounts(db, ORIGIN_WINDOW))

    def _keyed(self, kind: str, value: str) -> str:
        return KEY_PREFIX + hashlib.blake2b(
            f"{kind}:{value}".encode("utf-8", "surrogatepass"), key=self._secret,
            digest_size=28).hexdigest()

    def _keys(self, filer: Filer) -> tuple[list[str], list[str]]:
        citizens = [self._keyed("filer", value.strip().lower())
                    for value in (_mobile(filer.mobile), filer.email) if value]
        origins = [self._keyed("origin", origin_group(filer.origin))] if filer.origin else []
        return citizens, origins

    def check(self, filer: Filer) -> None:
        """Raise ``TooMany`` when the citizen or the origin has filed its share already."""
        citizens, origins = self._keys(filer)
        if _over(self._citizens, citizens, self._per_citizen):
            raise TooMany("too many cases from this citizen today; please try tomorrow",
                          code="too_many_cases", retry_after=CITIZEN_WINDOW)
        per_origin = (self._per_mail_domain if (filer.origin or "").startswith(MAIL_DOMAIN)
                      else self._per_origin)
        if _over(self._origins, origins, per_origin):
            raise TooMany("too many cases from this place within the hour; please try "
                          "later", code="too_many_cases", retry_after=ORIGIN_WINDOW)

    def filed(self, filer: Filer) -> None:
        """Count one filing (after its commit)."""
        citizens, origins = self._keys(filer)
        if citizens:
            self._citizens.add(citizens)
        if origins:
            self._origins.add(origins)


def _mobile(typed: str | None) -> str | None:
    """One mobile counted as one however it was written (0551..., +966551..., Arabic
    digits): the E.164 form when it is a mobile."""
    if not typed:
        return typed
    try:
        return normalize_mobile(typed)
    except InvalidMobile:
        return typed


def _over(counts: FailureCounts, keys: Sequence[str], limit: int) -> bool:
    if not keys:
        return False
    found = counts.counts(keys)
    return any(found.get(key, 0) >= limit for key in keys)
