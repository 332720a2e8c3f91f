"""Properties of what the SMSC sends us: short messages in any data coding, user data
headers and the SAR TLVs that number the parts of a long message, and delivery receipts.

Each parser takes any bytes or text and answers within its contract or raises its
documented error (``UndecodableMessage`` and its ``MalformedUdh``, ``InvalidReceipt``),
quickly; and what we send (``sms_parts``) is read back as the text it was made from,
whatever order its parts arrive in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from channels.sms.encoding import (
    ESM_CLASS_UDHI,
    MalformedUdh,
    UndecodableMessage,
    decode_message,
    segment_count,
    sms_parts,
    split_udh,
)
from channels.sms.reassembly import GAP, Assembled, parse_fragment
from channels.sms.receipts import (
    InvalidReceipt,
    ReceiptStatus,
    normalize_message_id,
    parse_receipt,
)
from tests.properties import PROPERTY, outside_text

short_messages = st.binary(max_size=254)
codings = st.integers(min_value=0, max_value=0xFF)
octets = st.integers(min_value=0, max_value=0xFF)
# GSM-7 text (with the extension table's characters, which take an escape) or anything.
texts = st.one_of(
    st.text(alphabet="@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ!\"#¤%&'()*+,-./0123456789:;<=>?"
            "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€",
            max_size=1200),
    st.text(max_size=800),
    st.text(alphabet="استعلام ٠١٢٣٤٥٦٧٨٩😀🇸🇦€", max_size=800),
)


@PROPERTY
@given(texts, octets, st.randoms(use_true_random=False))
def test_what_we_send_is_read_back_whatever_order_the_parts_arrive_in(text, reference, rnd):
    segments = sms_parts(text, reference)
    assert len(segments) == segment_count(text)
    assert all(len(segment.payload) <= 140 for segment in segments)
    fragments = [parse_fragment("966551234567", s.payload, s.esm_class, s.data_coding)
                 for s in segments]
    rnd.shuffle(fragments)
    first = fragments[0]
    assembled = Assembled(first.source, first.reference, first.total, tuple(fragments))
    assert assembled.complete and not assembled.missing
    decoded = assembled.decode()
    assert decoded.text == text and not decoded.lossy


@PROPERTY
@given(short_messages, codings)
def test_any_short_message_decodes_or_is_refused_as_undecodable(payload, coding):
    try:
        decoded = decode_message(payload, coding)
    except UndecodableMessage:
        return
    assert len(decoded.text) <= len(payload)


@PROPERTY
@given(short_messages, st.integers(min_value=0, max_value=0xFF))
def test_any_user_data_header_is_read_or_refused_as_malformed(payload, esm_class):
    try:
        udh, body = split_udh(payload, esm_class)
    except MalformedUdh:
        assert esm_class & ESM_CLASS_UDHI
        return
    assert payload.endswith(body)
    if udh is not None and udh.concatenated:
        assert udh.total is not None and udh.seq is not None
        assert 1 <= udh.seq <= udh.total <= 0xFF


sar = st.none() | st.integers(min_value=0, max_value=0xFFFF)


@PROPERTY
@given(short_messages, octets, codings, sar, sar, sar)
def test_a_part_from_the_udh_or_the_sar_tlvs_is_numbered_within_its_message(
        payload, esm_class, coding, ref, total, seq):
    try:
        fragment = parse_fragment("966551234567", payload, esm_class, coding,
                                  sar_msg_ref_num=ref, sar_total_segments=total,
                                  sar_segment_seqnum=seq)
    except MalformedUdh:
        return
    assert 1 <= fragment.seq <= fragment.total
    assert len(fragment.payload) <= len(payload)


@st.composite
def some_parts(draw):
    """Some of a message's parts, each any bytes in any coding: what a lossy or hostile
    SMSC can deliver under one reference."""
    total = draw(st.integers(min_value=1, max_value=12))
    seqs = draw(st.sets(st.integers(min_value=1, max_value=total), min_size=1))
    return total, [(seq, draw(short_messages), draw(st.sampled_from([0, 1, 3, 8, 0xF0, 0x19])))
                   for seq in sorted(seqs)]


@PROPERTY
@given(some_parts())
def test_the_parts_that_came_are_read_with_a_gap_for_each_run_missing(parts):
    total, pieces = parts
    fragments = tuple(parse_fragment("966551234567", payload, 0, coding, sar_msg_ref_num=7,
                                     sar_total_segments=total, sar_segment_seqnum=seq)
                      for seq, payload, coding in pieces)
    assembled = Assembled("966551234567", 7, total, fragments)
    try:
        text = assembled.decode().text
    except UndecodableMessage:
        return
    size = sum(len(payload) for _seq, payload, _coding in pieces)
    assert len(text) <= size + len(GAP) * (len(assembled.missing) + 1)
    assert (GAP in text) or assembled.complete or not assembled.missing


# --- delivery receipts ---------------------------------------------------------------

receipt_ids = st.text(alphabet="0123456789abcdefABCDEF", min_size=1, max_size=64)
stats = st.sampled_from(["DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN",
                         "REJECTD", "ENROUTE"])
stamps = st.datetimes().map(lambda d: d.strftime("%y%m%d%H%M"))


@PROPERTY
@given(outside_text, st.none() | outside_text, st.none() | st.integers(-5, 300))
def test_any_receipt_text_is_read_or_refused_for_want_of_an_id(text, message_id, state):
    try:
        receipt = parse_receipt(text, message_id, state)
    except InvalidReceipt:
        return
    assert receipt.message_id and isinstance(receipt.status, ReceiptStatus)
    assert len(receipt.message_id) <= max(len(text), len(message_id or ""))


@PROPERTY
@given(receipt_ids, stats, st.integers(0, 999), st.integers(0, 999), stamps, stamps,
       st.text(alphabet="0123456789", min_size=3, max_size=3), outside_text)
def test_a_standard_receipt_is_read_back(message_id, stat, sub, dlvrd, submitted, done,
                                         err, text):
    written = (f"id:{message_id} sub:{sub:03d} dlvrd:{dlvrd:03d} submit date:{submitted} "
               f"done date:{done} stat:{stat} err:{err} text:{text}")
    receipt = parse_receipt(written)
    assert (receipt.message_id, receipt.stat, receipt.error) == (message_id, stat, err)
    assert (receipt.submitted, receipt.delivered) == (sub, dlvrd)
    assert receipt.submit_date.strftime("%y%m%d%H%M") == submitted
    assert receipt.text == text.lstrip()  # the space after "text:" is the separator's
    assert receipt.status is ReceiptStatus[stat]


@PROPERTY
@given(st.one_of(outside_text, st.text(alphabet="0123456789abcdef", max_size=6000)))
def test_a_message_id_has_a_few_comparable_forms(value):
    forms = normalize_message_id(value)
    assert len(forms) <= 3
    assert all(len(form) <= max(len(value), 1) * 2 for form in forms)


def test_a_very_long_decimal_message_id_is_no_crash():
    # Python refuses int() of more than 4300 decimal digits (ValueError); an id longer
    # than an SMSC's 64 octets is compared only as written.
    assert normalize_message_id("9" * 5000) == {"9" * 5000}
