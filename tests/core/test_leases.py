from datetime import timedelta

from core import leases
from core.db import utcnow

TTL = timedelta(seconds=30)


def test_one_holder_at_a_time(core):
    now = utcnow()
    assert leases.acquire(core.db, "scan", "a", TTL, now=now)
    assert not leases.acquire(core.db, "scan", "b", TTL, now=now + timedelta(seconds=5))
    assert leases.acquire(core.db, "scan", "a", TTL, now=now + timedelta(seconds=10))
    assert leases.current(core.db)["scan"].holder == "a"


def test_an_expired_lease_is_taken_over_and_the_old_holder_learns_it(core):
    now = utcnow()
    assert leases.acquire(core.db, "poll", "a", TTL, now=now)
    later = now + TTL + timedelta(seconds=1)
    assert leases.acquire(core.db, "poll", "b", TTL, now=later, state={"bound": True})
    assert not leases.renew(core.db, "poll", "a", TTL, now=later)
    view = leases.current(core.db)["poll"]
    assert (view.holder, view.state) == ("b", {"bound": True})
    assert view.live(later)


def test_release_frees_the_lease_at_once(core):
    now = utcnow()
    assert leases.acquire(core.db, "bind", "a", TTL, now=now)
    assert not leases.release(core.db, "bind", "b")
    assert leases.release(core.db, "bind", "a")
    assert leases.acquire(core.db, "bind", "b", TTL, now=now)
    assert "x" not in leases.current(core.db)
