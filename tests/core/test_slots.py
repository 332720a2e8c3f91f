"""Slots (core.platform.slots): at most ``count`` holders at a time, one slot each, taken
over only from a holder that stopped, whatever the machines' clocks say."""

from __future__ import annotations

from datetime import timedelta

from core.platform import leases
from core.platform.db import utcnow
from core.platform.slots import Slots
from tests.core.test_leases import holder_of_an_exited_process

TTL = timedelta(seconds=90)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_each_holder_gets_a_slot_of_its_own_until_none_is_left(core):
    slots = [Slots("bind:", 2) for _ in range(3)]
    taken = [view.hold(core.db, f"sms@m{k}:1:x", TTL) for k, view in enumerate(slots)]

    assert sorted(taken[:2]) == [0, 1] and taken[2] is None
    # Renewing keeps each in its own slot.
    assert [view.hold(core.db, f"sms@m{k}:1:x", TTL) for k, view in enumerate(slots)] == taken
    assert {leases.current(core.db)[f"bind:{k}"].holder for k in (0, 1)} == {
        "sms@m0:1:x", "sms@m1:1:x"}


def test_a_released_slot_is_free_at_once(core):
    first, second = Slots("bind:", 1), Slots("bind:", 1)
    assert first.hold(core.db, "sms@a:1:x", TTL) == 0
    assert second.hold(core.db, "sms@b:1:y", TTL) is None

    first.release(core.db, "sms@a:1:x")

    assert second.hold(core.db, "sms@b:1:y", TTL) == 0
    assert first.hold(core.db, "sms@a:1:x", TTL) is None


def test_a_stopped_holders_slot_is_taken_once_its_row_stood_still_for_its_lifetime(core):
    # The holder's clock is two hours behind: by expiry times its slot is long free, yet
    # it renews on time and keeps it; once its renewals stop, the row must stand still
    # for its lifetime on the taker's clock.
    clock = Clock()
    taker = Slots("bind:", 1, clock)
    behind = "sms@far:7:skewed"
    start = utcnow() - timedelta(hours=2)
    assert Slots("bind:", 1).hold(core.db, behind, TTL, now=start) == 0
    for beat in range(1, 20):
        assert taker.hold(core.db, "sms@near:1:x", TTL) is None
        clock.now += 10
        assert Slots("bind:", 1).hold(core.db, behind, TTL,
                                      now=start + beat * timedelta(seconds=10)) == 0

    assert taker.hold(core.db, "sms@near:1:x", TTL) is None  # first sight of its last row
    clock.now += 89
    assert taker.hold(core.db, "sms@near:1:x", TTL) is None
    clock.now += 1
    assert taker.hold(core.db, "sms@near:1:x", TTL) == 0
    assert leases.current(core.db)["bind:0"].holder == "sms@near:1:x"
    # The stopped holder, back, finds its slot taken and no other.
    assert Slots("bind:", 1).hold(core.db, behind, TTL) is None


def test_the_slot_of_a_crashed_process_of_this_machine_is_taken_at_once(core):
    crashed = holder_of_an_exited_process(component="sms")
    assert Slots("bind:", 1).hold(core.db, crashed, TTL) == 0

    assert Slots("bind:", 1, Clock()).hold(core.db, "sms@here:2:x", TTL) == 0


def test_slots_beyond_the_count_are_not_taken(core):
    assert Slots("bind:", 3).hold(core.db, "sms@a:1:x", TTL) == 0
    assert Slots("bind:", 3).hold(core.db, "sms@b:1:x", TTL) == 1
    # Configured for one bind: slot 0 is the only one, and it is held.
    assert Slots("bind:", 1).hold(core.db, "sms@c:1:x", TTL) is None
