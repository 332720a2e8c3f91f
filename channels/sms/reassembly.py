"""Joining multi-part mobile-originated SMS, from the UDH or the ``sar_*`` TLVs.

Pure and in memory: parts are keyed by (source address, reference, total), may arrive
out of order or twice, and a set that never completes is handed back as what arrived
once it has waited ``timeout`` seconds (or when ``max_pending`` sets would be exceeded),
so nothing is dropped silently; the caller decides what to answer. The SMPP channel
persists each part before acknowledging its ``deliver_sm`` and rebuilds this state from
the store on start, so a restart loses no part.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from channels.sms.encoding import Decoded, decode_message, split_udh

__all__ = ["Assembled", "Fragment", "Reassembler", "parse_fragment"]

Key = tuple[str, int, int]


@dataclass(frozen=True)
class Fragment:
    """One deliver_sm's part of a message; ``payload`` has no UDH. A whole SMS is 1 of 1."""

    source: str
    payload: bytes
    data_coding: int
    reference: int = 0
    total: int = 1
    seq: int = 1

    @property
    def key(self) -> Key:
        return (self.source, self.reference, self.total)


@dataclass(frozen=True)
class Assembled:
    """A message put back together, or as much of it as arrived (``complete`` False)."""

    source: str
    reference: int
    total: int
    fragments: tuple[Fragment, ...]

    @property
    def complete(self) -> bool:
        return len(self.fragments) == self.total

    @property
    def missing(self) -> tuple[int, ...]:
        arrived = {fragment.seq for fragment in self.fragments}
        return tuple(seq for seq in range(1, self.total + 1) if seq not in arrived)

    def decode(self) -> Decoded:
        """The text; one coding is decoded as a whole so a character split across parts
        (a GSM-7 escape, a surrogate pair) survives. Raises ``UndecodableMessage``."""
        codings = {fragment.data_coding for fragment in self.fragments}
        if len(codings) == 1:
            payload = b"".join(fragment.payload for fragment in self.fragments)
            return decode_message(payload, codings.pop())
        parts = [decode_message(f.payload, f.data_coding) for f in self.fragments]
        return Decoded("".join(part.text for part in parts), any(part.lossy for part in parts))

    @property
    def text(self) -> str:
        return self.decode().text


def parse_fragment(source: str, short_message: bytes, esm_class: int, data_coding: int, *,
                   sar_msg_ref_num: int | None = None, sar_total_segments: int | None = None,
                   sar_segment_seqnum: int | None = None) -> Fragment:
    """A deliver_sm as a Fragment: concatenation from the UDH, else from the SAR TLVs.

    Raises ``MalformedUdh`` for a header that does not fit. Inconsistent numbering
    (total 0, seq outside 1..total) makes it a single message, as TS 23.040 says.
    """
    udh, body = split_udh(short_message, esm_class)
    if udh is not None and udh.concatenated:
        return Fragment(source, body, data_coding, udh.reference or 0, udh.total or 1,
                        udh.seq or 1)
    if (sar_msg_ref_num is not None and sar_total_segments is not None
            and sar_segment_seqnum is not None and 1 <= sar_segment_seqnum <= sar_total_segments):
        return Fragment(source, body, data_coding, sar_msg_ref_num, sar_total_segments,
                        sar_segment_seqnum)
    return Fragment(source, body, data_coding)


@dataclass
class _Pending:
    started: float
    fragments: dict[int, Fragment] = field(default_factory=dict)


class Reassembler:
    """Collects fragments; ``add`` and ``expire`` return the messages that are done."""

    def __init__(self, timeout: float = 300.0, max_pending: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if timeout <= 0 or max_pending < 1:
            raise ValueError("timeout must be positive and max_pending at least 1")
        self.timeout = timeout
        self.max_pending = max_pending
        self._clock = clock
        self._pending: dict[Key, _Pending] = {}  # insertion order = arrival order
        # Parts of recently completed sets, so a redelivered part is not a new message.
        self._done: dict[Key, tuple[float, frozenset[tuple[int, bytes]]]] = {}

    def __len__(self) -> int:
        """Sets waiting for parts."""
        return len(self._pending)

    def add(self, fragment: Fragment) -> list[Assembled]:
        """Take a part; return what completed, plus any sets expired or evicted meanwhile.

        A part seen before (same key and number) is ignored, also shortly after its set
        completed; a different part under a finished set's key starts a new set.
        """
        ready = self.expire()
        if fragment.total == 1:
            return [*ready, Assembled(fragment.source, fragment.reference, 1, (fragment,))]
        key = fragment.key
        if (fragment.seq, _digest(fragment)) in self._done.get(key, (0.0, frozenset()))[1]:
            return ready
        pending = self._pending.get(key)
        if pending is None:
            while len(self._pending) >= self.max_pending:
                ready.append(self._release(next(iter(self._pending))))
            pending = self._pending[key] = _Pending(self._clock())
        pending.fragments.setdefault(fragment.seq, fragment)
        if len(pending.fragments) == fragment.total:
            assembled = self._release(key)
            self._remember(assembled)
            ready.append(assembled)
        return ready

    def expire(self) -> list[Assembled]:
        """Hand back, incomplete, every set that has waited ``timeout`` seconds."""
        now = self._clock()
        due = [key for key, pending in self._pending.items()
               if now - pending.started >= self.timeout]
        for key in [key for key, (done_at, _) in self._done.items()
                    if now - done_at >= self.timeout]:
            del self._done[key]
        return [self._release(key) for key in due]

    def _release(self, key: Key) -> Assembled:
        pending = self._pending.pop(key)
        source, reference, total = key
        fragments = tuple(pending.fragments[seq] for seq in sorted(pending.fragments))
        return Assembled(source, reference, total, fragments)

    def _remember(self, assembled: Assembled) -> None:
        key = (assembled.source, assembled.reference, assembled.total)
        self._done.pop(key, None)
        while len(self._done) >= self.max_pending:
            del self._done[next(iter(self._done))]
        self._done[key] = (self._clock(), frozenset(
            (fragment.seq, _digest(fragment)) for fragment in assembled.fragments))


def _digest(fragment: Fragment) -> bytes:
    return hashlib.blake2b(fragment.payload, digest_size=8).digest()
