"""How many wrong guesses at a case a requester may make: a tracking number with a proof
(a mobile, an address, a national ID) that does not match it, or no such number.

The same rules as the inquiry limits (core/transactions/limits.py, which this layer may
not import), over the same shared counters (the ``failure_counts`` table, the inquiry's
``max_failures`` and ``failure_window_seconds``), under keys of their own:

- the requester's origin (a caller's number the network vouched for, an address) is
  refused at ``max_failures`` failures in the window;
- a tracking number from one origin is refused at ``max_failures`` too;
- a tracking number that failed ``STEP_UP_FACTOR`` times the limit from anyone is under
  attack: each origin then gets one failure for it per window, so a guesser spread over
  many origins gets one try each, and the owner, asking from their own, is answered.

A requester without an origin of its own (a caller ID nobody vouched for, which anyone
can forge) shares one per channel: a forged caller ID can lock nobody else out.

Whether a lookup is refused depends on the counters alone, never on whether the case
exists: a refusal tells nothing either.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from core.platform.db import Database
from core.platform.errors import TooMany
from core.platform.ratelimit import DatabaseFailureCounts, FailureCounts, origin_group
from core.platform.settings import CoreSettings

STEP_UP_FACTOR = 2
# Not the filing counters' "voice-" prefix: these share the inquiries' window, and the
# upkeep forgets them with the inquiries'.
KEY_PREFIX = "case-"


@dataclass(frozen=True)
class LookupKeys:
    """The counters one lookup reads and, when it fails, adds to."""

    origin: str | None
    pair: str
    anyone: str

    @property
    def all(self) -> list[str]:
        return [key for key in (self.origin, self.pair, self.anyone) if key]


class LookupLimits:
    def __init__(self, config: CoreSettings, counts: FailureCounts) -> None:
        self._max = config.inquiry.max_failures
        self._window = config.inquiry.failure_window_seconds
        self._under_attack = self._max * STEP_UP_FACTOR
        self._counts = counts
        self._secret = hashlib.sha256(b"case-lookups:" + config.national_id_key()).digest()

    @classmethod
    def of(cls, db: Database, config: CoreSettings) -> LookupLimits:
        """The installation's shared counters."""
        return cls(config, DatabaseFailureCounts(db, config.inquiry.failure_window_seconds))

    def _keyed(self, kind: str, value: str) -> str:
        return KEY_PREFIX + hashlib.blake2b(
            f"{kind}:{value}".encode("utf-8", "surrogatepass"), key=self._secret,
            digest_size=28).hexdigest()

    def keys(self, channel: str, origin: str | None, tracking: str) -> LookupKeys:
        place = f"{channel}:{origin_group(origin) if origin else '-'}"
        return LookupKeys(origin=self._keyed("origin", place) if origin else None,
                          pair=self._keyed("pair", f"{tracking}|{place}"),
                          anyone=self._keyed("number", tracking))

    def check(self, keys: LookupKeys) -> None:
        """Raise ``TooMany`` when the lookup is refused."""
        found = self._counts.counts(keys.all)
        if keys.origin and found.get(keys.origin, 0) >= self._max:
            raise self._too_many()
        limit = 1 if found.get(keys.anyone, 0) >= self._under_attack else self._max
        if found.get(keys.pair, 0) >= limit:
            raise self._too_many()

    def failed(self, keys: LookupKeys) -> None:
        """One more failure on each of the lookup's counters (written before returning)."""
        self._counts.add(keys.all)

    def _too_many(self) -> TooMany:
        return TooMany("too many attempts; please try again later",
                       code="too_many_attempts", retry_after=self._window)
