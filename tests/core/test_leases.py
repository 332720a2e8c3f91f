import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest

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


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_lease_of_a_dead_process_on_this_machine_is_taken_at_once(core):
    now = utcnow()
    crashed = f"scheduler@{socket.gethostname()}:{_dead_pid()}:abc123"
    assert leases.acquire(core.db, "scan", crashed, TTL, now=now)

    restarted = leases.holder_name("scheduler")
    assert leases.acquire(core.db, "scan", restarted, TTL, now=now + timedelta(seconds=1))
    assert leases.current(core.db)["scan"].holder == restarted
    assert not leases.renew(core.db, "scan", crashed, TTL, now=now)


@pytest.mark.parametrize("holder", [
    f"scheduler@{socket.gethostname()}:{os.getppid()}:abc123",  # alive: our parent
    "scheduler@another-machine:1:abc123",  # another machine: its pid says nothing here
    "an-operator's-name",
])
def test_a_live_or_remote_holder_keeps_its_lease_until_it_expires(core, holder):
    now = utcnow()
    assert leases.acquire(core.db, "scan", holder, TTL, now=now)

    assert not leases.acquire(core.db, "scan", "b", TTL, now=now + timedelta(seconds=1))
    assert leases.acquire(core.db, "scan", "b", TTL, now=now + TTL)
