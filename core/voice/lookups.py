"""How many failed lookups of a case by its citizen (a tracking number and a mobile a
stranger is unlikely to hold together) one place and one tracking number may have: the
one limit for every channel where the pair is typed, not vouched for (the portal's
tracking page, the kiosk, the phone line when the caller ID is not the case's). Counted
where every process sees them (the ``failure_counts`` table, as the inquiry limits), so
that tracking numbers cannot be enumerated from one place, nor one case's mobile guessed
from many.

A place is where the lookup is typed: a kiosk's or a desk's API token, a browser's
address (an IPv6 one by its /64, ``ratelimit.origin_group``), a caller's number. Its
counter allows ``PLACE_FACTOR`` times the inquiry limit (``inquiry.max_failures``), since
a shared terminal serves a queue of citizens who mistype; a tracking number's counter
allows the inquiry limit from anyone. Both within ``inquiry.failure_window_seconds``;
over either, ``TooMany``, whatever is typed now. Only a failed lookup counts (no such
case, or not the citizen's: the same to the caller); the keys are keyed hashes, the
table holds no tracking number.
"""

from __future__ import annotations

import hashlib

from core.platform.db import Database
from core.platform.errors import TooMany
from core.platform.ratelimit import DatabaseFailureCounts, FailureCounts, origin_group
from core.platform.settings import CoreSettings
from core.voice import tracking as tracking_numbers

# A shared terminal's share: this many times ``inquiry.max_failures``.
PLACE_FACTOR = 3
KEY_PREFIX = "lookup-"


class LookupLimits:
    def __init__(self, config: CoreSettings, counts: FailureCounts) -> None:
        self.per_tracking = config.inquiry.max_failures
        self.per_place = config.inquiry.max_failures * PLACE_FACTOR
        self._counts = counts
        self._window = int(counts.window)
        self._secret = hashlib.sha256(b"voice-lookups:" + config.national_id_key()).digest()

    @classmethod
    def of(cls, db: Database, config: CoreSettings) -> LookupLimits:
        """The installation's shared counters (the inquiry limits' window, so that the
        upkeep forgets them on the same schedule)."""
        return cls(config, DatabaseFailureCounts(db, config.inquiry.failure_window_seconds))

    def _keyed(self, kind: str, value: str) -> str:
        return KEY_PREFIX + hashlib.blake2b(
            f"{kind}:{value}".encode("utf-8", "surrogatepass"), key=self._secret,
            digest_size=28).hexdigest()

    def _keys(self, tracking: str, place: str) -> tuple[str, str | None]:
        clean = tracking_numbers.parse_tracking(tracking)
        # A number that cannot be a tracking number counts against the place only.
        return self._keyed("place", origin_group(place)), (
            self._keyed("tracking", clean) if clean is not None else None)

    def check(self, tracking: str, place: str) -> None:
        """Raise ``TooMany`` when ``place`` or ``tracking`` has failed its share."""
        place_key, tracking_key = self._keys(tracking, place)
        keys = [place_key] + ([tracking_key] if tracking_key else [])
        found = self._counts.counts(keys)
        if found.get(place_key, 0) >= self.per_place or (
                tracking_key and found.get(tracking_key, 0) >= self.per_tracking):
            raise TooMany("too many failed lookups; please try again later",
                          code="too_many_lookups", retry_after=self._window)

    def failed(self, tracking: str, place: str) -> None:
        """Count one failed lookup (written before this returns)."""
        place_key, tracking_key = self._keys(tracking, place)
        self._counts.add([place_key] + ([tracking_key] if tracking_key else []))
