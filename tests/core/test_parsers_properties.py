"""Properties of the core's parsers of outside input: digits and transaction numbers in
free text, lifecycle events from the records system, rows of its CSV export.

Each takes anything and either answers within its contract or raises its documented error
(``InvalidRequest``, ``Rejected``), quickly, with an answer bounded by its input."""

from __future__ import annotations

import string
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from core.identity.digits import (
    MAX_NUMBER_LENGTH,
    MIN_NUMBER_LENGTH,
    extract_transaction_number,
    extract_transaction_numbers,
    normalize_digits,
)
from core.platform.errors import InvalidRequest
from core.transactions.events import MAX_FUTURE_SKEW, LifecycleEvent, parse_event
from core.transactions.import_rows import Planned, Rejected, parse_time, plan_row
from tests import factories as f
from tests.properties import PROPERTY, outside_text

RIYADH = ZoneInfo("Asia/Riyadh")
NOW = datetime(2026, 12, 1, tzinfo=UTC)
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=20)
numbers = st.text(alphabet=string.digits, min_size=MIN_NUMBER_LENGTH,
                  max_size=MAX_NUMBER_LENGTH)


# --- digits --------------------------------------------------------------------------


@PROPERTY
@given(outside_text)
def test_normalizing_digits_keeps_the_length_and_is_idempotent(text):
    once = normalize_digits(text)
    assert len(once) == len(text) and normalize_digits(once) == once
    assert not set(once) & set("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹")


@PROPERTY
@given(outside_text)
def test_a_number_found_in_free_text_is_4_to_20_ascii_digits(text):
    number = extract_transaction_number(text)
    assert number is None or (number.isascii() and number.isdigit()
                              and MIN_NUMBER_LENGTH <= len(number) <= MAX_NUMBER_LENGTH)
    found = extract_transaction_numbers(text)
    assert len(found) == len(set(found)) and all(n in normalize_digits(text) for n in found)


@PROPERTY
@given(numbers, st.sampled_from(["", "استعلام ", "رقم المعاملة: ", "status ", "txn#", "No. "]),
       st.booleans(), st.sampled_from(["", " ", ".", "\u200f", "؟"]))
def test_a_number_however_written_is_read_back(number, keyword, arabic, trailing):
    written = number.translate(ARABIC_DIGITS) if arabic else number
    assert extract_transaction_number(f"{keyword}{written}{trailing}") == number
    assert extract_transaction_numbers(f"hello {written} bye") == [number]


def test_long_runs_of_separators_and_digits_are_read_quickly():
    # The regular expressions must not backtrack without end on what a phone can send.
    for text in ("1 " * 5000 + "x", "1-" * 5000 + "-", "1." * 5000 + "a", "،1" * 5000):
        assert extract_transaction_number(text) is None
        extract_transaction_numbers(text)


# --- lifecycle events ----------------------------------------------------------------


def _valid_events():
    return st.sampled_from([
        f.registered("4471234", occurred_at="2026-11-23T09:15:00+03:00"),
        f.event("referred", "4471234", "2026-11-24T09:00:00Z", department="RIGHTS"),
        f.event("issued", "4471234", "2026-11-25T09:00:00Z", outgoing_number="98765",
                destination_agency="MOI", reply_expected=True),
        f.event("closed", "4471234", "2026-11-26T09:00:00Z"),
    ])


@st.composite
def near_valid_events(draw):
    """A valid event with one field, at any depth, replaced, removed or added."""
    event = draw(_valid_events())
    target = event
    if draw(st.booleans()) and isinstance(event["transaction"], dict):
        target = event["transaction"]
        if "applicant" in target and draw(st.booleans()):
            target = target["applicant"]
    keys = sorted(target) + ["extra", "reply_expected", "department", "subject"]
    key = draw(st.sampled_from(keys))
    action = draw(st.sampled_from(["replace", "remove"]))
    if action == "remove":
        target.pop(key, None)
    else:
        target[key] = draw(json_values | outside_text
                           | st.datetimes().map(lambda d: d.isoformat()))
    return event


def _parses_or_refuses(data) -> None:
    try:
        event = parse_event(data, now=NOW)
    except InvalidRequest as exc:
        assert exc.code in ("malformed", "invalid_field", "missing_field",
                            "unexpected_field"), exc.code
        assert len(exc.message) < 2000
        return
    assert isinstance(event, LifecycleEvent)
    assert event.occurred_at.tzinfo is not None
    assert event.occurred_at <= NOW + MAX_FUTURE_SKEW
    assert MIN_NUMBER_LENGTH <= len(event.number) <= MAX_NUMBER_LENGTH


@PROPERTY
@given(json_values)
def test_any_json_is_an_event_or_a_clear_refusal(data):
    _parses_or_refuses(data)


@PROPERTY
@given(near_valid_events())
def test_an_almost_valid_event_is_an_event_or_a_clear_refusal(data):
    _parses_or_refuses(data)


# --- CSV import rows (read-only use of core/transactions/import_rows.py) ---------------

COLUMNS = ("number", "registered_at", "applicant_name", "subject", "national_id", "mobile",
           "email", "lang", "department", "referred_at", "outgoing_number",
           "destination_agency", "issued_at", "reply_expected", "reply_received_at",
           "closed_at")
times = st.one_of(outside_text, st.datetimes().map(lambda d: d.isoformat()),
                  st.dates().map(lambda d: d.isoformat()),
                  st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()))
rows = st.fixed_dictionaries({
    column: (times if column.endswith("_at") else outside_text) | st.just("")
    for column in COLUMNS})


@PROPERTY
@given(times)
def test_a_time_cell_is_an_aware_moment_or_rejected(text):
    try:
        moment = parse_time(text, RIYADH, "registered_at")
    except Rejected as exc:
        assert exc.reason.startswith("registered_at: ")
        return
    assert moment.tzinfo is not None


@PROPERTY
@given(rows)
def test_a_row_is_events_in_lifecycle_order_or_rejected(row):
    try:
        planned = plan_row(row, RIYADH)
    except Rejected as exc:
        assert exc.reason.split(":")[0] in COLUMNS, exc.reason
        return
    assert 1 <= len(planned) <= 5 and all(isinstance(p, Planned) for p in planned)
    kinds = [p.payload["type"] for p in planned]
    order = ["registered", "referred", "issued", "reply_received", "closed"]
    assert kinds == sorted(kinds, key=order.index) and kinds[0] == "registered"
    for p in planned:  # each payload goes on to parse_event: it must be JSON-like
        datetime.fromisoformat(p.payload["occurred_at"])
