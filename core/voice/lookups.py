"""How many failed lookups of a case by its citizen (a tracking number and a mobile a
stranger is unlikely to hold together) one place and one tracking number may have: the
one limit for every channel where the pair is typed, not vouched for (the portal's
tracking page, the kiosk, the phone line when the caller ID is not the case's). Counted
where every process sees them (the ``failure_counts`` table, as the inquiry limits), so
that tracking numbers cannot be enumerated from one place, nor one case's mobile guessed
from many, and so that a stranger's failures never refuse the case's citizen, who looks
it up from elsewhere (the inquiry limits' rule, core/transactions/limits.py):

- a place (where the lookup is typed: a kiosk's or a desk's API token, a browser's
  address, an IPv6 one by its /64, ``ratelimit.origin_group``, a caller's number) is
  refused at ``PLACE_FACTOR`` times the inquiry limit (``inquiry.max_failures``), since a
  shared terminal serves a queue of citizens who mistype;
- a tracking number from one place is refused at the inquiry limit;
- a tracking number that failed ``STEP_UP_FACTOR`` (core/platform/ratelimit.py) times
  the limit from anyone is under attack: each place then gets one failure for it per
  window (a step up, not a block).
  A distributed guesser gets one try per place; the citizen, at a place that has not
  failed it, is answered.

All within ``inquiry.failure_window_seconds``; over a limit, ``TooMany``, whatever is
typed now. Only a failed lookup counts (no such case, or not the citizen's: the same to
the caller); the keys are keyed hashes, the table holds no tracking number or place.
"""

from __future__ import annotations

import hashlib

from core.platform.db import Database
from core.platform.errors import TooMany
from core.platform.ratelimit import (
    DatabaseFailureCounts,
    FailureCounts,
    origin_group,
    pair_limit,
)
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

    def _keys(self, tracking: str, place: str) -> tuple[str, str | None, str | None]:
        """The place's counter, and the tracking number's from this place and from
        anyone (None for a number that cannot be a tracking number: it counts against
        the place only)."""
        group = origin_group(place)
        clean = tracking_numbers.parse_tracking(tracking)
        if clean is None:
            return self._keyed("place", group), None, None
        return (self._keyed("place", group), self._keyed("pair", f"{clean}|{group}"),
                self._keyed("tracking", clean))

    def check(self, tracking: str, place: str) -> None:
        """Raise ``TooMany`` when ``place`` has failed its share, or ``tracking`` from
        ``place`` (one failure when the number is under attack)."""
        place_key, pair_key, anyone_key = self._keys(tracking, place)
        keys = [key for key in (place_key, pair_key, anyone_key) if key is not None]
        found = self._counts.counts(keys)
        refused = found.get(place_key, 0) >= self.per_place
        if pair_key is not None and anyone_key is not None:
            refused = refused or found.get(pair_key, 0) >= pair_limit(
                found.get(anyone_key, 0), self.per_tracking)
        if refused:
            raise TooMany("too many failed lookups; please try again later",
                          code="too_many_lookups", retry_after=self._window)

    def failed(self, tracking: str, place: str) -> None:
        """Count one failed lookup (written before this returns)."""
        self._counts.add([key for key in self._keys(tracking, place) if key is not None])
