"""Who a failed inquiry counts against, and when the next one is refused.

Failures count against the requester's origin (an address, grouped by IPv6 /64; a
mobile; a mailbox), against each credential and the number *from that origin*, and
against each credential and the number *from anyone*. A stranger's failures therefore
never refuse the owner, who asks from elsewhere:

- the origin's own counter refuses it at ``max_failures`` (it is the requester's own);
- a credential or number from one origin is refused at ``max_failures`` too;
- a credential or number that failed ``STEP_UP_FACTOR`` times the limit from anyone is
  under attack: each origin then gets one failure for it per window (a step up, not a
  block), so a distributed guesser gets one try per origin, and the owner, asking from
  their own origin, is answered.

An SMS from the mobile it names is authenticated by the network: nobody else can fail
in its name, and it cannot guess (its only credential is the sender). It counts against
its own origin only, and is never stepped up by others' failures.

Kiosks and staff desks serve a queue of citizens: their terminal is counted only in
pairs (this ID at this kiosk), never as a requester of its own. An inquiry without an
origin (a withheld caller ID) shares one such origin per channel.

A failure is written before it is answered once it brings any of its counters to half
its limit or more (``failed``); below that it may be written behind, a few milliseconds
later, with the other failures of the process in one transaction (the store keeps at
most one such failure per counter unwritten: core/platform/ratelimit.py). So the
inquiry that reaches a limit is never answered before the database holds it, a crash
loses only failures far from any limit, and another process sees every failure in time
to refuse at the limit as long as fewer processes than half the limit fail for one
counter within those milliseconds.

An inquiry reads only the counters that may have failures (``suspects``, a filter in
the process's memory: core/platform/ratelimit.py says how stale it may be, at most one
failing inquiry more per process and counter past a limit); most read none.

A burst of inquiries (the SMS short code's read burst) counts the same failures at less
cost (``BurstCounts``): its counters are read once, the burst's own failures are counted
on top in memory, and they are written in the transaction that stores the burst.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection

from core.platform.ratelimit import (
    STEP_UP_FACTOR,
    DatabaseFailureCounts,
    FailureCounts,
    origin_group,
    pair_limit,
)

# Terminals shared by a queue of citizens (a kiosk, a staff desk on the API).
SHARED_ORIGINS = frozenset({"kiosk", "api"})

# Channels whose origin, a mobile, the network authenticates.
AUTHENTICATED_ORIGINS = frozenset({"sms"})

# A pair counter's key begins with its target's first characters, then goes on with the
# pair's keyed hash (64 characters in all): the two counters one failure adds for a
# credential or number (this origin's and anyone's) sit side by side in the key index,
# usually on one page, where SQLite writes one page per row it changes. A failed kiosk
# inquiry then writes two pages of the index instead of four. Whoever reads the table
# can tell which pair rows share a target (not whose: every part is keyed).
PAIR_PREFIX = 16

@dataclass(frozen=True)
class Watched:
    """One credential (or the number): its counter from this origin and from anyone."""

    pair: str
    anyone: str
    # The pair's key before it began with its target's (the keyed hash alone, until 5
    # December 2026): read as part of the pair's count, never written, so that the
    # failures counted before an upgrade still count until their window has passed.
    # Costs nothing once they have: a key without failures is not read (``suspects``).
    legacy: str


@dataclass(frozen=True)
class Counted:
    """The counters one inquiry reads and, when it fails, adds to."""

    origin: str | None  # the origin's own counter; None for a shared or authenticated one
    watched: tuple[Watched, ...]
    keys: tuple[str, ...]  # the counters a failure adds to
    reads: tuple[str, ...]  # the counters read: ``keys`` and the pairs' legacy ones


@dataclass(frozen=True)
class Credential:
    """What the limits need of a credential: its key, and the mobile it is, if one."""

    key: str
    mobile: str | None = None


class InquiryLimits:
    """The failure limits of inquiries, over counters every process shares."""

    def __init__(self, counts: FailureCounts, max_failures: int, secret: bytes) -> None:
        self.counts = counts
        self._max = max_failures
        self._under_attack = max_failures * STEP_UP_FACTOR
        # Keyed BLAKE2b (a few times cheaper than HMAC-SHA256, as keyed): the table holds
        # no origin, mobile or number anyone without the key could test a guess against.
        self._secret = hashlib.sha256(b"inquiry-limits:" + secret).digest()

    def _keyed(self, kind: str, value: str) -> str:
        # surrogatepass: whatever a channel decoded (even a lone surrogate) gets a key.
        return hashlib.blake2b(f"{kind}:{value}".encode("utf-8", "surrogatepass"),
                               key=self._secret, digest_size=32).hexdigest()

    def counted(self, channel: str, origin: str | None, credentials: Sequence[Credential],
                number: str | None) -> Counted:
        """The counters of an inquiry on ``channel`` from ``origin``."""
        place = f"{channel}:{origin_group(origin) if origin else '-'}"
        shared = channel in SHARED_ORIGINS or not origin
        own = None if shared else self._keyed("origin", place)  # every request: only if used
        if channel in AUTHENTICATED_ORIGINS and origin and any(
                c.mobile == origin for c in credentials):
            own = own or self._keyed("origin", place)
            return Counted(own, (), (own,), (own,))
        targets = [c.key for c in credentials]
        if number is not None:
            targets.append(self._keyed("number", number))
        watched = tuple(self._watched(target, place) for target in dict.fromkeys(targets))
        keys = [key for w in watched for key in (w.pair, w.anyone)]
        if own is not None:
            keys.append(own)
        return Counted(own, watched, tuple(keys),
                       (*keys, *(w.legacy for w in watched)))

    def _watched(self, target: str, place: str) -> Watched:
        """The counters of ``target`` (a credential's or number's key) from ``place``, and
        from anyone (the target's key itself)."""
        pair = self._keyed("pair", f"{target}|{place}")
        return Watched(target[:PAIR_PREFIX] + pair[PAIR_PREFIX:], target, pair)

    def refused(self, counted: Counted) -> bool:
        """Whether the inquiry is refused: one read of all its counters."""
        return self.refused_by(counted, self.read(counted))

    def read(self, counted: Counted) -> Mapping[str, int]:
        """The failures of the inquiry's counters (absent: none)."""
        return self.counts.counts(counted.reads) if counted.reads else {}

    def refused_by(self, counted: Counted, counts: Mapping[str, int]) -> bool:
        """Whether the inquiry is refused, given its counters' failures (absent: none)."""
        if counted.origin is not None and counts.get(counted.origin, 0) >= self._max:
            return True
        for watched in counted.watched:
            limit = pair_limit(counts.get(watched.anyone, 0), self._max)
            if counts.get(watched.pair, 0) + counts.get(watched.legacy, 0) >= limit:
                return True
        return False

    def failed(self, counted: Counted, seen: Mapping[str, int] | None = None) -> None:
        """One more failure on each of the inquiry's counters, whose failures were
        ``seen`` when the inquiry was checked: written before this returns when it brings
        a counter to half its limit or more (or ``seen`` is not known), else possibly
        written behind."""
        self.counts.add(counted.keys, durable=seen is None or self._near_a_limit(counted, seen))

    def _near_a_limit(self, counted: Counted, seen: Mapping[str, int]) -> bool:
        """Whether one more failure brings a counter to half its limit or more."""
        def near(failures: int, limit: int) -> bool:
            return 2 * (failures + 1) >= limit

        if counted.origin is not None and near(seen.get(counted.origin, 0), self._max):
            return True
        for watched in counted.watched:
            anyone = seen.get(watched.anyone, 0)
            if near(anyone, self._under_attack):
                return True  # the step up comes near, or is on (pairs' limit 1)
            pair = seen.get(watched.pair, 0) + seen.get(watched.legacy, 0)
            if near(pair, pair_limit(anyone, self._max)):
                return True
        return False

    def burst(self, inquiries: Iterable[Counted]) -> BurstCounts:
        """The counters of a burst of ``inquiries``, read at once (``BurstCounts``)."""
        return BurstCounts(self, inquiries)


class Counters(Protocol):
    """Where an inquiry's counters are checked and its failure counted: the limits
    themselves (a read and a write each), or a burst's (``BurstCounts``)."""

    def refused(self, counted: Counted) -> bool: ...

    def failed(self, counted: Counted, seen: Mapping[str, int] | None = None) -> None: ...


class BurstCounts:
    """A burst's counters: read in one statement when the burst begins, its own failures
    counted in memory on top (so an origin that fails ten times within the burst is
    refused from its eleventh inquiry, as one by one), and written at once in the
    caller's transaction (``write``), the one that stores the burst. Other processes'
    failures during the burst (milliseconds) count from the next one. Failures of its
    counters this process still holds to write behind are written first, so the burst's
    write leaves the shared counts exact (another process refuses where this one does).

    Only the counters that may have failures are read (the database's filter,
    ``suspects``), as for one inquiry: a flood of strangers, each a new sender, reads
    none. A counter taken for failure-free that fails in the burst is read before the
    burst asks it again, so a stale filter lets through at most one failing inquiry
    more per counter, as one by one."""

    def __init__(self, limits: InquiryLimits, inquiries: Iterable[Counted]) -> None:
        self._limits = limits
        store = limits.counts
        keys = list(dict.fromkeys(key for counted in inquiries for key in counted.reads))
        if keys and store.unwritten(keys):
            store.flush()  # before the burst's transaction: its own
        suspects = (store.suspects(keys) if isinstance(store, DatabaseFailureCounts)
                    else keys)
        self._read = set(keys)  # known: read now, or taken for failure-free (``_unsure``)
        self._unsure = self._read.difference(suspects)
        self._seen: dict[str, int] = dict(store.counts(suspects)) if suspects else {}
        self.failures: Counter[str] = Counter()

    def refused(self, counted: Counted) -> bool:
        failures = self.failures
        missing = [key for key in counted.reads if key not in self._read
                   or (failures[key] and key in self._unsure)]
        if missing:  # not announced, or failed here though taken for failure-free
            self._seen.update(self._limits.counts.counts(missing))
            self._read.update(missing)
            self._unsure.difference_update(missing)
        seen = self._seen
        return self._limits.refused_by(counted, {
            key: seen.get(key, 0) + failures[key] for key in counted.reads})

    def failed(self, counted: Counted, seen: Mapping[str, int] | None = None) -> None:
        self.failures.update(counted.keys)  # written with the burst (``write``)

    def write(self, connection: Connection) -> None:
        """Add the burst's failures to the shared counters, in ``connection``'s
        transaction; each failure once (a second call writes only those counted since).
        A counter never read is read again if asked after it (its count is then the
        database's, the burst's failures in it once committed)."""
        if self.failures:
            self._limits.counts.add_in(connection, self.failures)
            for key, more in self.failures.items():
                if key in self._unsure:
                    self._read.discard(key)
                    self._unsure.discard(key)
                else:
                    self._seen[key] = self._seen.get(key, 0) + more
            self.failures = Counter()
