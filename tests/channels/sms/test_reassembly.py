"""Multi-part MO put back together: out of order, duplicated, expired, bounded."""

from __future__ import annotations

import pytest

from channels.sms.encoding import MalformedUdh, sms_parts
from channels.sms.reassembly import Fragment, Reassembler, parse_fragment
from tests.conftest import Clock

PHONE = "966501234567"
OTHER = "966507654321"
ARABIC = "استعلام عن المعاملة رقم ٤٤٧١٢٣٤ " * 5  # 160 characters: 3 UCS-2 parts


def fragments(text: str, reference: int = 0x2A, source: str = PHONE) -> list[Fragment]:
    return [parse_fragment(source, s.payload, s.esm_class, s.data_coding)
            for s in sms_parts(text, reference)]


def sar(source: str, payload: bytes, reference: int, total: int, seq: int) -> Fragment:
    return parse_fragment(source, payload, 0x00, 0x08, sar_msg_ref_num=reference,
                          sar_total_segments=total, sar_segment_seqnum=seq)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reassembler(clock) -> Reassembler:
    return Reassembler(timeout=60, max_pending=3, clock=clock)


@pytest.mark.parametrize("order", [
    [0, 1, 2], [2, 0, 1], [1, 2, 0], [2, 2, 1, 0, 1],  # last one: duplicates
])
def test_arabic_parts_in_any_order_give_the_text_once(reassembler, order):
    parts = fragments(ARABIC)
    done = [message for index in order for message in reassembler.add(parts[index])]

    assert len(done) == 1
    assert done[0].complete and done[0].text == ARABIC
    assert [f.seq for f in done[0].fragments] == [1, 2, 3]
    assert len(reassembler) == 0


@pytest.mark.parametrize(("text", "reference"), [
    ("ب" * 66 + "\U0001f600" + "ب" * 20, 7),  # the pair stays whole in our split ...
    ("a" * 152 + "€" + "b" * 10, 8),  # ... as does the escape
])
def test_characters_near_part_boundaries_survive(reassembler, text, reference):
    [message] = [m for f in fragments(text, reference) for m in reassembler.add(f)]

    assert message.text == text


def test_a_pair_split_by_the_sender_is_rejoined(reassembler):
    # A phone that cuts a surrogate pair between parts: decoding the joined bytes heals it.
    payload = ("ب" * 2 + "\U0001f600").encode("utf-16-be")
    first, second = payload[:6], payload[6:]
    reassembler.add(sar(PHONE, first, 300, 2, 1))
    [message] = reassembler.add(sar(PHONE, second, 300, 2, 2))

    assert message.text == "بب\U0001f600"
    assert not message.decode().lossy


def test_sar_tlvs_join_parts(reassembler):
    assert reassembler.add(sar(PHONE, "حالة ".encode("utf-16-be"), 513, 2, 2)) == []
    [message] = reassembler.add(sar(PHONE, "استعلام ".encode("utf-16-be"), 513, 2, 1))

    assert message.text == "استعلام حالة "
    assert (message.reference, message.total) == (513, 2)


def test_a_single_sms_comes_straight_back(reassembler):
    [message] = reassembler.add(parse_fragment(PHONE, "٤٤٧١٢٣٤".encode("utf-16-be"), 0, 8))

    assert message.complete and message.text == "٤٤٧١٢٣٤"
    assert len(reassembler) == 0


@pytest.mark.parametrize(("esm_class", "udh", "tlvs"), [
    (0x40, bytes([5, 0, 3, 1, 2, 3]), {}),  # seq beyond total
    (0x00, b"", {"sar_msg_ref_num": 1, "sar_total_segments": 2, "sar_segment_seqnum": 0}),
    (0x00, b"", {"sar_msg_ref_num": 1, "sar_total_segments": 2}),  # seqnum missing
])
def test_inconsistent_numbering_is_a_single_message(reassembler, esm_class, udh, tlvs):
    fragment = parse_fragment(PHONE, udh + b"4471234", esm_class, 0, **tlvs)

    [message] = reassembler.add(fragment)
    assert message.text == "4471234"


def test_malformed_udh_raises_our_error():
    with pytest.raises(MalformedUdh):
        parse_fragment(PHONE, b"\x09\x00\x03", 0x40, 0)


def test_same_reference_from_two_phones_is_two_messages(reassembler):
    mine, theirs = fragments("ب" * 100, source=PHONE), fragments("ت" * 100, source=OTHER)

    done = [m for pair in zip(mine, theirs, strict=True) for f in pair for m in reassembler.add(f)]

    assert sorted((m.source, m.text) for m in done) == [(PHONE, "ب" * 100), (OTHER, "ت" * 100)]


def test_incomplete_set_expires_as_what_arrived(reassembler, clock):
    first, _, third = fragments(ARABIC)
    reassembler.add(third)
    reassembler.add(first)

    clock.now += 59
    assert reassembler.expire() == []
    clock.now += 1
    [message] = reassembler.expire()

    assert not message.complete
    assert message.missing == (2,)
    assert message.text.startswith(ARABIC[:67]) and message.text.endswith(ARABIC[134:])
    assert len(reassembler) == 0


def test_add_also_hands_back_expired_sets(reassembler, clock):
    reassembler.add(fragments(ARABIC)[0])
    clock.now += 61

    [expired, single] = reassembler.add(parse_fragment(OTHER, b"4471234", 0, 0))

    assert (expired.source, expired.missing) == (PHONE, (2, 3))
    assert single.text == "4471234"


def test_pending_sets_are_bounded_and_the_oldest_is_handed_back(reassembler):
    for reference in (1, 2, 3):
        assert reassembler.add(fragments(ARABIC, reference)[0]) == []

    [evicted] = reassembler.add(fragments(ARABIC, 4)[0])

    assert (evicted.reference, evicted.complete) == (1, False)
    assert len(reassembler) == 3


def test_a_late_duplicate_of_a_finished_message_is_ignored(reassembler, clock):
    parts = fragments(ARABIC)
    for part in parts:
        reassembler.add(part)

    clock.now += 30
    assert reassembler.add(parts[1]) == []
    assert len(reassembler) == 0


def test_a_new_message_reusing_a_finished_reference_is_kept(reassembler):
    for part in fragments(ARABIC, 9):
        reassembler.add(part)

    new = fragments("ت" * 150, 9)  # same reference and total, different text
    done = [m for f in new for m in reassembler.add(f)]

    assert [m.text for m in done] == ["ت" * 150]


def test_mixed_codings_decode_part_by_part(reassembler):
    reassembler.add(parse_fragment(PHONE, b"status ", 0, 0, sar_msg_ref_num=5,
                                   sar_total_segments=2, sar_segment_seqnum=1))
    [message] = reassembler.add(sar(PHONE, "٤٤٧١٢٣٤".encode("utf-16-be"), 5, 2, 2))

    assert message.text == "status ٤٤٧١٢٣٤"


@pytest.mark.parametrize(("timeout", "max_pending"), [(0, 10), (10, 0)])
def test_nonsense_limits_are_refused(timeout, max_pending):
    with pytest.raises(ValueError):
        Reassembler(timeout=timeout, max_pending=max_pending)
