"""Multi-part MO put back together: parts read from the UDH or the SAR TLVs, decoded as
one text in any order, with the missing parts of an incomplete message marked. (Keeping
the parts until the message is whole is the database's: tests/core/test_sms_parts.py.)"""

from __future__ import annotations

import pytest

from channels.sms.encoding import MalformedUdh, sms_parts
from channels.sms.reassembly import GAP, Assembled, Fragment, parse_fragment
from core.identity.digits import extract_transaction_number

PHONE = "966501234567"
ARABIC = "استعلام عن المعاملة رقم ٤٤٧١٢٣٤ " * 5  # 160 characters: 3 UCS-2 parts


def fragments(text: str, reference: int = 0x2A, source: str = PHONE) -> list[Fragment]:
    return [parse_fragment(source, s.payload, s.esm_class, s.data_coding)
            for s in sms_parts(text, reference)]


def sar(source: str, payload: bytes, reference: int, total: int, seq: int) -> Fragment:
    return parse_fragment(source, payload, 0x00, 0x08, sar_msg_ref_num=reference,
                          sar_total_segments=total, sar_segment_seqnum=seq)


def join(*parts: Fragment) -> Assembled:
    """The message these parts (of one message, each once) make, as the channel joins
    what the database kept."""
    first = parts[0]
    return Assembled(first.source, first.reference, first.total, parts)


@pytest.mark.parametrize("order", [[0, 1, 2], [2, 0, 1], [1, 2, 0]])
def test_arabic_parts_in_any_order_give_the_text(order):
    parts = fragments(ARABIC)
    message = join(*(parts[index] for index in order))

    assert message.complete and message.text == ARABIC
    assert message.missing == ()


@pytest.mark.parametrize(("text", "reference"), [
    ("ب" * 66 + "\U0001f600" + "ب" * 20, 7),  # the pair stays whole in our split ...
    ("a" * 152 + "€" + "b" * 10, 8),  # ... as does the escape
])
def test_characters_near_part_boundaries_survive(text, reference):
    assert join(*fragments(text, reference)).text == text


def test_a_pair_split_by_the_sender_is_rejoined():
    # A phone that cuts a surrogate pair between parts: decoding the joined bytes heals it.
    payload = ("ب" * 2 + "\U0001f600").encode("utf-16-be")
    message = join(sar(PHONE, payload[:6], 300, 2, 1), sar(PHONE, payload[6:], 300, 2, 2))

    assert message.text == "بب\U0001f600"
    assert not message.decode().lossy


def test_an_escape_split_by_the_sender_is_rejoined():
    first = parse_fragment(PHONE, b"price 5\x1b", 0, 0, sar_msg_ref_num=3,
                           sar_total_segments=2, sar_segment_seqnum=1)
    second = parse_fragment(PHONE, b"\x65 only", 0, 0, sar_msg_ref_num=3,
                            sar_total_segments=2, sar_segment_seqnum=2)

    assert join(second, first).text == "price 5€ only"


def test_sar_tlvs_join_parts():
    message = join(sar(PHONE, "حالة ".encode("utf-16-be"), 513, 2, 2),
                   sar(PHONE, "استعلام ".encode("utf-16-be"), 513, 2, 1))

    assert message.text == "استعلام حالة "
    assert (message.reference, message.total) == (513, 2)


def test_a_single_sms_is_one_of_one():
    fragment = parse_fragment(PHONE, "٤٤٧١٢٣٤".encode("utf-16-be"), 0, 8)

    assert (fragment.total, fragment.seq) == (1, 1)
    assert join(fragment).complete and join(fragment).text == "٤٤٧١٢٣٤"


@pytest.mark.parametrize(("esm_class", "udh", "tlvs"), [
    (0x40, bytes([5, 0, 3, 1, 2, 3]), {}),  # seq beyond total
    (0x00, b"", {"sar_msg_ref_num": 1, "sar_total_segments": 2, "sar_segment_seqnum": 0}),
    (0x00, b"", {"sar_msg_ref_num": 1, "sar_total_segments": 2}),  # seqnum missing
])
def test_inconsistent_numbering_is_a_single_message(esm_class, udh, tlvs):
    fragment = parse_fragment(PHONE, udh + b"4471234", esm_class, 0, **tlvs)

    assert fragment.total == 1
    assert join(fragment).text == "4471234"


def test_malformed_udh_raises_our_error():
    with pytest.raises(MalformedUdh):
        parse_fragment(PHONE, b"\x09\x00\x03", 0x40, 0)


def test_an_incomplete_message_marks_each_gap():
    first, second, third = fragments(ARABIC)
    texts = [part.payload.decode("utf-16-be") for part in (first, second, third)]
    assert "".join(texts) == ARABIC  # split between words: each part whole words

    assert join(first, third).text == texts[0] + GAP + texts[2]
    assert join(second).text == GAP + texts[1] + GAP
    assert join(first, third).missing == (2,) and not join(first, third).complete


def test_a_gap_never_joins_the_digits_either_side_into_one_number():
    parts = [sar(PHONE, text.encode("utf-16-be"), 9, 3, seq)
             for seq, text in ((1, "استعلام ٤٤٧"), (3, "١٢٣٤"))]

    message = join(*parts)

    assert message.text == "استعلام ٤٤٧" + GAP + "١٢٣٤"
    assert extract_transaction_number(message.text) is None
    assert extract_transaction_number("استعلام ٤٤٧١٢٣٤") == "4471234"


def test_mixed_codings_decode_part_by_part():
    message = join(parse_fragment(PHONE, b"status ", 0, 0, sar_msg_ref_num=5,
                                  sar_total_segments=2, sar_segment_seqnum=1),
                   sar(PHONE, "٤٤٧١٢٣٤".encode("utf-16-be"), 5, 2, 2))

    assert message.text == "status ٤٤٧١٢٣٤"
