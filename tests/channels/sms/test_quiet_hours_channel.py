"""Quiet hours end to end: the SMS channel against the SMSC peer, with the wall clock
moved (time-machine) to a night in Riyadh and then to the morning after."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from channels.sms.channel import SmsChannel
from gateway.bootstrap import build_core
from tests import factories as f
from tests.channels.sms.smsc_settings import sms_settings
from tests.channels.sms.test_channel import (
    APPLICANT,
    FAST,
    NUMBER,
    accepted,
    notifications,
    status_text,
    until,
)
from tests.conftest import make_settings

RIYADH = ZoneInfo("Asia/Riyadh")
NIGHT = datetime(2026, 11, 23, 23, 0, tzinfo=RIYADH)
MORNING = datetime(2026, 11, 24, 7, 0, tzinfo=RIYADH)
SECOND = "4471235"


@pytest.fixture
def night_core(database_url, tmp_path, core):
    """A core with the shipped quiet hours (22:00-07:00 Riyadh); ``core`` cleans up."""
    settings = make_settings(database_url, tmp_path, sms={"quiet_hours": {"enabled": True}})
    night = build_core(settings, background_log=False)
    night.upsert_department("RIGHTS", f.department())
    night.upsert_employee("E1", f.employee())
    yield night
    night.close()


def test_at_night_citizens_notifications_wait_and_answers_go_then_at_seven_in_order(
        night_core, smsc):
    with time_machine.travel(NIGHT, tick=True) as traveller:
        for number, at in ((NUMBER, "22:50"), (SECOND, "22:55")):
            night_core.record_event(f.registered(number, f"2026-11-23T{at}:00+03:00"))
        night_core.record_event(f.event("referred", NUMBER, "2026-11-23T22:56:00+03:00",
                                        department="RIGHTS"))
        night_core.record_event(f.event("assigned", NUMBER, "2026-11-23T22:57:00+03:00",
                                        employee="E1"))
        held = notifications(night_core, kind="registration")
        assert len(held) == 2
        channel = SmsChannel(night_core, sms_settings(smsc), timings=FAST)
        channel.start()
        try:
            assert channel.session.wait_bound(10)
            expected = status_text(night_core)
            smsc.send_mo(f"استعلام {NUMBER}", source_addr=APPLICANT)

            smsc.wait_for(lambda s: accepted(s, expected))  # the answer is not held
            [assignment] = notifications(night_core, kind="assignment")
            smsc.wait_for(lambda s: accepted(s, assignment.body))  # staff: not held
            time.sleep(20 * FAST.poll_interval)  # twenty claims at night
            assert all(not accepted(smsc.state(), n.body) for n in held)
            assert {n.status for n in notifications(night_core, kind="registration")} == {
                "pending"}

            traveller.move_to(MORNING)

            until(lambda: all(n.status == "sent"
                              for n in notifications(night_core, kind="registration")))
        finally:
            channel.stop()
    submits = smsc.state()["submits"]
    order = [next(i for i, s in enumerate(submits) if accepted({"submits": [s]}, n.body))
             for n in held]
    assert order == sorted(order)  # in the order they were queued
    # The night's answer and assignment went before either of them.
    answer_at = next(i for i, s in enumerate(submits) if accepted({"submits": [s]}, expected))
    assert answer_at < order[0]
