"""Multi-part mobile-originated SMS: reading a part from the UDH or the ``sar_*`` TLVs,
and decoding the parts of a message as one text.

Pure. Keeping the parts until their message is whole is not done here but in the
database (``core.messaging.parts.receive_parts``), before each part is acknowledged, so a
restart between parts loses none; the channel stores each part's bytes undecoded and
decodes them joined, with ``Assembled``, because a character may straddle two parts.
"""

from __future__ import annotations

from dataclasses import dataclass

from channels.sms.encoding import Decoded, decode_message, split_udh

__all__ = ["GAP", "Assembled", "Fragment", "parse_fragment"]

Key = tuple[str, int, int]

# In place of parts that never came: not a digit separator, so the digits either side of
# a gap never join into one (wrong) transaction number.
GAP = "…"


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
        """The text; consecutive parts in one coding are decoded as a whole so a character
        split across them (a GSM-7 escape, a surrogate pair) survives, and each run of
        missing parts shows as ``GAP``. Raises ``UndecodableMessage``."""
        pieces: list[Decoded] = []
        expected = 1
        for run in self._runs():
            if run[0].seq > expected:
                pieces.append(Decoded(GAP))
            pieces.append(_decode_run(run))
            expected = run[-1].seq + 1
        if expected <= self.total:
            pieces.append(Decoded(GAP))
        return Decoded("".join(piece.text for piece in pieces),
                       any(piece.lossy for piece in pieces))

    def _runs(self) -> list[tuple[Fragment, ...]]:
        """The fragments in order, cut wherever a part is missing."""
        runs: list[list[Fragment]] = []
        for fragment in sorted(self.fragments, key=lambda f: f.seq):
            if runs and runs[-1][-1].seq + 1 == fragment.seq:
                runs[-1].append(fragment)
            else:
                runs.append([fragment])
        return [tuple(run) for run in runs]

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


def _decode_run(fragments: tuple[Fragment, ...]) -> Decoded:
    codings = {fragment.data_coding for fragment in fragments}
    if len(codings) == 1:
        return decode_message(b"".join(f.payload for f in fragments), codings.pop())
    parts = [decode_message(f.payload, f.data_coding) for f in fragments]
    return Decoded("".join(part.text for part in parts), any(part.lossy for part in parts))
