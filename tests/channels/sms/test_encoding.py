"""SMS text to short_message octets and back: tables, Arabic first."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from smpplib import consts, gsm

from channels.sms.encoding import (
    DATA_CODING_GSM7,
    DATA_CODING_UCS2,
    ESM_CLASS_UDHI,
    GSM7_PART,
    GSM7_SINGLE,
    UCS2_PART,
    UCS2_SINGLE,
    MalformedUdh,
    MessageTooLong,
    SmsEncodingError,
    UndecodableMessage,
    decode_message,
    decode_short_message,
    gsm7_decode,
    gsm7_encode,
    is_gsm7,
    segment_count,
    sms_parts,
    split_udh,
)
from core.transactions import render
from core.transactions.answer import Answer, Name, Outcome, TransactionView

ARABIC_ANSWER = "المعاملة 4471234: قيد الدراسة في إدارة الحقوق المدنية"
EMOJI = "\U0001f600"  # a surrogate pair in UTF-16


def body(segment) -> bytes:
    return segment.payload[6:] if segment.total > 1 else segment.payload


def joined_text(segments) -> str:
    return "".join(decode_short_message(body(s), s.data_coding) for s in segments)


# --- choosing the coding and counting --------------------------------------------------

@pytest.mark.parametrize(("text", "coding", "parts"), [
    (ARABIC_ANSWER, DATA_CODING_UCS2, 1),
    ("ب" * 70, DATA_CODING_UCS2, 1),
    ("ب" * 71, DATA_CODING_UCS2, 2),
    ("ب" * 134, DATA_CODING_UCS2, 2),
    ("ب" * 135, DATA_CODING_UCS2, 3),
    ("٤٤٧١٢٣٤", DATA_CODING_UCS2, 1),  # Arabic-Indic digits are not GSM-7
    ("Transaction 4471234 a" + "é", DATA_CODING_GSM7, 1),
    ("a" * 160, DATA_CODING_GSM7, 1),
    ("a" * 161, DATA_CODING_GSM7, 2),
    ("a" * 306, DATA_CODING_GSM7, 2),
    ("a" * 307, DATA_CODING_GSM7, 3),
    ("€" * 80, DATA_CODING_GSM7, 1),  # 160 septets: each € is ESC + 0x65
    ("€" * 80 + "a", DATA_CODING_GSM7, 2),
    ("a" * 159 + "{", DATA_CODING_GSM7, 2),
    ("§¤¡¿ÄÖÑÜäöñüà", DATA_CODING_GSM7, 1),
    ("`", DATA_CODING_UCS2, 1),  # backtick is not in GSM-7 (smpplib sends it as §)
    ("\x1b", DATA_CODING_UCS2, 1),  # a literal ESC is not a character
    ("", DATA_CODING_GSM7, 1),
])
def test_coding_and_part_count(text, coding, parts):
    segments = sms_parts(text, reference=7)

    assert {s.data_coding for s in segments} == {coding}
    assert len(segments) == parts == segment_count(text)
    assert joined_text(segments) == text


def test_limits_agree_with_smpplib():
    assert (GSM7_SINGLE, GSM7_PART) == (consts.SEVENBIT_LENGTH, consts.SEVENBIT_PART_SIZE)
    assert (UCS2_SINGLE * 2, UCS2_PART * 2) == (consts.UCS2_LENGTH, consts.UCS2_PART_SIZE)


@pytest.mark.parametrize("text", ["Transaction 4471234: Completed", "a" * 400, "x{y}[z]~^|\\€"])
def test_gsm7_octets_match_smpplib_where_it_is_right(text):
    ours = gsm7_encode(text)
    assert ours == gsm.gsm_encode(text)


@pytest.mark.parametrize(("lang", "status"), [
    ("ar", "registered"), ("ar", "referred"), ("ar", "assigned"), ("ar", "closed"),
    ("en", "registered"), ("en", "assigned"),
])
def test_common_status_answers_fit_one_segment(lang, status):
    view = TransactionView(
        number="4471234", status=status, subject="طلب إفادة",
        registered_at=datetime(2025, 11, 23, 6, 15, tzinfo=UTC),
        department=Name("إدارة الحقوق المدنية", "Civil Rights Affairs"),
        outgoing_number="98765", destination_agency=Name("وزارة الداخلية", "Ministry of Interior"),
        issued_at=datetime(2025, 11, 24, 21, 30, tzinfo=UTC))
    text = render.sms_text(Answer(Outcome.FOUND, view), lang, ZoneInfo("Asia/Riyadh"))

    assert segment_count(text) == 1
    if lang == "ar":
        assert sms_parts(text, 0)[0].data_coding == DATA_CODING_UCS2


@pytest.mark.parametrize("outcome", [Outcome.NOT_FOUND, Outcome.INVALID, Outcome.RATE_LIMITED])
def test_arabic_answers_without_a_transaction_fit_one_segment(outcome):
    text = render.sms_text(Answer(outcome), "ar", ZoneInfo("Asia/Riyadh"))

    assert segment_count(text) == 1


# --- concatenation -----------------------------------------------------------------------

def test_long_arabic_text_gets_udh_and_udhi():
    segments = sms_parts("ب" * 140, reference=0xA5)

    assert [(s.part, s.total, s.esm_class) for s in segments] == [
        (1, 3, ESM_CLASS_UDHI), (2, 3, ESM_CLASS_UDHI), (3, 3, ESM_CLASS_UDHI)]
    assert [s.payload[:6] for s in segments] == [
        bytes([5, 0, 3, 0xA5, 3, seq]) for seq in (1, 2, 3)]
    assert [len(s.payload) for s in segments] == [6 + 134, 6 + 134, 6 + 12]


def test_single_part_has_no_udh():
    [segment] = sms_parts(ARABIC_ANSWER, reference=1)

    assert segment.esm_class == 0
    assert segment.payload == ARABIC_ANSWER.encode("utf-16-be")
    assert (segment.part, segment.total) == (1, 1)


@pytest.mark.parametrize("prefix", [66, 65])
def test_surrogate_pair_is_never_split(prefix):
    text = "ب" * prefix + EMOJI + "ب" * 10

    segments = sms_parts(text, reference=3)

    for segment in segments:
        assert len(body(segment)) <= UCS2_PART * 2
        body(segment).decode("utf-16-be")  # strict: fails on half a pair
    assert joined_text(segments) == text


def test_emoji_counts_two_ucs2_units():
    assert segment_count("ب" * 68 + EMOJI) == 1
    assert segment_count("ب" * 69 + EMOJI) == 2


def test_gsm7_escape_is_never_split():
    text = "a" * 152 + "€" + "b" * 10

    segments = sms_parts(text, reference=9)

    assert body(segments[0]) == b"a" * 152
    assert body(segments[1]).startswith(b"\x1b\x65")
    assert joined_text(segments) == text


def test_gsm7_is_sent_unpacked():
    [segment] = sms_parts("@A{", reference=0)

    assert segment.payload == b"\x00\x41\x1b\x28"
    assert segment.data_coding == 0x00


def test_too_long_and_bad_reference_raise_our_errors():
    with pytest.raises(MessageTooLong):
        sms_parts("ب" * (67 * 255 + 1), reference=1)
    assert segment_count("ب" * (67 * 255 + 1)) == 256
    assert len(sms_parts("ب" * (67 * 255), reference=1)) == 255
    with pytest.raises(SmsEncodingError):
        sms_parts("hi", reference=256)
    with pytest.raises(SmsEncodingError):
        gsm7_encode("سلام")


# --- inbound -----------------------------------------------------------------------------

@pytest.mark.parametrize(("payload", "coding", "text", "lossy"), [
    ("استعلام ٤٤٧١٢٣٤".encode("utf-16-be"), 0x08, "استعلام ٤٤٧١٢٣٤", False),
    ("حالة ۴۴۷".encode("utf-16-be"), 0x18, "حالة ۴۴۷", False),  # GSM DCS: UCS-2, class 0
    ("ب".encode("utf-16-be") + b"\x06", 0x08, "ب\ufffd", True),  # odd length
    (b"\xd8\x3d", 0x08, "\ufffd", True),  # lone high surrogate
    (EMOJI.encode("utf-16-be"), 0x08, EMOJI, False),
    (b"status 4471234", 0x00, "status 4471234", False),  # ASCII through GSM-7
    (b"\x00\x01\x1b\x65\x1b\x3c\x5f\x60", 0x00, "@£€[§¿", False),
    (b"a\x1b\x41", 0x00, "aA", False),  # unknown escape: the base character
    (b"a\x1b", 0x00, "a", False),  # trailing escape dropped
    (b"caf\xe9 4471234", 0x00, "café 4471234", True),  # Latin-1 sent as "default"
    (b"4471234", 0xF0, "4471234", False),
    (b"status 4471234", 0x01, "status 4471234", False),
    (b"\xe9t\xe9", 0x03, "été", False),
    (b"\xb1\xd0", 0x06, "Ба", False),
    (b"caf\xe9", 0x0E, "café", True),  # unknown coding: Latin-1, flagged
])
def test_decode(payload, coding, text, lossy):
    decoded = decode_message(payload, coding)

    assert (decoded.text, decoded.lossy) == (text, lossy)
    assert decode_short_message(payload, coding) == text


@pytest.mark.parametrize("coding", [0x02, 0x04, 0xF4, 0x14, 0x28])
def test_binary_is_undecodable(coding):
    with pytest.raises(UndecodableMessage):
        decode_short_message(b"\x01\x02", coding)


def test_gsm7_round_trip_of_whole_alphabet():
    text = "".join(c for c in gsm.GSM_CHARACTER_TABLE[:128] if c not in "\x1b`") + "§^{}\\[~]|€\x0c"

    assert is_gsm7(text)
    assert gsm7_decode(gsm7_encode(text)).text == text


@pytest.mark.parametrize(("payload", "esm_class", "reference", "total", "seq", "rest"), [
    (bytes([5, 0, 3, 0x2A, 2, 1]) + "ب".encode("utf-16-be"), 0x40, 0x2A, 2, 1,
     "ب".encode("utf-16-be")),
    (bytes([6, 8, 4, 0x12, 0x34, 3, 2]) + b"hi", 0x40, 0x1234, 3, 2, b"hi"),
    (bytes([11, 5, 4, 0x0B, 0x84, 0x23, 0xF0, 0, 3, 9, 3, 3]) + b"x", 0x43, 9, 3, 3, b"x"),
    (bytes([5, 0, 3, 1, 2, 3]) + b"x", 0x40, None, None, None, b"x"),  # seq > total
    (bytes([5, 0, 3, 1, 0, 0]) + b"x", 0x40, None, None, None, b"x"),  # total 0
])
def test_split_udh(payload, esm_class, reference, total, seq, rest):
    udh, body_ = split_udh(payload, esm_class)

    assert udh is not None
    assert (udh.reference, udh.total, udh.seq, body_) == (reference, total, seq, rest)


def test_split_udh_without_udhi_keeps_payload():
    payload = bytes([5, 0, 3, 1, 2, 1]) + b"x"

    assert split_udh(payload, 0x00) == (None, payload)


@pytest.mark.parametrize("payload", [b"", b"\x07\x00\x03", bytes([4, 0, 3, 1, 2]), b"\x02\x00"])
def test_malformed_udh_raises_our_error(payload):
    with pytest.raises(MalformedUdh):
        split_udh(payload, 0x40)


def test_our_segments_parse_back():
    for segment in sms_parts("ب" * 100, reference=200):
        udh, _ = split_udh(segment.payload, segment.esm_class)
        assert udh is not None
        assert (udh.reference, udh.total, udh.seq) == (200, segment.total, segment.part)


def test_random_texts_split_within_capacity_and_join_back_exactly():
    import random

    from channels.sms.encoding import _ENCODE, decode_message, split_udh

    rng = random.Random(74747)
    gsm_chars = list(_ENCODE)
    escaped = [char for char, code in _ENCODE.items() if len(code) == 2]
    arabic = [chr(c) for c in range(0x0621, 0x064B)] + [" ", "٤", "😀", "€", "a"]
    for _ in range(2000):
        size = rng.randrange(0, 700)
        if rng.random() < 0.5:  # GSM-7, escapes often at a part's edge
            text = "".join(rng.choice(escaped if rng.random() < 0.3 else gsm_chars)
                           for _ in range(size))
        else:  # UCS-2 with pairs (emoji) among Arabic
            text = "".join(rng.choice(arabic) for _ in range(size))
        parts = sms_parts(text, 7)
        bodies = [split_udh(p.payload, p.esm_class)[1] for p in parts]
        limit = 160 if parts[0].data_coding == 0 else 140
        if len(parts) > 1:
            limit = 153 if parts[0].data_coding == 0 else 134
        assert all(len(body) <= limit for body in bodies)
        # Each part decodes on its own (no escape or surrogate pair cut in two) ...
        decoded = [decode_message(body, parts[0].data_coding) for body in bodies]
        assert not any(d.lossy for d in decoded)
        # ... and the parts join back to the text.
        assert "".join(d.text for d in decoded) == text
