"""Shared settings for the property-based tests of the parsers that take outside input.

``PROPERTY``: ~200 examples per property, no example database (the suite leaves no files
behind), a per-example deadline that says "no hang" with room for a busy CI machine.
``GATEWAY_HYPOTHESIS_EXAMPLES`` raises the count for a longer hunt on a laptop.
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

PROPERTY = settings(
    max_examples=int(os.environ.get("GATEWAY_HYPOTHESIS_EXAMPLES", "200")),
    deadline=timedelta(seconds=2), database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Text as it arrives from outside: any Unicode, with the scripts and marks this gateway
# reads (Arabic-Indic and Persian digits, RTL marks, tatweel, NBSP) made likely.
_INTERESTING = ("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹0123456789 \u00a0\u200e\u200f\u061c\u0640\u200b"
                "-./,،٫۔:#استعلامرقمحالة status no txn")
outside_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=_INTERESTING, max_size=300),
)
