"""What several gateway test modules share."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine

from core.platform.clock import utcnow
from tests import factories as f
from tests.gateway.live import launched_chromium

REFERRED_NUMBER = "4471234"


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for a module's browser tests."""
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def transaction(core):
    """4471234, registered for the applicant (mobile 0551234567) and referred."""
    core.upsert_department("RIGHTS", f.department())
    core.record_event(f.registered(REFERRED_NUMBER, occurred_at="2025-11-02T09:15:00+03:00"))
    core.record_event(f.event("referred", REFERRED_NUMBER, "2025-11-03T10:00:00+03:00",
                              department="RIGHTS"))
    return REFERRED_NUMBER


@pytest.fixture
def later() -> Iterator:
    """``later(minutes=31)``: every clock, the server's threads' too, that much after the
    test began (the wall clock only goes forward, as the signed cookie expects)."""
    began = utcnow()
    travels: list = []

    def move(**delta: float) -> None:
        if travels:
            travels.pop().stop()
        travel = time_machine.travel(began + timedelta(**delta), tick=False)
        travel.start()
        travels.append(travel)

    yield move
    for travel in travels:
        travel.stop()
